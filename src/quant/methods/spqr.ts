/**
 * SpQR (Dettmers, Svirschevski, Egiazarian et al.; ICLR 2024), Algorithm 1,
 * as in Vahe1994/SpQR `SPQRUtil.quantize`: GPTQ over act-ordered columns with
 * small groups of β1 columns whose (scale, zero) are themselves quantized to
 * qqBits in groups of β2 rows (bilevel statistics), plus unstructured outliers
 * kept in fp16, chosen by a leave-one-out test and the threshold τ.
 *
 * Numerics: H, its factor and the working weights are f64; grids are SpQR's
 * f32 min-max grids (formats/grids/affine.ts). Deliberate differences from the
 * reference, each so that Ŵ equals what the packed format decodes:
 * - second-level (scale, zero) are rounded to fp16 where they are fitted (the
 *   reference fits in f32 and rounds only when saving);
 * - an outlier stores the fp16 residual v = f16(f32(w) − dense) on top of the
 *   dense code of 0 (the reference keeps w in f32 and saves fp16(w)), so
 *   Ŵ = f32(dense + v); its error still propagates like any other column's;
 * - groups never straddle a block (blocks are cut at group starts, as in gptq.ts);
 * - β2 need not divide out: the last chunk of rows is shorter;
 * - a chunk whose fp16 zero would overflow gets a wider scale (see affine.ts fitAffineF16).
 */
import { dequantizeAffine, fitAffineF16, fitAffineOutlierAware, quantizeAffine } from '../../formats/grids/affine.js';
import { maxCode } from '../../formats/grids/uniform.js';
import type { OutlierCsr } from '../../formats/types.js';
import { f16ToF32, f32ToF16 } from '../../tensor/dtype.js';
import type { HostTensor } from '../../tensor/tensor.js';
import { inverseHessianFactor } from '../linalg.js';
import { actOrder, checkInt, hessianF64, layerDims, layerError, permuteColumns, permuteSymmetric, resolveConfig } from '../layer.js';
import { SPQR_DEFAULTS, type LayerStats, type MethodOptions, type QuantResult, type SpqrConfig } from '../types.js';

/**
 * The reference's `get_average_number_of_bits` (round_zero = False, 16-bit
 * second-level stats): b_w + (b_s + b_z)/β1 + 2·(16 + 16)/(β1·β2) + 32·r_outlier
 * (unrounded; the reference prints it rounded to 2 decimals).
 */
export const spqrAvgBits = (bits: number, qqBits: number, beta1: number, beta2: number, outlierShare: number): number =>
  bits + (2 * qqBits) / beta1 + (2 * (16 + 16)) / (beta1 * beta2) + 32 * outlierShare;

/** Throws on a config the method (and its backend engine) cannot run; inn: input columns of the layer. */
export function checkSpqrConfig(cfg: SpqrConfig, inn: number): void {
  for (const [k, lo, hi] of [['bits', 2, 8], ['qqBits', 2, 8]] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < lo || cfg[k] > hi) throw new Error(`spqr ${k} must be ${lo}–${hi}, got ${cfg[k]}`);
  }
  checkInt('spqr groupSize', cfg.groupSize, 1);
  checkInt('spqr qqGroup', cfg.qqGroup, 1);
  checkInt('spqr blockSize', cfg.blockSize, 1);
  if (!(cfg.percdamp >= 0)) throw new Error(`spqr percdamp must be ≥ 0, got ${cfg.percdamp}`);
  if (!(cfg.outlierThreshold >= 0)) throw new Error(`spqr outlierThreshold must be ≥ 0 (Infinity = none), got ${cfg.outlierThreshold}`);
  if (cfg.permutation !== 'act_order' && cfg.permutation !== 'identity') throw new Error(`spqr permutation: ${String(cfg.permutation)}`);
  if (inn > 65536) throw new Error(`spqr: in = ${inn} > 65536 does not fit the u16 outlier columns`);
}

/**
 * W: [out, in] f32; stats.H: [in, in].
 * Returns Ŵ [out, in] (original order) and, in act-order layout: codes [out, in],
 * dequantized stats scale/zero [nGroups, out], bilevel codes and fp16 stats, outliers (CSR).
 */
export function quantizeLayer(W: HostTensor<'f32'>, stats: LayerStats, opts: MethodOptions<SpqrConfig> = {}): QuantResult {
  const { out, inn } = layerDims('spqr', W, stats);
  const cfg = resolveConfig(SPQR_DEFAULTS, opts);
  checkSpqrConfig(cfg, inn);
  const beta1 = Math.min(cfg.groupSize, inn);
  const beta2 = Math.min(cfg.qqGroup, out);
  const nGroups = Math.ceil(inn / beta1);
  const nStat = Math.ceil(out / beta2);
  const maxq = maxCode(cfg.bits);
  const qqMax = maxCode(cfg.qqBits);

  // Permutation (act_order: decreasing diag H of the raw H), applied to W and H.
  let H: Float64Array = hessianF64(stats.H);
  const perm = cfg.permutation === 'act_order' ? actOrder(H, inn) : null;
  let Wl: Float64Array = Float64Array.from(W.data); // working weights [out, in], layout order
  if (perm !== null) {
    Wl = permuteColumns(Wl, out, inn, perm);
    H = permuteSymmetric(H, inn, perm);
  }

  // Damping λ = percdamp · mean|diag H|, then dead inputs: H_ii = 1, W[:, i] = 0 (the reference's order).
  let meanAbsDiag = 0;
  for (let i = 0; i < inn; i++) meanAbsDiag += Math.abs(H[i * inn + i] as number) / inn;
  for (let i = 0; i < inn; i++) {
    const dead = H[i * inn + i] === 0;
    H[i * inn + i] = dead ? 1 : (H[i * inn + i] as number) + cfg.percdamp * meanAbsDiag;
    if (dead) for (let r = 0; r < out; r++) Wl[r * inn + i] = 0;
  }
  const U = inverseHessianFactor(H, inn); // [in, in] upper, H⁻¹ = UᵀU
  const d = new Float64Array(inn).map((_, j) => U[j * inn + j] as number);

  // τ_abs = τ · mean_j(var_rows(W[:, j]) / U_jj²), unbiased variance over the output rows.
  let sensitivity = 0;
  for (let j = 0; j < inn; j++) {
    let mean = 0;
    for (let r = 0; r < out; r++) mean += Wl[r * inn + j] as number;
    mean /= out;
    let v = 0;
    for (let r = 0; r < out; r++) v += ((Wl[r * inn + j] as number) - mean) ** 2;
    sensitivity += v / (out - 1) / (d[j] as number) ** 2 / inn;
  }
  const tauAbs = out >= 2 && Number.isFinite(cfg.outlierThreshold) ? cfg.outlierThreshold * sensitivity : Infinity;

  const scale = new Float32Array(nGroups * out); // dequantized first-level stats [nGroups, out]
  const zero = new Float32Array(nGroups * out);
  const scaleCodes = new Uint8Array(nGroups * out);
  const zeroCodes = new Uint8Array(nGroups * out);
  const scaleStats = new Float32Array(nGroups * nStat * 2); // [nGroups, nStat, (scale, zero)]
  const zeroStats = new Float32Array(nGroups * nStat * 2);

  /** Fits group gi = columns [j, j + β1) of the current weights: outlier-aware first level, then bilevel. */
  const fitGroup = (j: number): void => {
    const gi = j / beta1;
    const gw = Math.min(inn, j + beta1) - j;
    const s1 = new Float32Array(out);
    const z1 = new Float32Array(out);
    const row = new Float32Array(gw);
    const dg = d.subarray(j, j + gw);
    for (let r = 0; r < out; r++) {
      for (let c = 0; c < gw; c++) row[c] = Wl[r * inn + j + c] as number; // f32, as the reference's tensors
      // likely outliers (leave-one-out reduction > τ_abs) are replaced by the mean of the others before the fit
      const p = fitAffineOutlierAware(row, dg, cfg.bits, tauAbs);
      s1[r] = p.scale;
      z1[r] = p.zero;
    }
    // Bilevel: each chunk of β2 rows' scales (and zeros) on its own qqBits grid with fp16 (scale, zero).
    for (let og = 0; og < nStat; og++) {
      const r0 = og * beta2;
      const r1 = Math.min(out, r0 + beta2);
      const ps = fitAffineF16(s1.subarray(r0, r1), cfg.qqBits);
      const pz = fitAffineF16(z1.subarray(r0, r1), cfg.qqBits);
      const k = 2 * (gi * nStat + og);
      [scaleStats[k], scaleStats[k + 1], zeroStats[k], zeroStats[k + 1]] = [ps.scale, ps.zero, pz.scale, pz.zero];
      for (let r = r0; r < r1; r++) {
        const qs = quantizeAffine(s1[r] as number, ps.scale, ps.zero, qqMax);
        const qz = quantizeAffine(z1[r] as number, pz.scale, pz.zero, qqMax);
        scaleCodes[gi * out + r] = qs;
        zeroCodes[gi * out + r] = qz;
        scale[gi * out + r] = dequantizeAffine(qs, ps.scale, ps.zero);
        zero[gi * out + r] = dequantizeAffine(qz, pz.scale, pz.zero);
      }
    }
  };

  const codes = new Uint8Array(out * inn); // layout order
  const What = new Float32Array(out * inn); // layout order
  const outCols: number[][] = Array.from({ length: out }, () => []);
  const outVals: number[][] = Array.from({ length: out }, () => []);
  const blockEnd = (i1: number): number => {
    const i2 = Math.min(i1 + cfg.blockSize, inn);
    if (i2 === inn) return i2;
    const lastStart = Math.floor((i2 - 1) / beta1) * beta1; // a group must not straddle the block end
    if (lastStart + beta1 <= i2) return i2;
    return lastStart > i1 ? lastStart : Math.min(i1 + beta1, inn);
  };

  for (let i1 = 0, i2 = 0; i1 < inn; i1 = i2) {
    i2 = blockEnd(i1);
    const count = i2 - i1;
    const E = new Float64Array(out * count); // scaled errors of this block [out, count]
    for (let j = i1; j < i2; j++) {
      if (j % beta1 === 0) fitGroup(j);
      const gi = Math.floor(j / beta1);
      const dj = d[j] as number;
      for (let r = 0; r < out; r++) {
        const s = scale[gi * out + r] as number;
        const z = zero[gi * out + r] as number;
        const row = r * inn;
        const w = Wl[row + j] as number;
        let q = quantizeAffine(w, s, z, maxq);
        let qhat = dequantizeAffine(q, s, z);
        let err = (w - qhat) / dj;
        if (err * err > tauAbs) {
          // Outlier: the dense part holds the code of 0, the fp16 residual the rest.
          q = quantizeAffine(0, s, z, maxq);
          const dense = dequantizeAffine(q, s, z);
          const v = f32ToF16(Math.fround(Math.fround(w) - dense));
          qhat = Math.fround(dense + f16ToF32(v));
          err = (w - qhat) / dj;
          (outCols[r] as number[]).push(j);
          (outVals[r] as number[]).push(v);
        }
        codes[row + j] = q;
        What[row + j] = qhat;
        E[r * count + (j - i1)] = err;
        const uj = j * inn;
        for (let k = j + 1; k < i2; k++) Wl[row + k] = (Wl[row + k] as number) - err * (U[uj + k] as number);
      }
    }
    if (i2 < inn) {
      for (let r = 0; r < out; r++) {
        const row = r * inn;
        for (let jj = 0; jj < count; jj++) {
          const err = E[r * count + jj] as number;
          if (err === 0) continue;
          const uj = (i1 + jj) * inn;
          for (let k = i2; k < inn; k++) Wl[row + k] = (Wl[row + k] as number) - err * (U[uj + k] as number);
        }
      }
    }
    opts.onProgress?.(i2, inn);
  }

  const rowPtr = new Uint32Array(out + 1);
  for (let r = 0; r < out; r++) rowPtr[r + 1] = (rowPtr[r] as number) + (outCols[r] as number[]).length;
  const outliers: OutlierCsr = { rowPtr, col: Uint16Array.from(outCols.flat()), value: Uint16Array.from(outVals.flat()) };
  const weight = new Float32Array(out * inn); // Ŵ in original column order
  for (let r = 0; r < out; r++) for (let j = 0; j < inn; j++) weight[r * inn + (perm === null ? j : (perm[j] as number))] = What[r * inn + j] as number;
  return {
    format: 'spqr',
    out,
    in: inn,
    weight,
    grid: { bits: cfg.bits, groupSize: beta1, codes, scale, zero, perm },
    bilevel: { bits: cfg.qqBits, groupSize: beta2, scaleCodes, zeroCodes, scaleStats, zeroStats },
    outliers,
    method: 'spqr',
    config: cfg,
    avgBits: spqrAvgBits(cfg.bits, cfg.qqBits, beta1, beta2, outliers.col.length / (out * inn)),
    error: layerError(W.data, weight, stats.H, out, inn),
  };
}
