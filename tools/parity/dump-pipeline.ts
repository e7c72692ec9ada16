/**
 * Runs lowbit's sequential quantization pipeline on a model and dumps, for
 * every linear layer, what the PyTorch reference needs to redo that layer on
 * the same W, H and calibration (layer-dump.ts format, under OUT/layers/<name>),
 * plus OUT/quantized/: a Hugging Face model directory holding our Ŵ (f32), so
 * pipeline_parity.py can compare the reference's Ŵ entry by entry and both
 * models' perplexities in HF transformers.
 *
 *   node dist/tools/parity/dump-pipeline.js --model DIR --out OUT --method gptq \
 *        --config '{"bits":3,"groupSize":128}' --calib corpus/train.txt \
 *        [--samples 128] [--seqlen 512] [--seed 0] [--backend auto|cpu|webgpu]
 *        [--gptq-engine host|backend|auto]   (default host: the f64 engine the reference mirrors)
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend, parseBackendKind } from '../../src/cli/backend.js';
import { calibrationWindows } from '../../src/data/calibration.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { quantizeBlocks, type BlockResult, type GptqEngine, type MethodSpec } from '../../src/quant/pipeline.js';
import { openModelDir } from '../../src/runtime/load.js';
import { tensor, type HostTensor } from '../../src/tensor/tensor.js';
import { writeLayerDump } from './layer-dump.js';

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      method: { type: 'string', default: 'gptq' },
      config: { type: 'string', default: '{}' },
      calib: { type: 'string' },
      samples: { type: 'string', default: '128' },
      seqlen: { type: 'string', default: '512' },
      seed: { type: 'string', default: '0' },
      backend: { type: 'string', default: 'auto' },
      'gptq-engine': { type: 'string', default: 'host' },
    },
  });
  if (!v.model || !v.out || !v.calib) throw new Error('usage: dump-pipeline --model DIR --out OUT --calib FILE [--method gptq] [--config JSON]');
  const method = { method: v.method, config: JSON.parse(v.config ?? '{}') as Record<string, unknown> } as MethodSpec;
  const files = await openModelDir(v.model);
  const seqlen = Number(v.seqlen);
  const samples = Number(v.samples);
  const text = readFileSync(v.calib, 'utf8');
  const windows = calibrationWindows(text, files.tokenizer.encode, 1, { samples, seqlen, seed: Number(v.seed) });
  mkdirSync(join(v.out, 'layers'), { recursive: true });
  writeFileSync(join(v.out, 'windows.i32'), new Uint8Array(windows.buffer));
  const { backend, reason } = await openBackend(parseBackendKind(v.backend ?? 'auto'));
  console.error(`backend: ${backend.description} (${reason})`);
  const what = new Map<string, HostTensor>();
  const reports: BlockResult['reports'][number][] = [];
  const t0 = performance.now();
  try {
    await quantizeBlocks({
      backend,
      config: files.config,
      weights: { read: (n) => files.source.read(n), has: (n) => files.source.tensors.has(n) },
      method,
      windows,
      seqlen,
      gptqEngine: v['gptq-engine'] as GptqEngine,
      store: {
        resumePoint: () => Promise.resolve(null),
        save: (r) => {
          reports.push(...r.reports);
          console.error(`block ${r.block} done, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          return Promise.resolve();
        },
      },
      onLayer: (name, W, stats, r) => {
        if (r.grid === null) throw new Error(`${name}: no codes`);
        const [out, inn] = W.shape as [number, number];
        writeLayerDump(join(v.out as string, 'layers', name), {
          method: method.method,
          out,
          inn,
          nSamples: stats.nSamples,
          config: r.config as unknown as Record<string, unknown>,
          W: W.data,
          H: Float64Array.from(stats.H),
          What: r.weight,
          codes: r.grid.codes,
          perm: r.grid.perm ?? Uint32Array.from({ length: inn }, (_, i) => i),
        });
        what.set(name, tensor('f32', W.shape, r.weight));
      },
    });
  } finally {
    backend.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  // our quantized model as an HF directory: Ŵ for the linear layers, everything else as stored
  const qdir = join(v.out, 'quantized');
  mkdirSync(qdir, { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
    if (existsSync(join(v.model, f))) copyFileSync(join(v.model, f), join(qdir, f));
  }
  const names = [...files.source.tensors.keys()];
  async function* entries(): AsyncGenerator<readonly [string, HostTensor]> {
    for (const n of names) yield [n, what.get(n) ?? (await files.source.read(n))] as const;
  }
  await writeSafetensors(join(qdir, 'model.safetensors'), entries(), { format: 'pt' }); // HF requires format=pt metadata
  await files.source.close();
  writeFileSync(join(v.out, 'pipeline.json'), JSON.stringify({ model: v.model, method, samples, seqlen, seed: Number(v.seed), backend: backend.description, seconds, reports }, null, 1));
  console.error(`quantized ${what.size} layers in ${seconds.toFixed(1)} s → ${v.out}`);
}

await main();
