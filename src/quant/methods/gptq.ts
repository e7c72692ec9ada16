/**
 * GPTQ (Frantar, Ashkboos, Hoefler, Alistarh; ICLR 2023), Algorithm 1, as in
 * IST-DASLab/gptq `GPTQ.fasterquant`: columns are quantized one at a time and
 * each one's error, scaled by the inverse Hessian's Cholesky factor, is pushed
 * onto the columns not yet quantized; lazy batches of `blockSize` columns.
 *
 * Numerics: H, its factor and the working weights are f64; codes and Ŵ come
 * from the uniform grid (formats/grids/uniform.ts), so Ŵ is exactly what the
 * int format decodes. One deliberate difference from gptq.py: with groups
 * fitted on the fly, a group is fitted on the *fully* updated weights (gptq
 * reads W, which misses the in-block updates, whenever a group starts inside
 * a block, i.e. when groupSize does not divide blockSize); blocks are cut at
 * group starts so that every group lies in one block. The result then does
 * not depend on blockSize, and equals gptq's whenever groupSize divides it.
 */
import { intFormatFor } from '../../formats/index.js';
import { checkUniformGrid, dequantizeUniform, fitUniform, maxCode, quantizeUniform, type UniformParams } from '../../formats/grids/uniform.js';
import type { HostTensor } from '../../tensor/tensor.js';
import { inverseHessianFactor } from '../linalg.js';
import { actOrder, checkInt, hessianF64, layerDims, layerError, permuteColumns, permuteSymmetric, resolveConfig, unpermuteCodes } from '../layer.js';
import { GPTQ_DEFAULTS, type GptqConfig, type LayerStats, type MethodOptions, type QuantResult } from '../types.js';
import { intAvgBits } from './rtn.js';

/**
 * W: [out, in] f32; stats.H: [in, in].
 * Returns Ŵ [out, in], codes [out, in] and scale/zero [nGroups, out]; codes and
 * groups are in original column order unless act-order fitted groups on the
 * fly, in which case they are in act-order and `grid.perm` says so.
 */
export function quantizeLayer(W: HostTensor<'f32'>, stats: LayerStats, opts: MethodOptions<GptqConfig> = {}): QuantResult {
  const { out, inn } = layerDims('gptq', W, stats);
  const cfg = resolveConfig(GPTQ_DEFAULTS, opts);
  checkUniformGrid(cfg);
  checkInt('gptq groupSize', cfg.groupSize, 0);
  checkInt('gptq blockSize', cfg.blockSize, 1);
  if (!(cfg.percdamp >= 0)) throw new Error(`gptq percdamp must be ≥ 0, got ${cfg.percdamp}`);
  const perChannel = cfg.groupSize === 0;
  const g = perChannel ? inn : Math.min(cfg.groupSize, inn);
  const nGroups = Math.ceil(inn / g);
  const onTheFly = !perChannel && !cfg.staticGroups; // group params fitted when the loop reaches them
  const maxq = maxCode(cfg.bits);
  const scale = new Float32Array(nGroups * out); // [nGroups, out]
  const zero = new Float32Array(nGroups * out);
  const setParams = (gi: number, r: number, p: UniformParams): void => {
    scale[gi * out + r] = p.scale;
    zero[gi * out + r] = p.zero;
  };

  let Wl: Float64Array = Float64Array.from(W.data); // working weights [out, in], layout order once permuted
  // Per-channel: one grid per row, fitted on the original W before anything else (gptq `find_params(W)`).
  if (perChannel) for (let r = 0; r < out; r++) setParams(0, r, fitUniform(W.data.subarray(r * inn, (r + 1) * inn), cfg));

  // Dead inputs (H_ii = 0) never reach the output: H_ii = 1, W[:, i] = 0.
  let H: Float64Array = hessianF64(stats.H);
  for (let i = 0; i < inn; i++) {
    if (H[i * inn + i] !== 0) continue;
    H[i * inn + i] = 1;
    for (let r = 0; r < out; r++) Wl[r * inn + i] = 0;
  }

  // Static groups: every group's grid from the (dead-zeroed) W in original order, before any update.
  if (cfg.staticGroups && !perChannel) {
    for (let gi = 0; gi < nGroups; gi++) {
      const c0 = gi * g;
      const c1 = Math.min(inn, c0 + g);
      for (let r = 0; r < out; r++) setParams(gi, r, fitUniform(Wl.subarray(r * inn + c0, r * inn + c1), cfg));
    }
  }

  // Act-order: quantize columns of large diag H (large input energy) first.
  const perm = cfg.actOrder ? actOrder(H, inn) : null;
  if (perm !== null) {
    Wl = permuteColumns(Wl, out, inn, perm);
    H = permuteSymmetric(H, inn, perm);
  }
  const groupOf = (j: number): number => (perChannel ? 0 : onTheFly || perm === null ? Math.floor(j / g) : Math.floor((perm[j] as number) / g));

  // Alg. 1 line 3: H⁻¹ ← Cholesky(H⁻¹)ᵀ of the damped H (λ = percdamp · mean diag H).
  let meanDiag = 0;
  for (let i = 0; i < inn; i++) meanDiag += H[i * inn + i] as number;
  const damp = (cfg.percdamp * meanDiag) / inn;
  for (let i = 0; i < inn; i++) H[i * inn + i] = (H[i * inn + i] as number) + damp;
  const U = inverseHessianFactor(H, inn); // [in, in] upper, H⁻¹ = UᵀU

  const codes = new Uint8Array(out * inn); // layout order
  const What = new Float32Array(out * inn); // layout order
  const blockEnd = (i1: number): number => {
    const i2 = Math.min(i1 + cfg.blockSize, inn);
    if (!onTheFly || i2 === inn) return i2;
    const lastStart = Math.floor((i2 - 1) / g) * g; // a group must not straddle the block end
    if (lastStart + g <= i2) return i2;
    return lastStart > i1 ? lastStart : Math.min(i1 + g, inn);
  };

  // Alg. 1 line 4: for each block B = [i1, i2) of columns
  for (let i1 = 0, i2 = 0; i1 < inn; i1 = i2) {
    i2 = blockEnd(i1);
    const count = i2 - i1;
    const E = new Float64Array(out * count); // Alg. 1 line 2: E, the scaled errors of this block [out, count]
    for (let j = i1; j < i2; j++) { // line 5
      if (onTheFly && j % g === 0) {
        const c1 = Math.min(inn, j + g);
        for (let r = 0; r < out; r++) setParams(j / g, r, fitUniform(Wl.subarray(r * inn + j, r * inn + c1), cfg));
      }
      const gi = groupOf(j);
      const d = U[j * inn + j] as number; // [H⁻¹]_jj of the Cholesky form
      for (let r = 0; r < out; r++) {
        const s = scale[gi * out + r] as number;
        const z = zero[gi * out + r] as number;
        const row = r * inn;
        const w = Wl[row + j] as number;
        const q = quantizeUniform(w, s, z, maxq); // line 6: Q_:,j ← quant(W_:,j)
        const qhat = dequantizeUniform(q, s, z);
        codes[row + j] = q;
        What[row + j] = qhat;
        const err = (w - qhat) / d; // line 7: E_:,j−i1 ← (W_:,j − Q_:,j) / [H⁻¹]_jj
        E[r * count + (j - i1)] = err;
        const uj = j * inn;
        for (let k = j + 1; k < i2; k++) Wl[row + k] = (Wl[row + k] as number) - err * (U[uj + k] as number); // line 8
      }
    }
    // Alg. 1 line 10: W_:,i2: ← W_:,i2: − E · H⁻¹_{i1:i2, i2:} (the lazy batch update)
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

  const weight = new Float32Array(out * inn); // Ŵ in original column order
  for (let r = 0; r < out; r++) for (let j = 0; j < inn; j++) weight[r * inn + (perm === null ? j : (perm[j] as number))] = What[r * inn + j] as number;
  const layoutPerm = perm !== null && onTheFly ? perm : null; // groups over permuted columns need the permutation at decode
  return {
    format: intFormatFor(cfg.bits),
    out,
    in: inn,
    weight,
    grid: {
      bits: cfg.bits,
      groupSize: g,
      codes: perm !== null && layoutPerm === null ? unpermuteCodes(codes, out, inn, perm) : codes,
      scale,
      zero,
      perm: layoutPerm,
    },
    bilevel: null,
    outliers: null,
    method: 'gptq',
    config: cfg,
    avgBits: intAvgBits(cfg.bits, g) + (layoutPerm === null ? 0 : 16 / out),
    error: layerError(W.data, weight, stats.H, out, inn),
  };
}
