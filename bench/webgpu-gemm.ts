/**
 * GEMM throughput of the WebGPU matmul: out[N, N] = x[N, N]·Wᵀ, f32
 * activations, f32 and bf16 weights, TFLOP/s = 2N³ / time (GPU timestamps when
 * available, else wall time over many iterations after warmup).
 *
 *   node <bundle>/bench/webgpu-gemm.js [--sizes 1024,2048,4096,8192] [--dtypes f32,bf16]
 *        [--tiles 128x128x16x8x8,64x64x8x8x8] [--iters 20] [--out gemm.json]
 *
 * `--tiles BMxBNxBKxTMxTN` (several, comma-separated) sweeps the large-tile GEMM.
 */
import { backend, emit, flags, list, meta, numbers, timeIt } from './lib/bench-common.js';
import { DEFAULT_MATMUL, gemmKernel, gemmTilesFor, type GemmTiles } from '../src/backend/webgpu/kernels/matmul.js';
import { kernelKey } from '../src/backend/webgpu/context.js';

const f = flags(['sizes', 'dtypes', 'tiles', 'iters', 'out']);
const sizes = numbers(f.sizes, '1024,2048,4096,8192');
const dtypes = list(f.dtypes, 'f32,bf16') as ('f32' | 'bf16' | 'f16')[];
const g = DEFAULT_MATMUL.gemmLarge;
const tileList: GemmTiles[] = list(f.tiles, `${g.BM}x${g.BN}x${g.BK}x${g.TM}x${g.TN}`).map((s) => {
  const [BM, BN, BK, TM, TN] = s.split('x').map(Number) as [number, number, number, number, number];
  return { BM, BN, BK, TM, TN };
});
const maxIters = Number(f.iters ?? 20);

const rows: Record<string, unknown>[] = [];
let info: Record<string, unknown> = {};
for (const tiles of tileList) {
  const b = await backend({ matmul: { gemmLarge: tiles, largeMinT: 1 } });
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
        const kernel = kernelKey(gemmKernel({ wDtype: dtype, K: N }, gemmTilesFor(N, b.tuning), false));
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
emit({ bench: 'webgpu-gemm', ...info, rows }, f.out);
