/**
 * attention launcher. Prefill (T > SPLIT_MAX_T): attention_prefill.wgsl, one
 * workgroup per block of BQ query rows and head, K/V blocks shared through
 * workgroup memory. Short T over at most SPLIT_LEN keys: attention.wgsl, one
 * workgroup per (head, query row), threads over keys and dims. Decode (short T
 * over a longer cache): up to `AttentionTuning.onePassMaxKeys` keys,
 * attention_decode.wgsl in one dispatch, one 256-thread workgroup per (head,
 * query row) holding every score in workgroup memory; beyond that the keys are
 * split into SPLIT_LEN-key ranges processed by separate workgroups (split-K),
 * whose partial (acc, max, sum) records attention_combine.wgsl merges. With
 * `AttentionTuning.flashKeys` > 0 (the default), short T beyond onePassMaxKeys
 * runs attention_flash.wgsl instead (flash-decoding): one workgroup per (head,
 * query row, split of flashSplitKeys ≥ flashKeys keys),
 * the splits merged in the same dispatch by the last to finish.
 * `ropeKvAttention` (T = 1 on the one-pass or flash path): that kernel behind
 * attention_decode_rope.wgsl, with RoPE and the KV-cache append folded in.
 *
 * Every kernel reads the first row's position as pos0 + pos[0] from a storage
 * buffer (the op's `pos` tensor, or a zero word): with a device position the
 * path and the splits are chosen by the cache (S rows), so grid and uniforms are
 * the same at every position and a recorded decode step replays unchanged.
 */
import type { GpuContext, KernelSpec } from '../context.js';
import type { WgslName } from './wgsl.gen.js';
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
/**
 * The KV cache's read accessors (kv_f32.wgsl, or f16_bits.wgsl + kv_f16.wgsl), and with `write`
 * its stores (kv_store_*.wgsl), for a kernel whose caches are f16 (`kv16`) or f32.
 */
export function kvFiles(kv16: boolean, write: boolean): WgslName[] {
  if (!kv16) return write ? ['kv_f32', 'kv_store_f32'] : ['kv_f32'];
  return write ? ['f16_bits', 'kv_f16', 'kv_store_f16'] : ['f16_bits', 'kv_f16'];
}

/** Query rows up to which decode splits the keys (and above which prefill runs). */
const SPLIT_MAX_T = 8;
/** attention_decode.wgsl: threads per workgroup and the most keys (scores held in workgroup memory). */
const ONE_PASS_WG = 256;
export const ONE_PASS_MAXK = 2048;

/**
 * attention_decode.wgsl behind its io file: block_reduce by subgroups (two barriers) when the
 * device has one fixed subgroup size `sg` dividing the workgroup, else the shared-memory tree.
 */
function onePassKernel(io: WgslName, kv16: boolean, HD: number, sg: number): KernelSpec {
  const header = { WG: ONE_PASS_WG, HD, MAXK: ONE_PASS_MAXK };
  const kv = kvFiles(kv16, io === 'attention_decode_rope');
  if (sg > 0 && ONE_PASS_WG % sg === 0) return { files: [...kv, io, 'attention_rows', 'attention_reduce_subgroup', 'attention_decode'], header: { ...header, SG: sg }, enable: ['subgroups'] };
  return { files: [...kv, io, 'attention_rows', 'attention_reduce_shared', 'attention_decode'], header: { ...header, SG: 0 } };
}

const FLASH_WG = 64;
/**
 * Flash-decoding's workgroups: keys per split double from `flashKeys` while heads × T × splits would
 * exceed FLASH_TARGET_WG (at most FLASH_MAX_L keys, its scores in workgroup memory). On the H200 at
 * 32 heads × 128 (decode18): 64 keys a split best at ~545 keys (9 splits: 14.8 µs a layer against
 * 18.1 at 32 and 16.4 at 128), 128–256 at ~2033 keys (31 µs; 44.6 at 64, 32 splits).
 */
const FLASH_TARGET_WG = 512;
const FLASH_MAX_L = 2048;

/** Keys per split of flash-decoding for a call whose rows see at most n keys. */
export function flashSplitKeys(T: number, nHeads: number, n: number, minKeys: number): number {
  let L = minKeys;
  while (L < FLASH_MAX_L && T * nHeads * ceilDiv(n, L) > FLASH_TARGET_WG) L *= 2;
  return Math.min(L, FLASH_MAX_L);
}

/** attention_flash.wgsl behind its io file (subgroup or shared-memory block_reduce, as onePassKernel). */
function flashKernel(io: WgslName, kv16: boolean, HD: number, L: number, sg: number): KernelSpec {
  const header = { WG: FLASH_WG, HD, L };
  const kv = kvFiles(kv16, io === 'attention_decode_rope');
  if (sg > 0 && FLASH_WG % sg === 0) return { files: [...kv, io, 'attention_rows', 'attention_reduce_subgroup', 'attention_flash'], header: { ...header, SG: sg }, enable: ['subgroups'] };
  return { files: [...kv, io, 'attention_rows', 'attention_reduce_shared', 'attention_flash'], header: { ...header, SG: 0 } };
}

/** Decode attention choices (a sweep on a new GPU overrides these). */
export interface AttentionTuning {
  /**
   * Keys per workgroup of flash-decoding (attention_flash.wgsl) for short T, which then replaces
   * split-K + combine (above onePassMaxKeys keys); 0: off.
   */
  readonly flashKeys: number;
  /**
   * Most keys a row may see (the cache rows with a device position, else pos0 + T) for which
   * short-T decode runs attention_decode.wgsl (one dispatch) instead of split-K + combine (two);
   * 0: split-K always. Capped at ONE_PASS_MAXK.
   */
  readonly onePassMaxKeys: number;
}

/**
 * H200, 32 heads × 128 (MHA), T = 1, in a 7B int4 decode step per layer (decode18): one-pass 8.9 µs
 * vs flash 11.0 at 161 cache rows, 20.6 vs 14.8 at 545, split-K + combine 38.9 vs flash 31 at 2033;
 * the two cross near 260 rows: one pass up to 256, flash beyond. (Each op alone, decode7: one-pass
 * 13.7 µs vs split-K + combine 26.0 at 210 rows, 40.2 vs 40.7 at 1041, 81.0 vs 65.7 at 2017.)
 */
export const DEFAULT_ATTENTION: AttentionTuning = { flashKeys: 64, onePassMaxKeys: 256 };

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
  /** Whether the caches k and v are f16 (else f32). */
  readonly kv16: boolean;
}

/** Splits of the keys for short T: >1 when they exceed one split, n = the most keys a row may see. */
export function attentionSplits(T: number, n: number): number {
  return T <= SPLIT_MAX_T && n > SPLIT_LEN ? ceilDiv(n, SPLIT_LEN) : 1;
}

/** Which kernel(s) a call runs; n = the most keys a row may see. */
export type AttentionPath = 'prefill' | 'short' | 'one-pass' | 'split-K' | 'flash';

export function attentionPath(T: number, n: number, headDim: number, tuning: AttentionTuning): AttentionPath {
  if (T > SPLIT_MAX_T) return 'prefill';
  const columns = headDim % 4 === 0 ? headDim / 4 : headDim;
  if (attentionSplits(T, n) === 1) return 'short';
  // one-pass: value columns (vec4s, or single floats when headDim % 4 != 0) must fit the workgroup
  if (n <= Math.min(tuning.onePassMaxKeys, ONE_PASS_MAXK) && columns <= ONE_PASS_WG) return 'one-pass';
  return tuning.flashKeys > 0 && columns <= FLASH_WG && ceilDiv(n, FLASH_MAX_L) <= MAX_GROUPS ? 'flash' : 'split-K';
}

/**
 * attention_flash.wgsl's `sync` buffer for `rows` (T × heads) counters and `words` record words:
 * counters zero and records SENT between dispatches (each dispatch returns them so).
 */
export type FlashSync = (rows: number, words: number) => { buffer: GPUBuffer; recBase: number };

/** Flash-decoding's dispatch: grid heads × T × ⌈S / L⌉ (splits by the cache, so a recorded step replays). */
function flash(ctx: GpuContext, c: AttentionCall, io: { files: WgslName; buffers: Record<number, GPUBuffer>; half: number; maxPos: number }, minKeys: number, sync: FlashSync, sg: number): void {
  const HD = c.headDim;
  const n = c.devicePos ? c.S : Math.min(c.S, c.pos0 + c.T);
  const L = flashSplitKeys(c.T, c.nHeads, n, minKeys);
  const nSplit = ceilDiv(n, L);
  const s = sync(c.T * c.nHeads, c.T * c.nHeads * nSplit * (HD + 2));
  ctx.dispatch({
    what: `${c.what} (flash ${L} × ${nSplit})`,
    kernel: flashKernel(io.files, c.kv16, HD, L, sg),
    buffers: { ...io.buffers, 4: c.out, 5: c.pos, 8: s.buffer },
    params: [c.nHeads * HD, c.nKvHeads * HD, c.nHeads / c.nKvHeads, c.pos0, { f: 1 / Math.sqrt(HD) }, c.S, io.half, io.maxPos, nSplit, s.recBase],
    grid: [c.nHeads, c.T, nSplit],
  });
}

export function attention(ctx: GpuContext, c: AttentionCall, tuning: AttentionTuning, scratch: (bytes: number) => GPUBuffer, sync: FlashSync, subgroupSize = 0): void {
  const HD = c.headDim;
  const Cq = c.nHeads * HD;
  const Ckv = c.nKvHeads * HD;
  const group = c.nHeads / c.nKvHeads;
  const scale = 1 / Math.sqrt(HD);
  if (c.T > MAX_GROUPS || c.nHeads > MAX_GROUPS) throw new Error(`${c.what}: ${c.T} rows × ${c.nHeads} heads exceed ${MAX_GROUPS} workgroups per dimension`);
  const n = c.devicePos ? c.S : c.pos0 + c.T;
  const path = attentionPath(c.T, n, HD, tuning);
  if (path === 'prefill') {
    const { BQ, QS, BK } = prefillTiles(HD);
    ctx.dispatch({
      what: c.what,
      kernel: { files: [...kvFiles(c.kv16, false), 'attention_prefill'], header: { BQ, QS, WG: BQ * QS, BK, HD, DQ: HD / QS } },
      buffers: { 1: c.q, 2: c.k, 3: c.v, 4: c.out, 5: c.pos },
      params: [c.T, Cq, Ckv, group, c.pos0, { f: scale }, c.S],
      grid: [ceilDiv(c.T, BQ), c.nHeads, 1],
    });
    return;
  }
  if (path === 'flash') {
    flash(ctx, c, { files: 'attention_decode_io', buffers: { 1: c.q, 2: c.k, 3: c.v }, half: 0, maxPos: 0 }, tuning.flashKeys, sync, subgroupSize);
    return;
  }
  if (path === 'one-pass') {
    ctx.dispatch({
      what: `${c.what} (one-pass)`,
      kernel: onePassKernel('attention_decode_io', c.kv16, HD, subgroupSize),
      buffers: { 1: c.q, 2: c.k, 3: c.v, 4: c.out, 5: c.pos },
      params: [Cq, Ckv, group, c.pos0, { f: scale }, c.S, 0, 0],
      grid: [c.nHeads, c.T, 1],
    });
    return;
  }
  const nSplit = attentionSplits(c.T, n);
  // key groups: with HD ≤ WG, WG / HD groups of HD threads share the value accumulation
  const G = HD <= WG ? Math.floor(WG / HD) : 1;
  const header = { WG, HD, G, NA: ceilDiv(HD, WG) };
  if (path === 'short') {
    ctx.dispatch({
      what: c.what,
      kernel: { files: [...kvFiles(c.kv16, false), 'attention'], header: { ...header, SPLIT: false } },
      buffers: { 1: c.q, 2: c.k, 3: c.v, 4: c.out, 5: c.pos },
      params: [Cq, Ckv, group, c.pos0, c.S, 1, { f: scale }, c.S],
      grid: [c.nHeads, c.T, 1],
    });
    return;
  }
  const part = scratch(c.T * c.nHeads * nSplit * (HD + 2) * 4);
  ctx.dispatch({
    what: `${c.what} (split-K ×${nSplit})`,
    kernel: { files: [...kvFiles(c.kv16, false), 'attention'], header: { ...header, SPLIT: true } },
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

/** The fused projection row and RoPE tables of `ropeKvAttention`. */
export interface RopeInput {
  /** [T, Cq + 2·Ckv]: (q | k | v) as projected, unrotated. */
  readonly qkv: GPUBuffer;
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  /** Rows of the cos / sin tables. */
  readonly maxPos: number;
}

/** Whether `ropeKvAttention` folds RoPE and the cache append into one attention dispatch for this call. */
export function ropeKvFolds(T: number, n: number, headDim: number, tuning: AttentionTuning): boolean {
  const path = attentionPath(T, n, headDim, tuning);
  return T === 1 && headDim % 2 === 0 && (path === 'one-pass' || path === 'flash');
}

/**
 * RoPE + KV-cache append + one-pass or flash decode attention in one dispatch (attention_decode_rope.wgsl):
 * for a call where ropeKvFolds holds; `c.q` is unused (the query is rotated in the kernel) and
 * c.k / c.v are the caches, row P written here.
 */
export function ropeKvAttention(ctx: GpuContext, c: AttentionCall, r: RopeInput, tuning: AttentionTuning, sync: FlashSync, subgroupSize = 0): void {
  const HD = c.headDim;
  if (c.nHeads > MAX_GROUPS) throw new Error(`${c.what}: ${c.nHeads} heads exceed ${MAX_GROUPS} workgroups per dimension`);
  if (attentionPath(c.T, c.devicePos ? c.S : c.pos0 + c.T, HD, tuning) === 'flash') {
    flash(ctx, c, { files: 'attention_decode_rope', buffers: { 1: r.qkv, 2: c.k, 3: c.v, 6: r.cos, 7: r.sin }, half: HD / 2, maxPos: r.maxPos }, tuning.flashKeys, sync, subgroupSize);
    return;
  }
  ctx.dispatch({
    what: `${c.what} (one-pass, rope + cache append)`,
    kernel: onePassKernel('attention_decode_rope', c.kv16, HD, subgroupSize),
    buffers: { 1: r.qkv, 2: c.k, 3: c.v, 4: c.out, 5: c.pos, 6: r.cos, 7: r.sin },
    params: [c.nHeads * HD, c.nKvHeads * HD, c.nHeads / c.nKvHeads, c.pos0, { f: 1 / Math.sqrt(HD) }, c.S, HD / 2, r.maxPos],
    grid: [c.nHeads, 1, 1],
  });
}
