/**
 * The packed T = 1 GEMV (qgemv1) alone at the Llama-2-7B decode shapes, for a list of tilings, with
 * the weights rotated over enough copies that none is still in L2 when it is read again (timing
 * the same weight back to back measures L2, not HBM): µs per call from timestamp queries, GB/s of
 * the packed weight, and the fraction of copy bandwidth measured in the same process.
 * Each tiling gets its own backend (the tuning is fixed per backend).
 *
 *   node <bundle>/bench/qgemv-sweep.js [--format int4] [--tiles 4x32x4x2,4x64x2x1] [--shapes qkv,o,gu,down]
 *        [--rotate-mib 256] [--iters 200] [--out sweep.json]
 * --tiles: RxTPRxRGxN, PackedTuning.int1 (N = CU) for int3 / SpQR and .ilv1 (N = UN) for the interleaved
 * int2/4/8 images. Shapes gu-glu (SwiGLU folded into the gate|up output) and down-plain (its plain
 * input) are the alternative to gu + down (SwiGLU folded into down's input).
 */
import { backend, emit, flags, list, measureCopy, meta, timeIt } from './lib/bench-common.js';
import type { Tensor } from '../src/backend/backend.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { randomPacked } from '../src/formats/random.js';
import { RANDOM_FORMATS } from '../src/runtime/random-model.js';

const f = flags(['format', 'tiles', 'shapes', 'rotate-mib', 'iters', 'out']);
const spec = RANDOM_FORMATS[f.format ?? 'int4'];
if (!spec) throw new Error(`unknown format ${f.format}`);
const rotateBytes = Number(f['rotate-mib'] ?? 256) * 2 ** 20;
const iters = Number(f.iters ?? 200);
// the decode projections of Llama-2-7B as lowbit runs them packed: rows, K, input (norm folded, SwiGLU folded), out +=
const SHAPES: Record<string, { M: number; K: number; norm?: boolean; gated?: boolean; acc?: boolean; glu?: boolean }> = {
  qkv: { M: 12288, K: 4096, norm: true },
  o: { M: 4096, K: 4096, acc: true },
  gu: { M: 22016, K: 4096, norm: true },
  down: { M: 4096, K: 11008, gated: true, acc: true },
  'gu-glu': { M: 22016, K: 4096, norm: true, glu: true },
  'down-plain': { M: 4096, K: 11008, acc: true },
};
const shapes = list(f.shapes, 'qkv,o,gu,down');
const tilings = list(f.tiles, '4x32x4x2').map((t) => {
  const [R, TPR, RG, N] = t.split('x').map(Number) as [number, number, number, number | undefined];
  return { name: t, int1: { R, TPR, RG, CU: N ?? 1 }, ilv1: { R, TPR, RG, UN: N ?? 1 } };
});

const rows: Record<string, unknown>[] = [];
let copy: Awaited<ReturnType<typeof measureCopy>> | null = null;
let first: WebGpuBackend | null = null;
for (const t of tilings) {
  const b = await backend({ errorScopes: 'submit', packed: { int1: t.int1, ilv1: t.ilv1 } });
  first ??= b;
  copy ??= await measureCopy(b, 1024, 10);
  for (const name of shapes) {
    const s = SHAPES[name];
    if (!s) throw new Error(`unknown shape ${name} (${Object.keys(SHAPES).join(', ')})`);
    const host = randomPacked(spec.format, [s.M, s.K], spec.params, 7, { ...(spec.outlierRate !== undefined && { outlierRate: spec.outlierRate }) });
    const w0 = b.uploadPacked(host);
    const bytes = (w0 as Tensor & { bytes: number }).bytes;
    const ws: Tensor[] = [w0];
    while (ws.length * bytes < rotateBytes) ws.push(b.uploadPacked(host));
    const x = b.empty('f32', [1, s.gated ? 2 * s.K : s.K]);
    b.randomize(x, 11, 1);
    const nw = b.empty('f32', [s.K]);
    b.randomize(nw, 12, 1);
    const out = b.empty('f32', [1, s.glu ? s.M / 2 : s.M]);
    let i = 0;
    const opts = { ...(s.norm && { norm: { weight: nw, eps: 1e-5 } }), ...(s.gated && { gated: true }), ...(s.acc && { accumulate: true }), ...(s.glu && { glu: true }) };
    const run = (): void => b.matmul(out, x, ws[i++ % ws.length] as Tensor, undefined, opts);
    // every copy read once before timing, then whole rotations. The gate|up and down shapes still
    // read 3–6× slower here than inside a decode step at most tilings (neither this warm-up nor
    // 200 ms of GPU work first changed that, 2026-12-02): decide by packed-decode's in-sequence times
    const r = await timeIt(b, run, ws.length * Math.max(1, Math.ceil(iters / ws.length)), ws.length);
    const sec = r.gpuSeconds ?? r.wallSeconds;
    const row = { tiling: t.name, int1: t.int1, ilv1: t.ilv1, shape: name, M: s.M, K: s.K, bytes, copies: ws.length, us: sec * 1e6, timing: r.gpuSeconds !== null ? 'timestamp-query' : 'wall', gbps: bytes / sec / 1e9, fraction_of_copy: bytes / sec / 1e9 / copy.gbps };
    rows.push(row);
    process.stderr.write(`${t.name} ${name} ${s.M}x${s.K}: ${row.us.toFixed(1)} µs, ${row.gbps.toFixed(0)} GB/s (${(100 * row.fraction_of_copy).toFixed(1)} % of copy ${copy.gbps.toFixed(0)})\n`);
    for (const w of ws) b.free(w);
    for (const v of [x, nw, out]) b.free(v);
    await b.sync();
  }
  if (b !== first) b.dispose();
}
if (!first || !copy) throw new Error('no tilings');
emit({ bench: 'qgemv-sweep', ...meta(first), format: spec, copy, rotate_bytes: rotateBytes, rows }, f.out);
first.dispose();
