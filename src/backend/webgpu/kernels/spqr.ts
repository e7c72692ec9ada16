/**
 * Launcher of the SpQR block (Backend.spqrBlock): per group of the block,
 * spqr_fit (first-level stats, outlier-aware) then spqr_cols (bilevel stats,
 * the group's columns, outliers, in-block propagation), and at the end the lazy
 * batch update as a linalg_gemm. One thread per output row; f32, one buffer per operand.
 */
import type { SpqrBlockParams } from '../../backend.js';
import type { GpuContext } from '../context.js';
import { ceilDiv, MAX_GROUPS } from './common.js';
import { gemmSub } from './linalg.js';

const WG = 64;
/** Largest f32 below +∞: τ_abs beyond it tests like +∞ (no weight's e² exceeds it). */
const F32_MAX = 3.4028234663852886e38;

export interface SpqrBlockCall {
  readonly what: string;
  readonly wt: GPUBuffer;
  readonly u: GPUBuffer;
  readonly fit: GPUBuffer;
  readonly grid: GPUBuffer;
  readonly stats: GPUBuffer;
  readonly wHat: GPUBuffer;
  readonly codes: GPUBuffer;
  readonly err: GPUBuffer;
  readonly n: number;
  readonly out: number;
  readonly p: SpqrBlockParams;
}

export function spqrBlock(ctx: GpuContext, c: SpqrBlockCall, dummy: GPUBuffer): void {
  const grid: [number, number, number] = [ceilDiv(c.out, WG), 1, 1];
  if (grid[0] > MAX_GROUPS) throw new Error(`${c.what}: ${c.out} rows exceed ${MAX_GROUPS} workgroups of ${WG}`);
  const { n, out, p } = c;
  const outliers = p.tauAbs !== Infinity && out >= 2;
  const tau = { f: Math.min(p.tauAbs, F32_MAX) };
  const header = { WG, OUTLIERS: outliers };
  const nStat = Math.ceil(out / p.qqGroup);
  for (let j0 = p.i1; j0 < p.i2; j0 += p.groupSize) {
    const gw = Math.min(n, j0 + p.groupSize) - j0;
    const gi = j0 / p.groupSize;
    ctx.dispatch({
      what: `${c.what} (fit group ${gi})`,
      kernel: { files: ['spqr_grid', 'spqr_fit'], header },
      buffers: { 1: c.wt, 2: c.u, 3: c.fit },
      params: [n, out, j0, gw, { f: 2 ** p.bits - 1 }, tau],
      grid,
    });
    ctx.dispatch({
      what: `${c.what} (columns of group ${gi})`,
      kernel: { files: ['spqr_grid', 'f16_bits', 'spqr_cols'], header },
      buffers: { 1: c.wt, 2: c.u, 3: c.fit, 4: c.grid, 5: c.stats, 6: c.wHat, 7: c.codes, 8: c.err },
      params: [n, out, p.i1, p.i2, j0, gw, gi, p.qqGroup, nStat, { f: 2 ** p.bits - 1 }, { f: 2 ** p.qqBits - 1 }, tau],
      grid,
    });
  }
  gemmSub(ctx, {
    what: `${c.what} (lazy update)`,
    M: n - p.i2,
    N: out,
    K: p.i2 - p.i1,
    a: { buf: c.u, off: p.i1 * n + p.i2, ld: n, trans: true },
    b: { buf: c.err, off: 0, ld: out },
    c: { buf: c.wt, off: p.i2 * out, ld: out },
    alpha: -1,
  }, dummy);
}
