/**
 * matmul launcher: out = x·Wᵀ (+ bias) over each row chunk of W.
 *
 * T ≤ gemvMaxT (decode): gemv.wgsl, memory-bound, RW rows per workgroup and TPR
 * threads per row, reduced with subgroupAdd when the device has subgroups of
 * one fixed size. Larger T: gemm.wgsl, block tiles BM×BN with TM×TN register
 * tiles (the small variant below `largeMinT`, which wastes less on short T).
 * Every tile parameter is a header constant, so a sweep can try others
 * (`WebGpuBackendOptions.matmul`) and each variant has its own pipeline key.
 */
import type { GpuContext, KernelSpec } from '../context.js';
import type { GpuDType } from '../tensor.js';
import { ceilDiv, MAX_GROUPS, wloadFile } from './common.js';

export interface GemmTiles {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
}

export interface GemvTiles {
  /** Weight rows per workgroup. */
  readonly RW: number;
  /** Threads per row (a power of two). */
  readonly TPR: number;
}

export interface MatmulTuning {
  readonly gemmLarge: GemmTiles;
  readonly gemmSmall: GemmTiles;
  /** T at which the large GEMM tiles start. */
  readonly largeMinT: number;
  readonly gemv: GemvTiles;
  /** Largest T that takes the GEMV path (also the size of its per-token accumulator). */
  readonly gemvMaxT: number;
}

export const DEFAULT_MATMUL: MatmulTuning = {
  gemmLarge: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  gemmSmall: { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 },
  largeMinT: 256,
  gemv: { RW: 8, TPR: 32 },
  gemvMaxT: 8,
};

export interface MatmulDevice {
  /** Fixed subgroup size when the device has subgroups of one size, else 0 (shared-memory reduction). */
  readonly subgroupSize: number;
}

export interface MatmulCall {
  readonly what: string;
  readonly out: GPUBuffer;
  readonly x: GPUBuffer;
  readonly w: GPUBuffer;
  readonly wDtype: GpuDType;
  /** f32 bias of all M rows, or undefined. */
  readonly bias: GPUBuffer | undefined;
  readonly T: number;
  readonly K: number;
  /** Columns of out (all of W's rows). */
  readonly M: number;
  /** This chunk: W rows m0 … m0 + rows − 1. */
  readonly m0: number;
  readonly rows: number;
}

export function gemmTilesFor(T: number, t: MatmulTuning): GemmTiles {
  return T >= t.largeMinT ? t.gemmLarge : t.gemmSmall;
}

export function gemmKernel(c: Pick<MatmulCall, 'wDtype' | 'K'>, tiles: GemmTiles, hasBias: boolean): KernelSpec {
  const { BM, BN, BK, TM, TN } = tiles;
  const WG = (BM / TM) * (BN / TN);
  if (TM % 4 !== 0 || TN % 4 !== 0 || BK % 4 !== 0 || BM % TM !== 0 || BN % TN !== 0) {
    throw new Error(`gemm tiles ${BM}×${BN}×${BK}/${TM}×${TN}: TM, TN, BK must be multiples of 4 dividing BM, BN`);
  }
  return { files: [wloadFile(c.wDtype), 'gemm'], header: { BM, BN, BK, TM, TN, WG, ALIGNED: c.K % 4 === 0, HAS_BIAS: hasBias } };
}

export function gemvKernel(c: Pick<MatmulCall, 'wDtype' | 'K'>, t: MatmulTuning, dev: MatmulDevice, hasBias: boolean): KernelSpec {
  const { RW, TPR } = t.gemv;
  const WG = RW * TPR;
  const header = { RW, TPR, WG, MAXT: t.gemvMaxT, ALIGNED: c.K % 8 === 0, HAS_BIAS: hasBias };
  const sg = dev.subgroupSize;
  if (sg > 0 && TPR % sg === 0) {
    return { files: [wloadFile(c.wDtype), 'gemv_reduce_subgroup', 'gemv'], header: { ...header, SG: sg }, enable: ['subgroups'] };
  }
  return { files: [wloadFile(c.wDtype), 'gemv_reduce_shared', 'gemv'], header };
}

export function matmul(ctx: GpuContext, c: MatmulCall, t: MatmulTuning, dev: MatmulDevice, dummy: GPUBuffer): void {
  const params = [c.T, c.K, c.M, c.m0, c.rows];
  const buffers = { 1: c.w, 2: c.x, 3: c.out, 4: c.bias ?? dummy };
  if (c.T <= t.gemvMaxT) {
    const groups = ceilDiv(c.rows, t.gemv.RW);
    if (groups > MAX_GROUPS) throw new Error(`${c.what}: ${c.rows} weight rows need ${groups} workgroups, more than ${MAX_GROUPS}`);
    ctx.dispatch({ what: c.what, kernel: gemvKernel(c, t, dev, c.bias !== undefined), buffers, params, grid: [groups, 1, 1] });
    return;
  }
  const tiles = gemmTilesFor(c.T, t);
  const grid: [number, number, number] = [ceilDiv(c.rows, tiles.BN), ceilDiv(c.T, tiles.BM), 1];
  if (grid[0] > MAX_GROUPS || grid[1] > MAX_GROUPS) throw new Error(`${c.what}: grid ${grid.join('×')} exceeds ${MAX_GROUPS} workgroups per dimension`);
  ctx.dispatch({ what: c.what, kernel: gemmKernel(c, tiles, c.bias !== undefined), buffers, params, grid });
}
