/** `lowbit inspect <model>`: config, tensor table, parameter count, bytes, and a NaN/Inf scan (.lowbit files: inspect-lowbit.ts). */
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError } from '../../io/errors.js';
import { parameterCount } from '../../model/config.js';
import { countNonFinite, openModelDir } from '../../runtime/load.js';
import { numel, shapeStr } from '../../tensor/tensor.js';
import { runInspectLowbit } from './inspect-lowbit.js';

interface InspectOptions {
  json?: boolean;
}

interface TensorRow {
  name: string;
  dtype: string;
  shape: number[];
  params: number;
  bytes: number;
  file: string;
  nan: number;
  inf: number;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('print a model\'s config, tensors, parameter count and bytes; fail on NaN/Inf weights')
    .argument('<model>', 'model directory or .lowbit file')
    .option('--json', 'print one JSON object on stdout')
    .action(async (dir: string, o: InspectOptions) => runInspect(dir, o));
}

async function runInspect(dir: string, o: InspectOptions): Promise<void> {
  if ((await stat(dir).catch(() => null))?.isFile()) return runInspectLowbit(dir, o.json === true);
  const files = await openModelDir(dir);
  const rows: TensorRow[] = [];
  try {
    for (const [name, info] of files.source.tensors) {
      const { nan, inf } = countNonFinite(await files.source.read(name));
      rows.push({ name, dtype: info.dtype, shape: [...info.shape], params: numel(info.shape), bytes: info.byteLength, file: info.file, nan, inf });
    }
  } finally {
    await files.source.close();
  }
  const params = rows.reduce((a, r) => a + r.params, 0);
  const bytes = rows.reduce((a, r) => a + r.bytes, 0);
  if (o.json) {
    const c = files.config;
    const gpu = { weightBytes: bytes, bf16Bytes: 2 * params, kvBytesPerPosition: 2 * c.nLayers * c.nKvHeads * c.headDim * 4, kvBytesPerPositionF16: 2 * c.nLayers * c.nKvHeads * c.headDim * 2 };
    process.stdout.write(`${JSON.stringify({ model: dir, config: files.config, parameters: params, configParameters: parameterCount(files.config), bytes, gpu, tensors: rows })}\n`);
  } else {
    const c = files.config;
    const out: string[] = [
      `model         ${dir}`,
      `architecture  ${c.architecture}: ${c.nLayers} layers, d=${c.hiddenSize}, ffn ${c.intermediateSize}, heads ${c.nHeads}/${c.nKvHeads} kv × ${c.headDim}, vocab ${c.vocabSize}`,
      `rope          θ=${c.ropeTheta}, ${c.ropeScaling.type}${c.tieWordEmbeddings ? ', tied embeddings' : ''}, max positions ${c.maxPositionEmbeddings}`,
      `parameters    ${params.toLocaleString('en-US')} (${(bytes / 2 ** 20).toFixed(2)} MiB)`,
      `gpu memory    weights ${(bytes / 2 ** 20).toFixed(1)} MiB as stored vs ${((2 * params) / 2 ** 20).toFixed(1)} MiB in bf16; KV cache ${((2 * c.nLayers * c.nKvHeads * c.headDim * 4) / 1024).toFixed(1)} KiB per position (f32; half that with --kv-cache f16)`,
      '',
    ];
    const w = Math.max(...rows.map((r) => r.name.length));
    for (const r of rows) {
      const bad = r.nan + r.inf > 0 ? `  ${r.nan} NaN, ${r.inf} Inf` : '';
      out.push(`${r.name.padEnd(w)}  ${r.dtype.padEnd(4)}  ${shapeStr(r.shape).padEnd(14)}  ${r.params.toLocaleString('en-US').padStart(12)}  ${basename(r.file)}${bad}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }
  const bad = rows.find((r) => r.nan + r.inf > 0);
  if (bad) throw new InputError(bad.file, `tensor "${bad.name}" holds ${bad.nan} NaN and ${bad.inf} infinite values`);
}
