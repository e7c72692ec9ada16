/**
 * GEMM throughput of the WebGPU matmul: out[N, N] = x[N, N]·Wᵀ, f32
 * activations, f32 and bf16 weights, TFLOP/s = 2N³ / time (GPU timestamps when
 * available, else wall time over many iterations after warmup).
 *
 *   node <bundle>/bench/webgpu-gemm.js [--sizes 1024,2048,4096,8192] [--dtypes f32,bf16]
 *        [--tiles 128x128x16x8x8,64x64x8x8x8] [--iters 20] [--out gemm.json]
 *
 * `--tiles BMxBNxBKxTMxTN` (several, comma-separated) sweeps the large-tile GEMM.
 *
 * Also the decode GEMV (T = 1, bf16 weights; `--gemv-shapes KxM,…`, default the
 * Llama-2-7B projections) as weight GB/s beside the copy kernel's GB/s, and
 * `--gemv RWxTPRxUNROLLxRT,…` sweeps its thread groups per workgroup, threads per group, loads in
 * flight per thread and rows per group, and `--gemv-inputs plain,norm,gated` the folded input
 * (RMSNorm, or SwiGLU of a [1, 2K] gate|up).
 */
import { backend, emit, flags, list, measureCopy, meta, numbers, timeIt } from './lib/bench-common.js';
import { DEFAULT_MATMUL, gemmKernel, gemmTilesFor, type GemmTiles } from '../src/backend/webgpu/kernels/matmul.js';
import { kernelKey } from '../src/backend/webgpu/context.js';

const f = flags(['sizes', 'dtypes', 'tiles', 'iters', 'gemv-shapes', 'gemv', 'gemv-inputs', 'out']);
const sizes = numbers(f.sizes, '1024,2048,4096,8192');
const dtypes = list(f.dtypes, 'f32,bf16') as ('f32' | 'bf16' | 'f16')[];
const g = DEFAULT_MATMUL.gemmLarge;
const tileList: GemmTiles[] = list(f.tiles, `${g.BM}x${g.BN}x${g.BK}x${g.TM}x${g.TN}`).map((s) => {
  const [BM, BN, BK, TM, TN] = s.split('x').map(Number) as [number, number, number, number, number];
  return { BM, BN, BK, TM, TN };
});
const maxIters = Number(f.iters ?? 20);

const rows: Record<string, unknown>[] = [];
// GEMM rows
let info: Record<string, unknown> = {};
for (const tiles of tileList) {
  const b = await backend({ matmul: { gemmLarge: tiles, largeMinT: 1, largeMinGroups: 1 } });
  info = meta(b);
  for (const N of sizes) {
    for (const dtype of dtypes) {
      const x = b.empty('f32', [N, N]);
      const w = b.empty(dtype, [N, N]);
      const out = b.empty('f32', [N, N]);
      b.randomize(x, 1, 1);
      b.randomize(w, 2, 0.05);
      // fewer iterations for the big sizes so each row takes about a second on an H100-class GPU
      const iters = Math.max(3, Math.min(maxIters, Math.round((maxIters * 2048 ** 3) / N ** 3)));
      try {
        const t = await timeIt(b, () => b.matmul(out, x, w), iters);
        const sec = t.gpuSeconds ?? t.wallSeconds;
        const kernel = kernelKey(gemmKernel({ wDtype: dtype, K: N }, gemmTilesFor(N, N, b.tuning), false));
        const row = { op: 'gemm', N, dtype, tiles, kernel, timing: t.gpuSeconds !== null ? 'timestamp-query' : 'wall', ms: sec * 1e3, wall_ms: t.wallSeconds * 1e3, iters, tflops: (2 * N ** 3) / sec / 1e12 };
        rows.push(row);
        process.stderr.write(`gemm N=${N} ${dtype} ${tiles.BM}x${tiles.BN}x${tiles.BK}x${tiles.TM}x${tiles.TN}: ${row.tflops.toFixed(2)} TFLOP/s (${row.ms.toFixed(3)} ms)\n`);
      } catch (e) {
        rows.push({ op: 'gemm', N, dtype, tiles, error: (e as Error).message });
        process.stderr.write(`gemm N=${N} ${dtype}: ${(e as Error).message}\n`);
      }
      for (const t of [x, w, out]) b.free(t);
    }
  }
  b.dispose();
}
// decode GEMV: y[1, M] = x[1, K]·Wᵀ, memory-bound, so GB/s of weight bytes against the copy kernel's GB/s
const gemvShapes = list(f['gemv-shapes'], '4096x4096,4096x12288,4096x22016,11008x4096,4096x32000').map((s) => s.split('x').map(Number) as [number, number]);
const dg = DEFAULT_MATMUL.gemv;
const inputs = list(f['gemv-inputs'], 'plain');
for (const variant of list(f.gemv, `${dg.RW}x${dg.TPR}x${dg.UNROLL}x${dg.RT ?? 1}`)) {
  const [RW, TPR, UNROLL, RT] = variant.split('x').map(Number) as [number, number, number?, number?];
  const gemv = { RW, TPR, UNROLL: UNROLL ?? dg.UNROLL, RT: RT ?? 1 };
  const b = await backend({ matmul: { gemv } });
  const copy = await measureCopy(b, 1024, 10);
  for (const [K, M] of gemvShapes) {
    for (const input of inputs) {
      const x = b.empty('f32', [1, input === 'gated' ? 2 * K : K]);
      const nw = b.empty('f32', [K]);
      const w = b.empty('bf16', [M, K]);
      const out = b.empty('f32', [1, M]);
      b.randomize(x, 1, 1);
      b.randomize(nw, 3, 1);
      b.randomize(w, 2, 0.05);
      const o = input === 'norm' ? { norm: { weight: nw, eps: 1e-5 } } : input === 'gated' ? { gated: true } : {};
      try {
        const t = await timeIt(b, () => b.matmul(out, x, w, undefined, o), maxIters * 5);
        const sec = t.gpuSeconds ?? t.wallSeconds;
        const gbps = (M * K * 2) / sec / 1e9;
        rows.push({ op: 'gemv', K, M, dtype: 'bf16', input, ...gemv, subgroups: b.subgroupSize, timing: t.gpuSeconds !== null ? 'timestamp-query' : 'wall', ms: sec * 1e3, gbps, copy_gbps: copy.gbps, fraction_of_copy: gbps / copy.gbps });
        process.stderr.write(`gemv K=${K} M=${M} bf16 ${input} ${variant}: ${gbps.toFixed(1)} GB/s (${((100 * gbps) / copy.gbps).toFixed(1)} % of copy ${copy.gbps.toFixed(1)})\n`);
      } catch (e) {
        rows.push({ op: 'gemv', K, M, input, ...gemv, error: (e as Error).message });
      }
      for (const t of [x, nw, w, out]) b.free(t);
    }
  }
  b.dispose();
}
emit({ bench: 'webgpu-gemm', ...info, rows }, f.out);
