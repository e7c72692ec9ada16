/**
 * Reference SpQR block (Backend.spqrBlock), plain loops over Float32Array in
 * the order of quant/methods/spqr.ts, with its grid functions
 * (formats/grids/affine.ts). Working values are stored as f32 (the kernel's
 * precision); the leave-one-out sums and the lazy update run in JS numbers.
 */
import { dequantizeAffine, fitAffineF16, fitAffineOutlierAware, quantizeAffine } from '../../formats/grids/affine.js';
import { maxCode } from '../../formats/grids/uniform.js';
import { f16ToF32, f32ToF16 } from '../../tensor/dtype.js';
import type { SpqrBlockParams } from '../backend.js';

export interface SpqrBlockArrays {
  readonly wt: Float32Array;
  readonly u: Float32Array;
  readonly fit: Float32Array;
  readonly grid: Float32Array;
  readonly stats: Float32Array;
  readonly what: Float32Array;
  readonly codes: Int32Array;
  readonly err: Float32Array;
}

/** A second-level scale that overflows fp16 is reported as −1 (the kernel's convention), not thrown. */
function fitStat(x: Float32Array, bits: number): { scale: number; zero: number } {
  try {
    return fitAffineF16(x, bits);
  } catch {
    return { scale: -1, zero: 0 };
  }
}

/** The first-level fit and bilevel stats of the group starting at layout column j (see Backend.spqrBlock). */
function fitGroup(t: SpqrBlockArrays, n: number, out: number, j: number, p: SpqrBlockParams): void {
  const { wt, u, fit, grid, stats } = t;
  const gi = j / p.groupSize;
  const gw = Math.min(n, j + p.groupSize) - j;
  const d = Float64Array.from({ length: gw }, (_, c) => u[(j + c) * n + j + c] as number);
  const row = new Float32Array(gw);
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < gw; c++) row[c] = wt[(j + c) * out + r] as number;
    const q = fitAffineOutlierAware(row, d, p.bits, p.tauAbs);
    fit[r] = q.scale;
    fit[out + r] = q.zero;
  }
  const nStat = Math.ceil(out / p.qqGroup);
  const qqMax = maxCode(p.qqBits);
  for (let og = 0; og < nStat; og++) {
    const r0 = og * p.qqGroup;
    const r1 = Math.min(out, r0 + p.qqGroup);
    const ps = fitStat(fit.subarray(r0, r1), p.qqBits);
    const pz = fitStat(fit.subarray(out + r0, out + r1), p.qqBits);
    stats.set([ps.scale, ps.zero, pz.scale, pz.zero], (gi * nStat + og) * 4);
    for (let r = r0; r < r1; r++) {
      const qs = quantizeAffine(fit[r] as number, ps.scale, ps.zero, qqMax);
      const qz = quantizeAffine(fit[out + r] as number, pz.scale, pz.zero, qqMax);
      const g = gi * 4 * out + r;
      grid[g] = dequantizeAffine(qs, ps.scale, ps.zero);
      grid[g + out] = dequantizeAffine(qz, pz.scale, pz.zero);
      grid[g + 2 * out] = qs;
      grid[g + 3 * out] = qz;
    }
  }
}

/** Backend.spqrBlock on arrays (see backend.ts).  wt: [n, out], u: [n, n], what/codes: [out, n], err: [≥ i2 − i1, out]. */
export function spqrBlock(t: SpqrBlockArrays, n: number, out: number, p: SpqrBlockParams): void {
  const { i1, i2, groupSize: g, tauAbs } = p;
  const { wt, u, grid } = t;
  const maxq = maxCode(p.bits);
  for (let j = i1; j < i2; j++) {
    if (j % g === 0) fitGroup(t, n, out, j, p);
    const gr = Math.floor(j / g) * 4 * out;
    const dj = u[j * n + j] as number;
    for (let r = 0; r < out; r++) {
      const s = grid[gr + r] as number;
      const z = grid[gr + out + r] as number;
      const w = wt[j * out + r] as number;
      let q = quantizeAffine(w, s, z, maxq);
      let qhat = dequantizeAffine(q, s, z);
      let e = Math.fround((w - qhat) / dj);
      let flags = 0;
      if (e * e > tauAbs) {
        // outlier: the code of 0 plus the fp16 residual
        q = quantizeAffine(0, s, z, maxq);
        const dense = dequantizeAffine(q, s, z);
        const v = f32ToF16(Math.fround(w - dense));
        qhat = Math.fround(dense + f16ToF32(v));
        e = Math.fround((w - qhat) / dj);
        flags = 0x100 | (v << 16);
      }
      t.what[r * n + j] = qhat;
      t.codes[r * n + j] = q | flags;
      t.err[(j - i1) * out + r] = e;
      for (let k = j + 1; k < i2; k++) wt[k * out + r] = (wt[k * out + r] as number) - e * (u[j * n + k] as number);
    }
  }
  // the lazy batch update: wt[i2:, :] −= U[i1:i2, i2:]ᵀ · err
  const acc = new Float64Array(out);
  for (let k = i2; k < n; k++) {
    acc.fill(0);
    for (let jj = 0; jj < i2 - i1; jj++) {
      const ujk = u[(i1 + jj) * n + k] as number;
      if (ujk === 0) continue;
      for (let r = 0; r < out; r++) acc[r] = (acc[r] as number) + (t.err[jj * out + r] as number) * ujk;
    }
    for (let r = 0; r < out; r++) wt[k * out + r] = (wt[k * out + r] as number) - (acc[r] as number);
  }
}
