/**
 * SpQR's min-max grid (Vahe1994/SpQR `quant_groups.py`, round_zero=False):
 * the range is [min x, max x] (0 is *not* forced inside, unlike gptq), the
 * zero point is continuous, and code = clamp(round(x / max(scale, 1e-9) + zero),
 * 0, 2^b − 1), x̂ = scale · (code − zero). SpQR uses it for the weights (with
 * quantized statistics), for its first-level statistics, and for the
 * leave-one-out outlier test. f32 arithmetic as the reference's tensors;
 * rounding is half-to-even (torch.round).
 */
import { f16ToF32, f32ToF16 } from '../../tensor/dtype.js';
import { maxCode, roundHalfEven, storeScaleF16 } from './uniform.js';

/** One row's parameters: f32 values, scale > 0 unless a degenerate stat grid produced otherwise. */
export interface AffineParams {
  readonly scale: number;
  readonly zero: number;
}

const EPS = Math.fround(1e-9);

/** Fits [min x, max x] with b-bit codes; a constant x gets the range [−1, +1]. x: one row, length ≥ 1. */
export function fitAffine(x: ArrayLike<number>, bits: number): AffineParams {
  if (x.length === 0) throw new Error('fitAffine: empty row');
  let xmin = Infinity;
  let xmax = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i] as number);
    if (v < xmin) xmin = v;
    if (v > xmax) xmax = v;
  }
  if (xmin === xmax) {
    xmin = -1;
    xmax = 1;
  }
  const scale = Math.fround(Math.fround(xmax - xmin) / maxCode(bits));
  return { scale, zero: Math.fround(-xmin / scale) };
}

/** Code of x: clamp(round(x / max(scale, 1e-9) + zero), 0, maxq), in f32 arithmetic. */
export function quantizeAffine(x: number, scale: number, zero: number, maxq: number): number {
  const q = roundHalfEven(Math.fround(Math.fround(Math.fround(x) / Math.max(scale, EPS)) + zero));
  return q <= 0 ? 0 : q > maxq ? maxq : q; // `<=` also turns −0 into 0
}

/** x̂ = scale · (code − zero), f32 arithmetic (two roundings, as the reference). */
export function dequantizeAffine(code: number, scale: number, zero: number): number {
  return Math.fround(scale * Math.fround(code - zero));
}

/**
 * SpQR's second-level (scale, zero): the min-max fit, rounded to fp16. If the
 * zero (−min/scale) overflows fp16, the chunk's range is tiny next to its
 * offset; the step then widens to |min|/60000 so the zero fits (still covering
 * the range). x: one chunk of first-level stats [≤ β2].
 */
export function fitAffineF16(x: ArrayLike<number>, bits: number): AffineParams {
  const p = fitAffine(x, bits);
  const zero = f16ToF32(f32ToF16(p.zero));
  if (Number.isFinite(zero)) return { scale: storeScaleF16(p.scale), zero };
  let xmin = Infinity;
  for (let i = 0; i < x.length; i++) xmin = Math.min(xmin, x[i] as number);
  const scale = storeScaleF16(Math.abs(xmin) / 60000);
  return { scale, zero: f16ToF32(f32ToF16(Math.fround(-xmin / scale))) };
}

/**
 * SpQR's leave-one-out test for one row of a group: how much the group's
 * H-weighted squared error drops when weight k is left out of the fit (and
 * not quantized).  row, d: [gw] (d = diag of the inverse-Hessian factor) → reduction [gw].
 */
export function affineLooReduction(row: Float32Array, d: ArrayLike<number>, bits: number): Float64Array {
  const gw = row.length;
  const maxq = maxCode(bits);
  const sqErr = (p: AffineParams, skip: number): number => {
    let e = 0;
    for (let c = 0; c < gw; c++) {
      if (c === skip) continue;
      const v = row[c] as number;
      e += ((dequantizeAffine(quantizeAffine(v, p.scale, p.zero, maxq), p.scale, p.zero) - v) / (d[c] as number)) ** 2;
    }
    return e;
  };
  const base = sqErr(fitAffine(row, bits), -1);
  const red = new Float64Array(gw);
  const others = new Float32Array(gw - 1);
  for (let k = 0; k < gw; k++) {
    for (let c = 0, o = 0; c < gw; c++) if (c !== k) others[o++] = row[c] as number;
    red[k] = base - sqErr(fitAffine(others, bits), k);
  }
  return red;
}

/**
 * SpQR's outlier-aware first-level fit of one row of a group: weights whose
 * leave-one-out reduction exceeds tauAbs are replaced (in `row`, which is
 * modified) by the f32 mean of the others before the min-max fit. tauAbs =
 * Infinity or a row of one weight: the plain fit.  row, d: [gw].
 */
export function fitAffineOutlierAware(row: Float32Array, d: ArrayLike<number>, bits: number, tauAbs: number): AffineParams {
  if (tauAbs !== Infinity && row.length >= 2) {
    const red = affineLooReduction(row, d, bits);
    const likely = (c: number): boolean => (red[c] as number) > tauAbs;
    let sum = 0;
    let n = 0;
    for (let c = 0; c < row.length; c++) {
      if (likely(c)) continue;
      sum += row[c] as number;
      n++;
    }
    const mean = Math.fround(Math.fround(sum) / Math.max(n, 1));
    for (let c = 0; c < row.length; c++) if (likely(c)) row[c] = mean;
  }
  return fitAffine(row, bits);
}
