/**
 * The threaded WASM GEMM: `threads − 1` worker threads plus the calling
 * thread share one WebAssembly memory (tensors live in it, see CpuArena) and
 * split each matmul's M dimension into chunks (gemm-jobs.ts). The kernel API
 * is synchronous, so the caller blocks in `Atomics.wait` until all chunks are
 * done. Workers are unref'd once running: a forgotten `dispose` does not
 * keep the process alive.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MatmulKernel } from './cpu.js';
import { finishJob, JOB_WORDS, postJob, quitWorkers, workerChunks } from './gemm-jobs.js';
import type { GemmWorkerData } from './node-gemm-worker.js';
import { WasmHeap } from './wasm-heap.js';
import { checkQ, checkSizes, gemmMemory, gemmModules, instantiateGemm, qscratchBytes, WasmGemm, type QImage } from './wasm-gemm.js';

const WORKER = 'node-gemm-worker.js';
/** Below this many multiply-adds a matmul runs on the calling thread only (waking workers costs more). */
export const MIN_THREADED_MACS = 1 << 17;
/** Chunks per thread, for load balance. */
const CHUNKS_PER_THREAD = 4;

/**
 * The worker script: next to this file (tsc output), or, in an esbuild bundle
 * where this code is inlined into an entry elsewhere, at
 * `src/backend/cpu/node-gemm-worker.js` under some ancestor directory.
 */
export function gemmWorkerPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(here, WORKER))) return join(here, WORKER);
  for (let d = here; ; d = dirname(d)) {
    const p = join(d, 'src', 'backend', 'cpu', WORKER);
    if (existsSync(p)) return p;
    if (dirname(d) === d) throw new Error(`cpu backend: cannot find ${WORKER} beside or above ${here}`);
  }
}

export interface GemmThreadPoolOptions {
  /** Threads including the calling one (≥ 1). */
  readonly threads: number;
  /** Matmuls with fewer multiply-adds run on the calling thread only; default MIN_THREADED_MACS. */
  readonly minMacs?: number;
}

export class GemmThreadPool {
  readonly threads: number;
  private readonly minMacs: number;
  /** Resolves when every worker is running (a failed one counts as settled). */
  readonly ready: Promise<void>;
  private readonly local: WasmGemm;
  private readonly board = new Int32Array(new SharedArrayBuffer(JOB_WORDS * 4));
  private readonly workers: Worker[] = [];

  /** Throws when this engine cannot share a WebAssembly memory or the worker script is missing. */
  constructor({ threads, minMacs = MIN_THREADED_MACS }: GemmThreadPoolOptions) {
    const module = gemmModules().shared;
    if (!module) throw new Error('cpu backend: no shared WebAssembly memory with SIMD here');
    const memory = gemmMemory(true);
    this.local = new WasmGemm(new WasmHeap(memory, true), instantiateGemm(module, memory));
    this.threads = threads;
    this.minMacs = minMacs;
    const file = gemmWorkerPath();
    const started: Promise<void>[] = [];
    for (let i = 1; i < threads; i++) {
      let w: Worker;
      try {
        const workerData: GemmWorkerData = { module, memory, board: this.board, index: i };
        w = new Worker(file, { workerData });
      } catch (e) {
        this.dispose();
        throw e;
      }
      // A worker that fails only costs parallelism: the calling thread computes unclaimed chunks.
      w.on('error', (e) => console.error(`cpu backend: GEMM worker ${i} failed: ${e.message}`));
      // Referenced only until it runs, so that `ready` can settle; then it never holds the process.
      started.push(
        new Promise((resolve) => {
          w.once('online', resolve);
          w.once('error', resolve);
        }).then(() => void w.unref()),
      );
      this.workers.push(w);
    }
    this.ready = Promise.all(started).then(() => undefined);
  }

  /** Chunks computed by worker threads so far (not by the calling thread). */
  get workerChunks(): number {
    return workerChunks(this.board);
  }

  /** The shared memory as tensor storage. */
  get arena(): WasmGemm['arena'] {
    return this.local.arena;
  }

  readonly matmul: MatmulKernel = (out, x, w, T, K, M, bias) => {
    checkSizes(out, x, w, T, K, M, bias);
    if (this.workers.length === 0 || T * K * M < this.minMacs) {
      this.local.matmul(out, x, w, T, K, M, bias);
      return;
    }
    const s = this.local.stage(out, x, w, bias);
    try {
      const chunks = Math.min(Math.ceil(M / 4), this.threads * CHUNKS_PER_THREAD);
      const chunkM = Math.ceil(M / chunks / 4) * 4;
      const end = postJob(this.board, { out: s.out, x: s.x, w: s.w, bias: s.bias, T, K, M, chunkM }, Math.ceil(M / chunkM));
      finishJob(this.board, this.local.kernels, end);
    } finally {
      s.finish();
    }
  };

  /** Every thread's decode scratch (qscratchBytes(K) each, side by side), kept and grown as needed. */
  private scratch: { off: number; stride: number } | null = null;

  private scratchFor(K: number): { off: number; stride: number } {
    const stride = qscratchBytes(K);
    if (this.scratch && this.scratch.stride >= stride) return this.scratch;
    if (this.scratch) this.local.heap.free(this.scratch.off);
    this.scratch = null;
    const off = this.local.heap.alloc(stride * this.threads, false);
    if (off === null) throw new Error(`cpu backend: WASM memory cannot hold ${stride * this.threads} more bytes`);
    this.scratch = { off, stride };
    return this.scratch;
  }

  /** out = x·Ŵᵀ (+ bias) for a packed int or SpQR weight in the shared memory (QImage): its rows split among the threads, each decoding tiles into its own scratch. */
  readonly qmatmul = (out: Float32Array, x: Float32Array, w: QImage, T: number, bias?: Float32Array): void => {
    const sc = this.scratchFor(w.K);
    if (this.workers.length === 0 || T * w.K * w.M < this.minMacs) {
      this.local.qmatmulOn(out, x, w, T, bias, sc.off);
      return;
    }
    checkQ(this.local.heap, out, x, w, T, bias);
    const s = this.local.stage(out, x, x, bias);
    try {
      const chunks = Math.min(Math.ceil(w.M / 4), this.threads * CHUNKS_PER_THREAD);
      const chunkM = Math.ceil(w.M / chunks / 4) * 4; // whole 4-row quads, as the tiles
      const q = { stats: w.stats.byteOffset, bits: w.bits, nGroups: w.nGroups, cpg: w.cpg, scratch: sc.off, scratchStride: sc.stride, spqr: w.spqr?.desc.byteOffset ?? 0 };
      const end = postJob(this.board, { out: s.out, x: s.x, w: w.codes.byteOffset, bias: s.bias, T, K: w.K, M: w.M, chunkM, q }, Math.ceil(w.M / chunkM));
      finishJob(this.board, this.local.kernels, end);
    } finally {
      s.finish();
    }
  };

  /** Stops the workers (idempotent). */
  dispose(): void {
    if (this.workers.length === 0) return;
    quitWorkers(this.board);
    for (const w of this.workers.splice(0)) void w.terminate();
  }
}

