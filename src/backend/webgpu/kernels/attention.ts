/**
 * attention launcher. Prefill (T > SPLIT_MAX_T): attention_prefill.wgsl, one
 * workgroup per block of BQ query rows and head, K/V blocks shared through
 * workgroup memory. Short T: attention.wgsl, one workgroup per (head, query
 * row), threads over keys and dims. For decode (few query rows over a long cache) the keys are split
 * into SPLIT_LEN-key ranges processed by separate workgroups (split-K), whose
 * partial (acc, max, sum) records attention_combine.wgsl merges.
 *
 * Every kernel reads the first row's position as pos0 + pos[0] from a storage
 * buffer (the op's `pos` tensor, or a zero word): with a device position the
 * splits are sized by the cache (S rows), so grid and uniforms are the same at
 * every position and a recorded decode step replays unchanged.
 */
import type { GpuContext } from '../context.js';
import { ceilDiv, MAX_GROUPS } from './common.js';

const WG = 64;
/**
 * Keys per split in the split-K decode path (at most WG: one block per workgroup), so even a short
 * cache spreads over heads × ⌈n/32⌉ workgroups, each with a short chain of value loads (64 keys per
 * split measured 28 µs per 32-head layer at 193 keys on the H200, latency-bound).
 */
export const SPLIT_LEN = 32;
/**
 * Prefill tiling for a head size: QS threads per query row (so each holds at
 * most 32 of the hd query/output floats), BQ rows per workgroup, and BK keys
 * per shared K/V block, sized so K, V and the partial dots fit the 16 KiB
 * default workgroup memory.
 */
export function prefillTiles(HD: number): { BQ: number; QS: number; BK: number } {
  let QS = 1;
  while (HD / QS > 32 && HD % (2 * QS) === 0 && QS < 8) QS *= 2;
  const BQ = QS > 1 ? 32 : 64;
  const BK = Math.max(1, Math.min(16, Math.floor(16384 / (8 * HD + 4 * BQ * QS))));
  return { BQ, QS, BK };
}
/** Query rows up to which decode splits the keys (and above which prefill runs). */
const SPLIT_MAX_T = 8;

export interface AttentionCall {
  readonly what: string;
  readonly out: GPUBuffer;
  readonly q: GPUBuffer;
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  readonly T: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly pos0: number;
  /** [1] i32: added to pos0 on the device (a zero word when the op has no `pos`). */
  readonly pos: GPUBuffer;
  /** Whether `pos` is the op's device position (splits then sized by the cache). */
  readonly devicePos: boolean;
  /** Cache rows. */
  readonly S: number;
}

/** Splits used for a call: >1 only for short T over more than two splits of keys, n = the most keys a row may see. */
export function attentionSplits(T: number, n: number): number {
  return T <= SPLIT_MAX_T && n > SPLIT_LEN ? ceilDiv(n, SPLIT_LEN) : 1;
}

export function attention(ctx: GpuContext, c: AttentionCall, scratch: (bytes: number) => GPUBuffer): void {
  const HD = c.headDim;
  const NA = ceilDiv(HD, WG);
  const Cq = c.nHeads * HD;
  const Ckv = c.nKvHeads * HD;
  const group = c.nHeads / c.nKvHeads;
  const scale = 1 / Math.sqrt(HD);
  if (c.T > MAX_GROUPS || c.nHeads > MAX_GROUPS) throw new Error(`${c.what}: ${c.T} rows × ${c.nHeads} heads exceed ${MAX_GROUPS} workgroups per dimension`);
  if (c.T > SPLIT_MAX_T) {
    const { BQ, QS, BK } = prefillTiles(HD);
    ctx.dispatch({
      what: c.what,
      kernel: { files: ['attention_prefill'], header: { BQ, QS, WG: BQ * QS, BK, HD, DQ: HD / QS } },
      buffers: { 1: c.q, 2: c.k, 3: c.v, 4: c.out, 5: c.pos },
      params: [c.T, Cq, Ckv, group, c.pos0, { f: scale }, c.S],
      grid: [ceilDiv(c.T, BQ), c.nHeads, 1],
    });
    return;
  }
  const nSplit = attentionSplits(c.T, c.devicePos ? c.S : c.pos0 + c.T);
  // key groups: with HD ≤ WG, WG / HD groups of HD threads share the value accumulation
  const G = HD <= WG ? Math.floor(WG / HD) : 1;
  const header = { WG, HD, G, NA };
  if (nSplit === 1) {
    ctx.dispatch({
      what: c.what,
      kernel: { files: ['attention'], header: { ...header, SPLIT: false } },
      buffers: { 1: c.q, 2: c.k, 3: c.v, 4: c.out, 5: c.pos },
      params: [Cq, Ckv, group, c.pos0, c.S, 1, { f: scale }, c.S],
      grid: [c.nHeads, c.T, 1],
    });
    return;
  }
  const part = scratch(c.T * c.nHeads * nSplit * (HD + 2) * 4);
  ctx.dispatch({
    what: `${c.what} (split-K ×${nSplit})`,
    kernel: { files: ['attention'], header: { ...header, SPLIT: true } },
    buffers: { 1: c.q, 2: c.k, 3: c.v, 4: part, 5: c.pos },
    params: [Cq, Ckv, group, c.pos0, SPLIT_LEN, nSplit, { f: scale }, c.S],
    grid: [c.nHeads, c.T, nSplit],
  });
  ctx.dispatch({
    what: `${c.what} (combine)`,
    kernel: { files: ['attention_combine'], header: { WG, HD, MAXS: 256 } },
    buffers: { 1: part, 2: c.out, 3: c.pos },
    params: [Cq, nSplit, c.pos0, SPLIT_LEN, c.S],
    grid: [c.nHeads, c.T, 1],
  });
}
