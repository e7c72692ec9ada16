/**
 * Writes a parity dump (layer-dump.ts) for one layer: W and H (synthetic, or
 * read from raw files), the config, and our Ŵ and codes, for gptq_ref.py.
 *
 *   node dist/tools/parity/dump-layer.js --dir DIR --method gptq --rows 256 --cols 512 \
 *        [--seed 0] [--config '{"bits":3,"actOrder":true}'] [--w W.f32 --h H.f64]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { quantizeLayer as gptq } from '../../src/quant/methods/gptq.js';
import { quantizeLayer as rtn } from '../../src/quant/methods/rtn.js';
import { quantizeLayer as spqr } from '../../src/quant/methods/spqr.js';
import type { LayerStats, QuantResult } from '../../src/quant/types.js';
import { tensor } from '../../src/tensor/tensor.js';
import { writeLayerDump, type LayerDump } from './layer-dump.js';
import { syntheticLayer } from './synthetic.js';

/** Runs `method` with `config` on W [out, in], H [in, in] and returns the dump to write. */
export function makeDump(method: LayerDump['method'], W: Float32Array, H: Float64Array, out: number, inn: number, nSamples: number, config: Record<string, unknown>): LayerDump {
  const w = tensor('f32', [out, inn], W);
  const stats: LayerStats = { H, nSamples };
  const r: QuantResult = method === 'gptq' ? gptq(w, stats, config) : method === 'spqr' ? spqr(w, stats, config) : rtn(w, stats, config);
  if (r.grid === null) throw new Error(`${method} returned no codes`);
  const perm = r.grid.perm ?? Uint32Array.from({ length: inn }, (_, i) => i);
  return { method, out, inn, nSamples, config: r.config as unknown as Record<string, unknown>, W, H, What: r.weight, codes: r.grid.codes, perm };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      method: { type: 'string', default: 'gptq' },
      rows: { type: 'string', default: '256' },
      cols: { type: 'string', default: '512' },
      seed: { type: 'string', default: '0' },
      config: { type: 'string', default: '{}' },
      w: { type: 'string' },
      h: { type: 'string' },
    },
  });
  if (values.dir === undefined) throw new Error('--dir is required');
  const method = values.method as LayerDump['method'];
  if (!['rtn', 'gptq', 'spqr'].includes(method)) throw new Error(`--method must be rtn, gptq or spqr, got ${method}`);
  const out = Number(values.rows);
  const inn = Number(values.cols);
  const config = JSON.parse(values.config) as Record<string, unknown>;
  let W: Float32Array;
  let H: Float64Array;
  let nSamples: number;
  if (values.w !== undefined && values.h !== undefined) {
    const wb = readFileSync(values.w);
    const hb = readFileSync(values.h);
    W = new Float32Array(wb.buffer.slice(wb.byteOffset, wb.byteOffset + wb.length));
    H = new Float64Array(hb.buffer.slice(hb.byteOffset, hb.byteOffset + hb.length));
    nSamples = 0;
  } else {
    ({ W, H, nSamples } = syntheticLayer(out, inn, { seed: Number(values.seed) }));
  }
  const t0 = Date.now();
  const dump = makeDump(method, W, H, out, inn, nSamples, config);
  writeLayerDump(values.dir, dump);
  console.error(`${method} [${out}, ${inn}] in ${Date.now() - t0} ms → ${values.dir}`);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) main();
