/**
 * Decode-step kernels whose dispatch does not depend on the position (it is
 * read from a [1] i32 storage buffer): ropeKv (rope_kv.wgsl) and argmax
 * (argmax.wgsl), so a decode step recorded once replays at every position.
 */
import type { GpuContext } from '../context.js';
import { kvFiles } from './attention.js';
import { ceilDiv, MAX_GROUPS } from './common.js';

const WG = 256;

function rowsOk(what: string, T: number): void {
  if (T > MAX_GROUPS) throw new Error(`${what}: ${T} rows exceed the ${MAX_GROUPS} workgroups of one dispatch dimension`);
}

export interface RopeKvCall {
  readonly what: string;
  readonly q: GPUBuffer;
  readonly kCache: GPUBuffer;
  readonly vCache: GPUBuffer;
  readonly qkv: GPUBuffer;
  readonly cos: GPUBuffer;
  readonly sin: GPUBuffer;
  /** [1] i32 added to pos0 on the device (a zero word when the op has no `pos`). */
  readonly pos: GPUBuffer;
  readonly T: number;
  readonly S: number;
  readonly Cq: number;
  readonly Ckv: number;
  readonly half: number;
  readonly pos0: number;
  readonly maxPos: number;
  /** Whether the caches are f16 (else f32). */
  readonly kv16: boolean;
}

/** q ← rope(q part), kCache/vCache rows P … P+T−1 ← rope(k part), v part: one invocation per q/k pair or v element pair. */
export function ropeKv(ctx: GpuContext, c: RopeKvCall): void {
  rowsOk(c.what, c.T);
  ctx.dispatch({
    what: c.what,
    kernel: { files: [...kvFiles(c.kv16, true), 'rope_kv'], header: { WG } },
    buffers: { 1: c.qkv, 2: c.cos, 3: c.sin, 4: c.q, 5: c.kCache, 6: c.vCache, 7: c.pos },
    params: [c.Cq, c.Ckv, c.half, c.pos0, c.S, c.maxPos],
    grid: [ceilDiv(c.Cq / 2 + c.Ckv, WG), c.T, 1],
  });
}

/** Slots (4 logits each) a thread of argmax.wgsl and sample.wgsl has in flight in a pass over the row. */
export const ROW_SLOTS_IN_FLIGHT = 4;

/**
 * ids[t] = first argmax of logits[t, :]; with history, also tokens[pos[0] + t + 1] = ids[t] (N = tokens, 0 without).
 * WG: threads per row (a power of two; the backend gives sampleWorkgroupFor(V, …): one workgroup walks the row).
 */
export function argmax(ctx: GpuContext, what: string, ids: GPUBuffer, logits: GPUBuffer, history: { tokens: GPUBuffer; pos: GPUBuffer } | null, dummies: { tokens: GPUBuffer; pos: GPUBuffer }, T: number, V: number, N: number, advance = false, WG = 256): void {
  rowsOk(what, T);
  const h = history ?? dummies;
  ctx.dispatch({
    what,
    kernel: { files: ['row_slots', 'argmax'], header: { WG, HISTORY: history !== null, ADVANCE: history !== null && advance, ALIGNED: V % 4 === 0, U: ROW_SLOTS_IN_FLIGHT } },
    buffers: { 1: logits, 2: ids, 3: h.tokens, 4: h.pos },
    params: [V, N],
    grid: [T, 1, 1],
  });
}

/** sample.wgsl's workgroup memory besides its WG vec4s: CAP (2048) u32 bits, up to 32 run offsets and five scalars, with room for padding. */
const SAMPLE_FIXED_BYTES = 4 * 2048 + 128 + 64;

/**
 * The sample kernel's workgroup size: the largest power of two up to `max` that the device's
 * workgroup limits and workgroup memory (16 bytes a thread beside SAMPLE_FIXED_BYTES) allow. One
 * workgroup walks the whole row, each thread one logit at a time, so more threads mean fewer
 * dependent trips to memory per pass (V = 128256: 125 a thread at 1024 instead of 501 at 256).
 */
export function sampleWorkgroupSize(lim: Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupStorageSize'>, max: number): number {
  const cap = Math.min(max, lim.maxComputeInvocationsPerWorkgroup, lim.maxComputeWorkgroupSizeX, Math.floor((lim.maxComputeWorkgroupStorageSize - SAMPLE_FIXED_BYTES) / 16));
  if (!(cap >= 1)) throw new Error(`sample: no workgroup size fits (largest allowed ${cap})`);
  return 2 ** Math.floor(Math.log2(cap));
}

/**
 * The sample kernel's workgroup for a vocabulary of V: the largest power of two with at least 32
 * logits a thread, from 64 up to `cap` (sampleWorkgroupSize). One workgroup walks the row, so
 * more threads mean shorter passes, but each reduction and scan grows with the workgroup: on the
 * H200 (decode15/run5) V = 32000 took 84 µs at 512 threads against 111 at 256 and 112 at 1024
 * (top-k 40, top-p 0.95), V = 128256 244 µs at 1024 against 373 at 512.
 */
export function sampleWorkgroupFor(V: number, cap: number): number {
  const want = 2 ** Math.floor(Math.log2(Math.max(1, V / 32)));
  return Math.min(cap, Math.max(64, want));
}

/** A sample.wgsl dispatch: ids[t] drawn from logits[t, :] (Backend.sample). */
export interface SampleCall {
  readonly what: string;
  /** Threads per row (sampleWorkgroupFor). */
  readonly WG: number;
  readonly ids: GPUBuffer;
  readonly logits: GPUBuffer;
  readonly uniforms: GPUBuffer;
  /** tokens and pos, or null without history. */
  readonly history: { tokens: GPUBuffer; pos: GPUBuffer } | null;
  readonly dummies: { tokens: GPUBuffer; pos: GPUBuffer };
  readonly advance: boolean;
  readonly T: number;
  readonly V: number;
  /** tokens (0 without history) and uniforms. */
  readonly N: number;
  readonly NU: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
}

/**
 * ids[t] = the token its uniform draws from softmax(logits[t, :] / temperature) under top-k / top-p (sample.wgsl).
 * sg: the device's fixed subgroup size (0: none); one dividing WG reduces through subgroups.
 */
export function sample(ctx: GpuContext, c: SampleCall, sg = 0): void {
  rowsOk(c.what, c.T);
  const h = c.history ?? c.dummies;
  const useSg = sg > 0 && c.WG % sg === 0;
  const header = { WG: c.WG, HISTORY: c.history !== null, ADVANCE: c.history !== null && c.advance, ALIGNED: c.V % 4 === 0, U: ROW_SLOTS_IN_FLIGHT };
  ctx.dispatch({
    what: c.what,
    kernel: useSg
      ? { files: ['row_slots', 'sample_reduce_subgroup', 'sample'], header: { ...header, SG: sg }, enable: ['subgroups'] }
      : { files: ['row_slots', 'sample_reduce_shared', 'sample'], header },
    buffers: { 1: c.logits, 2: c.ids, 3: h.tokens, 4: h.pos, 5: c.uniforms },
    params: [c.V, c.N, c.NU, c.topK, { f: 1 / c.temperature }, { f: c.topP }],
    grid: [c.T, 1, 1],
  });
}
