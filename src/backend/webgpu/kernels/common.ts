/** Shared launcher helpers: weight-access snippets and 1-D grids that respect the 65535-workgroup limit. */
import type { GpuDType } from '../tensor.js';
import type { WgslName } from './wgsl.gen.js';

export const MAX_GROUPS = 65535;

/** The wload_* file that gives kernels `w_load1`/`w_load4` for a weight dtype. */
export function wloadFile(dtype: GpuDType): WgslName {
  if (dtype === 'bf16') return 'wload_bf16';
  if (dtype === 'f16') return 'wload_f16';
  if (dtype === 'f32') return 'wload_f32';
  throw new Error(`no weight access for dtype ${dtype}`);
}

/** A 2-D grid covering n invocations of `wg`-sized workgroups: kernels index i = gid.x + gid.y · stride. */
export function grid1d(n: number, wg: number): { grid: [number, number, number]; stride: number } {
  const groups = Math.ceil(n / wg);
  const x = Math.max(1, Math.min(groups, MAX_GROUPS));
  const y = Math.ceil(groups / x);
  return { grid: [groups === 0 ? 0 : x, y, 1], stride: x * wg };
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
