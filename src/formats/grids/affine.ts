/**
 * SpQR's min-max grid (Vahe1994/SpQR `quant_groups.py`, round_zero=False):
 * the range is [min x, max x] (0 is *not* forced inside, unlike gptq), the
 * zero point is continuous, and code = clamp(round(x / max(scale, 1e-9) + zero),
 * 0, 2^b − 1), x̂ = scale · (code − zero). SpQR uses it for the weights (with
 * quantized statistics), for its first-level statistics, and for the
 * leave-one-out outlier test. f32 arithmetic as the reference's tensors;
 * rounding is half-to-even (torch.round).
 */
import { maxCode, roundHalfEven } from './uniform.js';

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
