/** siluMul, add (out-of-place and in place) and widen: one invocation per element. */
import type { GpuContext } from '../context.js';
import { grid1d, wloadFile } from './common.js';
import type { GpuDType } from '../tensor.js';

const WG = 256;

/**
 * out = silu(gate) · up over n elements; with `halves` = K > 0, gate and up are
 * the halves of each 2K-float row of one buffer (pass it as both), and `place`
 * may put row t's K results at columns col0 … of a row of ldo floats, added (acc) or not.
 */
export function siluMul(
  ctx: GpuContext,
  what: string,
  out: GPUBuffer,
  gate: GPUBuffer,
  up: GPUBuffer,
  n: number,
  halves = 0,
  place: { ldo: number; col0: number; acc: boolean } = { ldo: halves, col0: 0, acc: false },
): void {
  const { grid, stride } = grid1d(n, WG);
  const params = [n, stride, halves, place.ldo, place.col0];
  ctx.dispatch({ what, kernel: { files: ['silu_mul'], header: { WG, ACC: place.acc } }, buffers: { 1: gate, 2: up, 3: out }, params, grid });
}

/** out = a + b over n elements; out may alias a or b (or both). */
export function add(ctx: GpuContext, what: string, out: GPUBuffer, a: GPUBuffer, b: GPUBuffer, n: number): void {
  const { grid, stride } = grid1d(n, WG);
  if (out !== a && out !== b) {
    ctx.dispatch({ what, kernel: { files: ['add'], header: { WG } }, buffers: { 1: a, 2: b, 3: out }, params: [n, stride], grid });
    return;
  }
  const other = out === a ? b : a;
  if (other === out) {
    // out = out + out: add a copy of it
    const tmp = ctx.device.createBuffer({ label: 'add tmp', size: out.size, usage: 0x80 | 0x04 | 0x08 });
    ctx.copy(`${what} (copy)`, out, 0, tmp, 0, out.size);
    ctx.dispatch({ what, kernel: { files: ['add_inplace'], header: { WG } }, buffers: { 1: out, 2: tmp }, params: [n, stride], grid });
    return;
  }
  ctx.dispatch({ what, kernel: { files: ['add_inplace'], header: { WG } }, buffers: { 1: out, 2: other }, params: [n, stride], grid });
}

/** out (f32) = w widened, over n elements. */
export function widen(ctx: GpuContext, what: string, out: GPUBuffer, w: GPUBuffer, dtype: GpuDType, n: number): void {
  const { grid, stride } = grid1d(n, WG);
  ctx.dispatch({ what, kernel: { files: [wloadFile(dtype), 'widen'], header: { WG } }, buffers: { 1: w, 2: out }, params: [n, stride], grid });
}

/** dst = src as vec4s over n4 vec4s (the copy-bandwidth probe). */
export function copyVec4(ctx: GpuContext, what: string, dst: GPUBuffer, src: GPUBuffer, n4: number): void {
  const { grid, stride } = grid1d(n4, WG);
  ctx.dispatch({ what, kernel: { files: ['copy_vec4'], header: { WG } }, buffers: { 1: src, 2: dst }, params: [n4, stride], grid });
}

/** Uniform values in [−scale, scale) from a hash of (seed, word), for benchmark weights; `words` u32 words. */
export function fillRandom(ctx: GpuContext, what: string, buf: GPUBuffer, dtype: GpuDType, words: number, seed: number, scale: number): void {
  const { grid, stride } = grid1d(words, WG);
  const header = { WG, PACKED: dtype === 'bf16' || dtype === 'f16', BF16: dtype === 'bf16' };
  ctx.dispatch({ what, kernel: { files: ['fill_random'], header }, buffers: { 1: buf }, params: [words, stride, seed, { f: scale }], grid });
}
