/**
 * Worker-thread entry of the GEMM pool (node-threads.ts): instantiates the
 * WASM kernel on the pool's shared memory and works on posted jobs until told
 * to quit. Bundled as its own entry by scripts/bundle.mjs (name ends in -worker).
 */
import { workerData } from 'node:worker_threads';
import { workerLoop } from './gemm-jobs.js';
import { instantiateGemm } from './wasm-gemm.js';

export interface GemmWorkerData {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly board: Int32Array;
  /** This worker's thread index (1 …; the calling thread is 0): which scratch block it decodes into. */
  readonly index: number;
}

const data = workerData as GemmWorkerData;
workerLoop(data.board, instantiateGemm(data.module, data.memory), data.index);
