/**
 * The job board that the main thread and the GEMM worker threads share: an
 * Int32Array on a SharedArrayBuffer, synchronised with Atomics only (so it is
 * browser-safe; the Worker plumbing is in node-threads.ts).
 *
 * A job is one matmul split into chunks of `chunkM` output columns (rows of
 * w). Chunk ids are global and increasing: job s owns ids [START, END), and
 * whoever wins `compareExchange(NEXT, id, id + 1)` with START ≤ id < END
 * computes chunk id − START. A thread holding a stale job can therefore never
 * claim a chunk of a newer one. The main thread posts a job, claims chunks
 * itself, then waits until DONE reaches END; if no worker ever wakes (not
 * started yet, or failed to start) it simply computes every chunk.
 *
 * Posting is a seqlock: SEQ is odd while the parameters are being written.
 *
 * A job of KIND 1 is a packed-weight matmul (qgemm): W is its codes, STATS its statistics (SPQR:
 * SpQR's descriptor instead, 0 for an int weight; qgemm gets each chunk's first row), and
 * each thread decodes tiles into its own scratch block, SCRATCH + index · SCRATCH_STRIDE (the
 * calling thread is index 0, worker i index i).
 */
import { blockRows, qtileRows, type GemmKernels } from './wasm-gemm.js';

const SEQ = 0;
const NEXT = 1;
const DONE = 2;
const START = 3;
const END = 4;
const OUT = 5;
const X = 6;
const W = 7;
const BIAS = 8;
const T_ = 9;
const K_ = 10;
const M_ = 11;
const CHUNK = 12;
const QUIT = 13;
const ERROR = 14;
const WORKER_CHUNKS = 15;
const KIND = 16;
const STATS = 17;
const BITS = 18;
const NGROUPS = 19;
const CPG = 20;
const SCRATCH = 21;
const SCRATCH_STRIDE = 22;
const SPQR = 23;
export const JOB_WORDS = 24;

/** A packed-weight job's extra parameters (qgemm). */
export interface QJobParams {
  readonly stats: number;
  readonly bits: number;
  readonly nGroups: number;
  readonly cpg: number;
  readonly scratch: number;
  readonly scratchStride: number;
  /** SpQR's descriptor in the kernel memory (QImage.spqr.desc), or 0 for an int weight. */
  readonly spqr: number;
}

interface Job {
  /** SEQ when the snapshot was taken. */
  readonly seq: number;
  readonly start: number;
  readonly end: number;
  readonly out: number;
  readonly x: number;
  readonly w: number;
  readonly bias: number;
  readonly T: number;
  readonly K: number;
  readonly M: number;
  readonly chunkM: number;
  /** Set for a packed-weight job (KIND 1). */
  readonly q: QJobParams | null;
}

/** Posts a job of `chunks` chunks (main thread only); returns its END. */
export function postJob(
  board: Int32Array,
  p: { out: number; x: number; w: number; bias: number; T: number; K: number; M: number; chunkM: number; q?: QJobParams },
  chunks: number,
): number {
  const start = Atomics.load(board, NEXT);
  const end = start + chunks;
  Atomics.add(board, SEQ, 1); // odd: writing
  Atomics.store(board, START, start);
  Atomics.store(board, END, end);
  Atomics.store(board, OUT, p.out);
  Atomics.store(board, X, p.x);
  Atomics.store(board, W, p.w);
  Atomics.store(board, BIAS, p.bias);
  Atomics.store(board, T_, p.T);
  Atomics.store(board, K_, p.K);
  Atomics.store(board, M_, p.M);
  Atomics.store(board, CHUNK, p.chunkM);
  Atomics.store(board, KIND, p.q ? 1 : 0);
  if (p.q) {
    Atomics.store(board, STATS, p.q.stats);
    Atomics.store(board, BITS, p.q.bits);
    Atomics.store(board, NGROUPS, p.q.nGroups);
    Atomics.store(board, CPG, p.q.cpg);
    Atomics.store(board, SCRATCH, p.q.scratch);
    Atomics.store(board, SCRATCH_STRIDE, p.q.scratchStride);
    Atomics.store(board, SPQR, p.q.spqr);
  }
  Atomics.add(board, SEQ, 1); // even: posted
  Atomics.notify(board, SEQ);
  return end;
}

/** A consistent snapshot of the posted job, or null while one is being posted. */
function readJob(board: Int32Array): Job | null {
  const s = Atomics.load(board, SEQ);
  if (s & 1) return null;
  const job: Job = {
    seq: s,
    start: Atomics.load(board, START),
    end: Atomics.load(board, END),
    out: Atomics.load(board, OUT),
    x: Atomics.load(board, X),
    w: Atomics.load(board, W),
    bias: Atomics.load(board, BIAS),
    T: Atomics.load(board, T_),
    K: Atomics.load(board, K_),
    M: Atomics.load(board, M_),
    chunkM: Atomics.load(board, CHUNK),
    q:
      Atomics.load(board, KIND) === 1
        ? {
            stats: Atomics.load(board, STATS),
            bits: Atomics.load(board, BITS),
            nGroups: Atomics.load(board, NGROUPS),
            cpg: Atomics.load(board, CPG),
            scratch: Atomics.load(board, SCRATCH),
            scratchStride: Atomics.load(board, SCRATCH_STRIDE),
            spqr: Atomics.load(board, SPQR),
          }
        : null,
  };
  return Atomics.load(board, SEQ) === s ? job : null;
}

/** Claims and computes chunks of `job` until none is left; thread `index` (0: the caller); a worker counts them in WORKER_CHUNKS. */
function work(board: Int32Array, k: GemmKernels, job: Job, index: number): void {
  for (;;) {
    const id = Atomics.load(board, NEXT);
    if (id < job.start || id >= job.end) return;
    if (Atomics.compareExchange(board, NEXT, id, id + 1) !== id) continue;
    const m0 = (id - job.start) * job.chunkM;
    const m1 = Math.min(job.M, m0 + job.chunkM);
    const bias = job.bias ? job.bias + 4 * m0 : 0;
    try {
      // Columns m0…m1 of out: w rows m0…m1, bias m0…m1, out offset m0 with row stride M.
      const q = job.q;
      if (q) {
        const codes = job.w + (m0 * job.K * q.bits) / 8;
        const stats = q.spqr ? 0 : q.stats + 4 * m0 * q.nGroups;
        const scratch = q.scratch + index * q.scratchStride;
        k.qgemm(job.out + 4 * m0, job.x, codes, stats, bias, job.T, job.K, m1 - m0, job.M, q.bits, q.nGroups, q.cpg, scratch, qtileRows(job.K), blockRows(job.K), q.spqr, m0);
      } else {
        k.gemm(job.out + 4 * m0, job.x, job.w + 4 * m0 * job.K, bias, job.T, job.K, m1 - m0, job.M, blockRows(job.K));
      }
    } catch {
      Atomics.store(board, ERROR, 1);
    }
    if (index > 0) Atomics.add(board, WORKER_CHUNKS, 1);
    if (Atomics.add(board, DONE, 1) + 1 === job.end) Atomics.notify(board, DONE);
  }
}

/** Main thread: helps with the job posted with `end`, then blocks until every chunk is done. */
export function finishJob(board: Int32Array, k: GemmKernels, end: number): void {
  const job = readJob(board);
  if (job && job.end === end) work(board, k, job, 0);
  for (;;) {
    const done = Atomics.load(board, DONE);
    if (done === end) break;
    Atomics.wait(board, DONE, done);
  }
  if (Atomics.exchange(board, ERROR, 0)) throw new Error('cpu backend: the WASM GEMM failed in a thread');
}

/** Worker thread `index` (≥ 1): waits for jobs and works on them until `quit`. */
export function workerLoop(board: Int32Array, k: GemmKernels, index: number): void {
  let seen = 0;
  for (;;) {
    Atomics.wait(board, SEQ, seen);
    if (Atomics.load(board, QUIT)) return;
    const job = readJob(board);
    if (!job) continue; // mid-post: SEQ is odd, so the next wait returns at once
    seen = job.seq;
    work(board, k, job, index);
  }
}

/** Chunks computed by worker threads since the board was made. */
export const workerChunks = (board: Int32Array): number => Atomics.load(board, WORKER_CHUNKS);

/** Tells every worker to leave `workerLoop`. */
export function quitWorkers(board: Int32Array): void {
  Atomics.store(board, QUIT, 1);
  Atomics.add(board, SEQ, 2);
  Atomics.notify(board, SEQ);
}
