/**
 * `lowbit inspect <file.lowbit>`: header summary, per-tensor storage table
 * (format, shape, bytes, bits/param), totals with exact average bits, after
 * checking every tensor's CRC-32 and scanning Ŵ for NaN/Inf.
 */
import { packedImageBytes } from '../../backend/webgpu/packed.js';
import { isPackedFormat } from '../../formats/index.js';
import { InputError } from '../../io/errors.js';
import { packedShape, type LowbitTensorSpec } from '../../io/lowbit-header.js';
import { lowbitStats } from '../../io/lowbit-file.js';
import { openLowbitModel } from '../../io/lowbit-model.js';
import { checkedFiles } from '../../runtime/upload.js';
import { countNonFinite } from '../../runtime/load.js';
import { shapeStr } from '../../tensor/tensor.js';

export async function runInspectLowbit(path: string, json: boolean): Promise<void> {
  const m = await openLowbitModel(path);
  // what loading it as a model checks too: every tensor the config needs, of its shape
  await checkedFiles({ dir: path, config: m.config, tokenizer: m.tokenizer, source: m.source });
  const { header } = m.file;
  const stats = lowbitStats(header);
  const bad: { name: string; nan: number; inf: number }[] = [];
  try {
    for (const name of m.file.tensorNames) {
      const { nan, inf } = countNonFinite(await m.source.read(name)); // reading checks the CRCs
      if (nan + inf > 0) bad.push({ name, nan, inf });
    }
  } finally {
    await m.source.close();
  }
  const nonFinite = new Map(bad.map((b) => [b.name, b]));
  const rows = stats.tensors.map((t) => ({ ...t, nan: nonFinite.get(t.name)?.nan ?? 0, inf: nonFinite.get(t.name)?.inf ?? 0 }));
  // WebGPU memory when loaded packed (--weights packed): each packed tensor's GPU image (webgpu/packed.ts:
  // its arrays with the statistics transposed or merged, a header, 16-byte alignment), dense tensors as
  // stored; the same model in bf16; the KV cache per position (keys and values of every layer; f32, and
  // half that with --kv-cache f16).
  // (The runtime merges q|k|v and gate|up into one image each: headers and alignment differ by a few
  // hundred bytes a layer, test/packed-bench.test.ts.)
  const cfg = m.config;
  const image = (s: LowbitTensorSpec, stored: number): number => (isPackedFormat(s.format) ? packedImageBytes(s.format, packedShape(s.shape), s.params) : stored);
  const weightBytes = header.tensors.reduce((a, s, i) => a + image(s, stats.tensors[i]?.bytes ?? 0), 0);
  const gpu = { weightBytes, bf16Bytes: 2 * stats.parameters, kvBytesPerPosition: 2 * cfg.nLayers * cfg.nKvHeads * cfg.headDim * 4, kvBytesPerPositionF16: 2 * cfg.nLayers * cfg.nKvHeads * cfg.headDim * 2 };
  if (json) {
    const out = {
      model: path,
      format: 'lowbit',
      version: header.version,
      lowbit_version: header.lowbit_version,
      created: header.created,
      config: m.config,
      quantization: header.quantization,
      metadata: header.metadata,
      fileBytes: m.file.fileBytes,
      parameters: stats.parameters,
      bytes: stats.bytes,
      bits: stats.bitsAll,
      quantizedParameters: stats.quantizedParameters,
      quantizedBytes: stats.quantizedBytes,
      quantizedBits: stats.bitsQuantized,
      gpu,
      tensors: rows,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    const c = m.config;
    const q = header.quantization;
    const qBits = stats.bitsQuantized === null ? 'none quantized' : `${stats.bitsQuantized.toFixed(4)} bits/param over ${stats.quantizedParameters.toLocaleString('en-US')} quantized params`;
    const out: string[] = [
      `model         ${path} (.lowbit v${header.version}, lowbit ${header.lowbit_version}, created ${header.created})`,
      `architecture  ${c.architecture}: ${c.nLayers} layers, d=${c.hiddenSize}, ffn ${c.intermediateSize}, heads ${c.nHeads}/${c.nKvHeads} kv × ${c.headDim}, vocab ${c.vocabSize}`,
      `quantization  ${q === null ? 'none' : `${q.method}${q.engine ? ` (${q.engine} engine)` : ''} ${JSON.stringify(q.config)}${q.quantize_head ? ', head quantized' : ''}`}`,
      `parameters    ${stats.parameters.toLocaleString('en-US')} in ${stats.bytes.toLocaleString('en-US')} bytes of tensors (file ${m.file.fileBytes.toLocaleString('en-US')} bytes)`,
      `bits/param    ${stats.bitsAll.toFixed(4)} over all tensors; ${qBits}`,
      `gpu memory    weights ${(gpu.weightBytes / 2 ** 20).toFixed(1)} MiB packed (WebGPU images) vs ${(gpu.bf16Bytes / 2 ** 20).toFixed(1)} MiB in bf16 (${((100 * gpu.weightBytes) / gpu.bf16Bytes).toFixed(1)} %); KV cache ${(gpu.kvBytesPerPosition / 1024).toFixed(1)} KiB per position (f32; ${(gpu.kvBytesPerPositionF16 / 1024).toFixed(1)} KiB with --kv-cache f16), ${((gpu.kvBytesPerPosition * cfg.maxPositionEmbeddings) / 2 ** 20).toFixed(1)} MiB at ${cfg.maxPositionEmbeddings}`,
      '',
    ];
    const w = Math.max(...rows.map((r) => r.name.length));
    for (const r of rows) {
      const flag = r.nan + r.inf > 0 ? `  ${r.nan} NaN, ${r.inf} Inf` : '';
      out.push(
        `${r.name.padEnd(w)}  ${r.format.padEnd(4)}  ${shapeStr(r.shape).padEnd(14)}  ${r.params.toLocaleString('en-US').padStart(12)}  ${r.bytes.toLocaleString('en-US').padStart(12)} B  ${r.bits.toFixed(3).padStart(7)} bits${flag}`,
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }
  const first = bad[0];
  if (first) throw new InputError(path, `tensor "${first.name}" holds ${first.nan} NaN and ${first.inf} infinite values`);
}
