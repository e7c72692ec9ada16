/**
 * The uniform integer grid of GPTQ (IST-DASLab/gptq `quant.py`), 2–8 bits.
 *
 * One (scale, zero) per row of a group: code = clamp(round(x / scale) + zero,
 * 0, 2^b − 1), x̂ = scale · (code − zero). Rounding is round-half-to-even, as
 * `torch.round`. Arithmetic mirrors the reference's f32 tensors (Math.fround at
 * each step), with one deliberate addition: the scale is stored in fp16, so it
 * is rounded to f16 where it is fitted and every code is computed against the
 * stored value. x̂ = scale · (code − zero) is then exact in f32 (an 11-bit
 * mantissa times an integer below 2^9), so any f32 decoder reproduces it.
 */
import { f16ToF32, f32ToF16 } from '../../tensor/dtype.js';

export type ClipMode = 'minmax' | 'mse';

/** How a row of a group is fitted. Defaults in UNIFORM_GRID_DEFAULTS. */
export interface UniformGridConfig {
  /** Code width b, 2–8; codes lie in [0, 2^b − 1]. Default 4. */
  readonly bits: number;
  /** Symmetric grid (zero = 2^(b−1), range ±max|x|) instead of asymmetric min-max. Default false. */
  readonly sym: boolean;
  /**
   * 'minmax', or 'mse': try the ranges p·[xmin, xmax] for p = 1 − i/mseGrid,
   * i < floor(mseMaxShrink·mseGrid), and keep the lowest Σ|x̂ − x|^mseNorm
   * (first wins ties; i = 0 is min-max). Default 'minmax'.
   */
  readonly clip: ClipMode;
  /** Shrink steps per unit range (gptq `grid`). Default 100. */
  readonly mseGrid: number;
  /** Fraction of the range the search may remove (gptq `maxshrink`). Default 0.8. */
  readonly mseMaxShrink: number;
  /** Exponent of the clipping error (gptq `norm`). Default 2.4. */
  readonly mseNorm: number;
}

export const UNIFORM_GRID_DEFAULTS: UniformGridConfig = Object.freeze({
  bits: 4,
  sym: false,
  clip: 'minmax',
  mseGrid: 100,
  mseMaxShrink: 0.8,
  mseNorm: 2.4,
});

/** One row's grid parameters. */
export interface UniformParams {
  /** Step, an exact f16 value > 0. */
  readonly scale: number;
  /** Integer zero point in [0, 2^b − 1]. */
  readonly zero: number;
}

/** Largest code for b bits. */
export const maxCode = (bits: number): number => 2 ** bits - 1;

/** Round to nearest integer, ties to even (torch.round, numpy.round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Rounds a positive f32 scale to the f16 it is stored as; underflow goes to the smallest f16 subnormal. */
export function storeScaleF16(scale: number): number {
  const s = f16ToF32(f32ToF16(scale));
  if (!Number.isFinite(s)) throw new Error(`grid scale ${scale} overflows fp16 (|w| above ~1e6?)`);
  return s > 0 ? s : 2 ** -24;
}

/** Code of x: clamp(round(x / scale) + zero, 0, maxq), in f32 arithmetic. */
export function quantizeUniform(x: number, scale: number, zero: number, maxq: number): number {
  const q = roundHalfEven(Math.fround(Math.fround(x) / scale)) + zero;
  return q <= 0 ? 0 : q > maxq ? maxq : q; // `<=` also turns −0 into 0
}

/** x̂ = scale · (code − zero), an f32. */
export function dequantizeUniform(code: number, scale: number, zero: number): number {
  return Math.fround(scale * (code - zero));
}

function paramsFor(xmin: number, xmax: number, maxq: number, sym: boolean): UniformParams {
  const scale32 = Math.fround(Math.fround(xmax - xmin) / maxq);
  const zero = sym ? (maxq + 1) / 2 : roundHalfEven(Math.fround(-xmin / scale32)) + 0; // + 0: no −0
  return { scale: storeScaleF16(scale32), zero };
}

/** Σ |x̂ − x|^norm of x on a grid. */
function clipError(x: ArrayLike<number>, p: UniformParams, maxq: number, norm: number): number {
  let err = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i] as number);
    const d = Math.abs(dequantizeUniform(quantizeUniform(v, p.scale, p.zero, maxq), p.scale, p.zero) - v);
    err += d ** norm;
  }
  return err;
}

/**
 * Fits one row of a group (gptq `Quantizer.find_params`, perchannel): the range
 * is [min(x, 0), max(x, 0)]; symmetric makes it ±max|·| when it has a negative
 * part; an all-zero row gets [−1, +1]. x: the row's values in the group.
 */
export function fitUniform(x: ArrayLike<number>, cfg: UniformGridConfig): UniformParams {
  const maxq = maxCode(cfg.bits);
  let xmin = 0;
  let xmax = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i] as number);
    if (v < xmin) xmin = v;
    if (v > xmax) xmax = v;
  }
  if (cfg.sym) {
    xmax = Math.max(-xmin, xmax);
    if (xmin < 0) xmin = -xmax;
  }
  if (xmin === 0 && xmax === 0) {
    xmin = -1;
    xmax = 1;
  }
  const minmax = paramsFor(xmin, xmax, maxq, cfg.sym);
  if (cfg.clip === 'minmax') return minmax;

  let best = minmax;
  let bestErr = Infinity;
  const steps = Math.floor(cfg.mseMaxShrink * cfg.mseGrid);
  for (let i = 0; i < steps; i++) {
    const p = Math.fround(1 - i / cfg.mseGrid); // i = 0 is min-max itself
    const cand = paramsFor(Math.fround(p * xmin), Math.fround(p * xmax), maxq, cfg.sym);
    const err = clipError(x, cand, maxq, cfg.mseNorm);
    if (err < bestErr) {
      bestErr = err;
      best = cand;
    }
  }
  return best;
}

/** Throws unless the grid config is usable. */
export function checkUniformGrid(cfg: UniformGridConfig): void {
  if (!Number.isInteger(cfg.bits) || cfg.bits < 2 || cfg.bits > 8) throw new Error(`grid bits must be 2–8, got ${cfg.bits}`);
  if (cfg.clip === 'mse' && !(cfg.mseGrid > 0 && cfg.mseMaxShrink > 0 && cfg.mseMaxShrink < 1 && cfg.mseNorm > 0)) {
    throw new Error(`mse clipping needs mseGrid > 0, 0 < mseMaxShrink < 1, mseNorm > 0`);
  }
}
