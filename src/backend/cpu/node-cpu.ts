/**
 * The one place that builds the CPU backend for Node: the WASM SIMD GEMM on
 * `threads` threads (default `os.availableParallelism()`, env LOWBIT_THREADS
 * overrides), falling back to one thread when worker threads are unavailable
 * and to the reference matmul when WASM SIMD is.
 */
import { availableParallelism } from 'node:os';
import { CpuBackend } from './cpu.js';
import { createFastCpuBackend } from './fast.js';
import { GemmThreadPool } from './node-threads.js';
import { wasmSimdSupported } from './wasm-gemm.js';

export interface CpuBackendConfig {
  /** Threads for matmul (including the calling one). Default: LOWBIT_THREADS, else os.availableParallelism(). */
  readonly threads?: number;
}

/** LOWBIT_THREADS as a positive integer, undefined when unset. */
export function envThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env['LOWBIT_THREADS'];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`LOWBIT_THREADS must be a positive integer, got "${v}"`);
  return n;
}

export function createCpuBackend(opts: CpuBackendConfig = {}): CpuBackend {
  const threads = opts.threads ?? envThreads() ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  if (!wasmSimdSupported()) return new CpuBackend({ packed: 'fast' });
  if (threads > 1) {
    let pool: GemmThreadPool | undefined;
    try {
      pool = new GemmThreadPool({ threads });
    } catch {
      // No shared memory or no worker script: one thread below.
    }
    if (pool) {
      const p = pool;
      return new CpuBackend({
        matmul: p.matmul,
        matmulName: `wasm simd, ${threads} threads`,
        storage: 'shared',
        arena: p.arena,
        release: () => p.dispose(),
        packed: 'fast',
        qmatmul: p.qmatmul,
      });
    }
  }
  return createFastCpuBackend();
}
