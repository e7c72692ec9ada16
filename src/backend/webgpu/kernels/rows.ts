/** Row-wise kernels: embedding, rmsnorm, rope, nll (one workgroup or grid row per token). */
import type { GpuContext, KernelSpec } from '../context.js';
import type { GpuDType } from '../tensor.js';
import { ceilDiv, MAX_GROUPS, wloadFile } from './common.js';

const WG = 256;

function rowsOk(what: string, T: number): void {
  if (T > MAX_GROUPS) throw new Error(`${what}: ${T} rows exceed the ${MAX_GROUPS} workgroups of one dispatch dimension`);
}

/** out[t, :] = table[ids[t], :] for ids in the chunk [r0, r0 + rows). */
export function embedding(ctx: GpuContext, what: string, out: GPUBuffer, table: GPUBuffer, dtype: GpuDType, ids: GPUBuffer, T: number, D: number, r0: number, rows: number): void {
  rowsOk(what, T);
  ctx.dispatch({
    what,
    kernel: { files: [wloadFile(dtype), 'embedding'], header: { WG } },
    buffers: { 1: table, 2: ids, 3: out },
    params: [D, r0, rows],
    grid: [ceilDiv(D, WG), T, 1],
  });
}

export function rmsnorm(ctx: GpuContext, what: string, out: GPUBuffer, x: GPUBuffer, w: GPUBuffer, dtype: GpuDType, T: number, D: number, eps: number): void {
  rowsOk(what, T);
  ctx.dispatch({
    what,
    kernel: { files: [wloadFile(dtype), 'rmsnorm'], header: { WG } },
    buffers: { 1: w, 2: x, 3: out },
    params: [D, { f: eps }],
    grid: [T, 1, 1],
  });
}

/**
 * rmsnorm of T short-count rows over ceil(D / 4·WG) workgroups each (rmsnorm1.wgsl); D % 4 == 0, f32
 * weight. sg: the device's fixed subgroup size (0: the sum reduced through workgroup memory).
 */
export function rmsnormWide(ctx: GpuContext, what: string, out: GPUBuffer, x: GPUBuffer, w: GPUBuffer, T: number, D: number, eps: number, sg: number): void {
  rowsOk(what, T);
  if (D % 4 !== 0) throw new Error(`${what}: rmsnormWide needs D % 4 == 0, got ${D}`);
  const kernel: KernelSpec =
    sg > 0 && WG % sg === 0
      ? { files: ['gemv_reduce_subgroup', 'rmsnorm1'], header: { WG, TPR: WG, SG: sg }, enable: ['subgroups'] }
      : { files: ['gemv_reduce_shared', 'rmsnorm1'], header: { WG, TPR: WG } };
  ctx.dispatch({
    what,
    kernel,
    buffers: { 1: w, 2: x, 3: out },
    params: [D, { f: eps }],
    grid: [ceilDiv(D / 4, WG), T, 1],
  });
}

export function rope(ctx: GpuContext, what: string, x: GPUBuffer, cos: GPUBuffer, sin: GPUBuffer, T: number, C: number, half: number, pos0: number): void {
  rowsOk(what, T);
  ctx.dispatch({
    what,
    kernel: { files: ['rope'], header: { WG } },
    buffers: { 1: x, 2: cos, 3: sin },
    params: [C, half, pos0],
    grid: [ceilDiv(C / 2, WG), T, 1],
  });
}

export function nll(ctx: GpuContext, what: string, out: GPUBuffer, logits: GPUBuffer, targets: GPUBuffer, T: number, V: number): void {
  rowsOk(what, T);
  ctx.dispatch({ what, kernel: { files: ['nll'], header: { WG } }, buffers: { 1: logits, 2: targets, 3: out }, params: [V], grid: [T, 1, 1] });
}

/** out[t] = (KL(softmax p[t] ‖ softmax q[t]), argmax agreement).  out: [T, 2], p, q: [T, V]. */
export function kl(ctx: GpuContext, what: string, out: GPUBuffer, p: GPUBuffer, q: GPUBuffer, T: number, V: number): void {
  rowsOk(what, T);
  ctx.dispatch({ what, kernel: { files: ['kl'], header: { WG } }, buffers: { 1: p, 2: q, 3: out }, params: [V], grid: [T, 1, 1] });
}

/** h += scale · xᵀx.  h: [K, K], x: [T, K]. */
export function gram(ctx: GpuContext, what: string, h: GPUBuffer, x: GPUBuffer, T: number, K: number, scale: number): void {
  const TILE = 16;
  ctx.dispatch({ what, kernel: { files: ['gram'], header: { TILE } }, buffers: { 1: x, 2: h }, params: [T, K, { f: scale }], grid: [ceilDiv(K, TILE), ceilDiv(K, TILE), 1] });
}
