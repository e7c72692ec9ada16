/**
 * The WASM SIMD GEMM (single thread and worker threads) against the reference
 * `ops.matmul`, the fast backends end to end (matmul, gram, shared storage),
 * the WASM heap, and that worker threads never keep the process alive.
 *
 * Tolerance (CONVENTIONS §3, f32 accumulation over K): the kernel rounds each
 * product and sums it through at most K/4 + 5 (K < 4: K + 1) rounded additions
 * including the bias, so |kernel − exact| ≤ γ_{K+2}·S with S = Σ_k|x_k·w_k| + |b|
 * and γ_n ≈ n·2⁻²⁴; the reference sums in f64 and rounds once (≤ 2⁻²⁴·S).
 * Together: |Δ| ≤ c·(K + 2)·2⁻²⁴·S with c = 2. Also the §3 matmul rule,
 * normalized MSE Σ(a − b)²/Σref² ≤ 1e-10.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { MatmulKernel } from '../src/backend/cpu/cpu.js';
import { createFastCpuBackend } from '../src/backend/cpu/fast.js';
import { createCpuBackend, envThreads } from '../src/backend/cpu/node-cpu.js';
import { GemmThreadPool } from '../src/backend/cpu/node-threads.js';
import * as ops from '../src/backend/cpu/ops.js';
import { WasmGemm, wasmSimdSupported } from '../src/backend/cpu/wasm-gemm.js';
import { WasmHeap } from '../src/backend/cpu/wasm-heap.js';
import { tensor } from '../src/tensor/tensor.js';
import { gaussian, mulberry32 } from '../tools/parity/synthetic.js';

const C = 2;
const U = 2 ** -24;
const SIZES = [1, 2, 3, 5, 7, 8, 17, 33, 64, 100, 129];

interface Case {
  readonly T: number;
  readonly K: number;
  readonly M: number;
  readonly x: Float32Array;
  readonly w: Float32Array;
  readonly bias: Float32Array | undefined;
  readonly ref: Float32Array;
}

function makeCase(T: number, K: number, M: number, withBias: boolean, seed: number): Case {
  const g = gaussian(mulberry32(seed));
  const x = new Float32Array(T * K).map(() => g());
  const w = new Float32Array(M * K).map(() => g());
  const bias = withBias ? new Float32Array(M).map(() => g()) : undefined;
  const ref = new Float32Array(T * M);
  ops.matmul(ref, x, w, T, K, M, bias);
  return { T, K, M, x, w, bias, ref };
}

/** Checks `got` against the case's reference by both rules above; returns a failure message or ''. */
function compare(got: Float32Array, c: Case, name: string): string {
  const { T, K, M, x, w, bias, ref } = c;
  let err2 = 0;
  let ref2 = 0;
  for (let t = 0; t < T; t++) {
    for (let m = 0; m < M; m++) {
      let s = bias ? Math.abs(bias[m]!) : 0;
      for (let k = 0; k < K; k++) s += Math.abs(x[t * K + k]! * w[m * K + k]!);
      const a = got[t * M + m]!;
      const b = ref[t * M + m]!;
      if (!(Math.abs(a - b) <= C * (K + 2) * U * s)) return `${name} T=${T} K=${K} M=${M}: out[${t},${m}] = ${a}, reference ${b}`;
      err2 += (a - b) ** 2;
      ref2 += b ** 2;
    }
  }
  if (ref2 > 0 && err2 / ref2 > 1e-10) return `${name} T=${T} K=${K} M=${M}: normalized MSE ${err2 / ref2}`;
  return '';
}

function run(kernel: MatmulKernel, c: Case): Float32Array {
  const out = new Float32Array(c.T * c.M).fill(NaN);
  kernel(out, c.x, c.w, c.T, c.K, c.M, c.bias);
  return out;
}

let pool: GemmThreadPool;
before(async () => {
  // minMacs 0: every matmul goes through the workers, however small.
  pool = new GemmThreadPool({ threads: 3, minMacs: 0 });
  await pool.ready;
});
after(() => pool.dispose());

test('wasm simd is available here (else every fast path below is the reference)', () => {
  assert.ok(wasmSimdSupported());
});

test('gemm: all T, K, M in {1…129} (odd sizes, tile edges), with and without bias, 1 thread and 3 threads', () => {
  const single = WasmGemm.create();
  const before = pool.workerChunks;
  const failures: string[] = [];
  let seed = 1;
  for (const T of SIZES) {
    for (const K of SIZES) {
      for (const M of SIZES) {
        for (const withBias of [false, true]) {
          const c = makeCase(T, K, M, withBias, seed++);
          for (const [name, kernel] of [['1 thread', single.matmul], ['3 threads', pool.matmul]] as const) {
            const f = compare(run(kernel, c), c, name);
            if (f) failures.push(f);
          }
        }
      }
    }
  }
  assert.deepEqual(failures.slice(0, 10), []);
  assert.ok(pool.workerChunks > before, 'the worker threads computed no chunk');
  assert.equal(single.heap.used, 0, 'scratch blocks were not freed');
});

test('gemm: 256×512×384 with bias, 1 thread, 3 threads, and the 2-thread backend (default threshold)', async () => {
  const c = makeCase(256, 512, 384, true, 99);
  assert.equal(compare(run(WasmGemm.create().matmul, c), c, '1 thread'), '');
  assert.equal(compare(run(pool.matmul, c), c, '3 threads'), '');
  const be = createCpuBackend({ threads: 2 });
  try {
    assert.equal(be.description, 'CPU (wasm simd, 2 threads)');
    const out = be.empty('f32', [256, 384]);
    const x = be.upload(tensor('f32', [256, 512], c.x));
    be.matmul(out, x, be.upload(tensor('f32', [384, 512], c.w)), be.upload(tensor('f32', [384], c.bias!)));
    assert.equal(compare((await be.read(out)).data as Float32Array, c, 'backend 2 threads'), '');
  } finally {
    be.dispose();
  }
});

test('gemm: wrong operand sizes throw (the kernel reads raw memory)', () => {
  const k = WasmGemm.create();
  assert.throws(
    () => k.matmul(new Float32Array(6), new Float32Array(6), new Float32Array(8), 2, 3, 3),
    /T=2 K=3 M=3 needs out 6, x 6, w 9; got out 6, x 6, w 8/,
  );
});

test('fast backends: matmul on shared storage, weights reused across calls and after frees', async () => {
  for (const be of [createFastCpuBackend(), createCpuBackend({ threads: 2 })]) {
    try {
      const c = makeCase(33, 129, 100, true, 5);
      const w = be.upload(tensor('f32', [100, 129], c.w));
      const b = be.upload(tensor('f32', [100], c.bias!));
      for (let i = 0; i < 3; i++) {
        const scratch = be.upload(tensor('f32', [1000], new Float32Array(1000).fill(7)));
        const x = be.upload(tensor('f32', [33, 129], c.x));
        const out = be.empty('f32', [33, 100]);
        be.free(scratch);
        be.matmul(out, x, w, b);
        assert.equal(compare((await be.read(out)).data as Float32Array, c, be.description), '');
        be.free(x);
        be.free(out);
      }
      // Non-f32 tensors on shared storage keep their values.
      const ids = be.upload(tensor('i32', [4], Int32Array.from([3, -1, 7, 2 ** 30])));
      assert.deepEqual([...((await be.read(ids)).data as Int32Array)], [3, -1, 7, 2 ** 30]);
    } finally {
      be.dispose();
    }
  }
});

test('wasm heap: first fit, coalescing on free, growth, zero fill, double free throws', () => {
  const heap = new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true }), true);
  const a = heap.alloc(100)!;
  const b = heap.alloc(64)!;
  const c = heap.alloc(1)!;
  assert.deepEqual([a, b, c], [64, 192, 256]);
  new Uint8Array(heap.buffer, b, 64).fill(9);
  heap.free(b);
  heap.free(a);
  assert.equal(heap.alloc(192), 64, 'a and b merged into one free block');
  assert.equal(heap.alloc(64, true), 320);
  const big = heap.alloc(100_000)!;
  assert.ok(big >= 384 && heap.buffer.byteLength >= big + 100_000, 'the memory grew');
  assert.ok(new Uint8Array(heap.buffer, big, 100_000).every((v) => v === 0));
  assert.equal(heap.alloc(4 * 65536), null, 'past the maximum');
  assert.throws(() => heap.free(12345), /not a live block/);
  assert.ok(heap.owns(new Float32Array(heap.buffer, big, 4)));
  assert.ok(!heap.owns(new Float32Array(4)));
});

test('LOWBIT_THREADS: positive integers only', () => {
  assert.equal(envThreads({}), undefined);
  assert.equal(envThreads({ LOWBIT_THREADS: '3' }), 3);
  assert.throws(() => envThreads({ LOWBIT_THREADS: '0' }), /LOWBIT_THREADS must be a positive integer, got "0"/);
  assert.throws(() => envThreads({ LOWBIT_THREADS: 'many' }), /LOWBIT_THREADS/);
  const be = createCpuBackend({ threads: 1 });
  assert.equal(be.description, 'CPU (wasm simd, 1 thread)');
  be.dispose();
});

/** Runs `code` as an ES module in a child node; resolves with its exit code and seconds taken. */
function runChild(code: string): Promise<{ code: number | null; seconds: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, seconds: (performance.now() - t0) / 1000, stderr });
    });
  });
}

test('worker threads never keep the process alive: with dispose, and with a forgotten dispose', async () => {
  const mod = JSON.stringify(fileURLToPath(new URL('../src/backend/cpu/node-cpu.js', import.meta.url)));
  const body = `
    const { createCpuBackend } = await import(${mod});
    const be = createCpuBackend({ threads: 2 });
    if (be.description !== 'CPU (wasm simd, 2 threads)') throw new Error(be.description);
    const n = 256;
    const x = be.upload({ dtype: 'f32', shape: [n, n], data: new Float32Array(n * n).fill(1) });
    const out = be.empty('f32', [n, n]);
    be.matmul(out, x, x);
    if ((await be.read(out)).data[0] !== n) throw new Error('wrong product');`;
  for (const [name, code] of [['dispose', `${body}\n be.dispose();`], ['no dispose', body]] as const) {
    const r = await runChild(code);
    assert.equal(r.code, 0, `${name}: exit ${r.code}: ${r.stderr}`);
    assert.ok(r.seconds < 5, `${name}: took ${r.seconds.toFixed(1)} s to exit`);
  }
});
