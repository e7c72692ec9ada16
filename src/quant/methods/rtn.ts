/**
 * Round to nearest (RTN): every weight goes to the nearest point of its
 * group's uniform grid, with the grid fitted on the original weights. The
 * baseline that GPTQ must beat; needs no calibration data (H only measures
 * the error).
 */
import { intFormatFor } from '../../formats/index.js';
import { checkUniformGrid, dequantizeUniform, fitUniform, maxCode, quantizeUniform } from '../../formats/grids/uniform.js';
import type { HostTensor } from '../../tensor/tensor.js';
import { checkInt, layerDims, layerError, resolveConfig } from '../layer.js';
import { RTN_DEFAULTS, type LayerStats, type MethodOptions, type QuantResult, type RtnConfig } from '../types.js';

/** Storage bits per weight of a b-bit grouped int format: codes + fp16 scale + b-bit zero per group of g. */
export const intAvgBits = (bits: number, g: number): number => bits + (16 + bits) / g;

/**
 * W: [out, in] f32; stats: H [in, in] (optional, for the error only).
 * Returns Ŵ, codes [out, in] and per-group scale/zero [nGroups, out].
 */
export function quantizeLayer(W: HostTensor<'f32'>, stats: LayerStats | null, opts: MethodOptions<RtnConfig> = {}): QuantResult {
  const { out, inn } = layerDims('rtn', W, stats);
  const cfg = resolveConfig(RTN_DEFAULTS, opts);
  checkUniformGrid(cfg);
  checkInt('rtn groupSize', cfg.groupSize, 0);
  const g = cfg.groupSize === 0 ? inn : Math.min(cfg.groupSize, inn);
  const nGroups = Math.ceil(inn / g);
  const maxq = maxCode(cfg.bits);

  const w = W.data;
  const weight = new Float32Array(out * inn);
  const codes = new Uint8Array(out * inn);
  const scale = new Float32Array(nGroups * out);
  const zero = new Float32Array(nGroups * out);
  for (let gi = 0; gi < nGroups; gi++) {
    const c0 = gi * g;
    const c1 = Math.min(inn, c0 + g);
    for (let r = 0; r < out; r++) {
      const p = fitUniform(w.subarray(r * inn + c0, r * inn + c1), cfg);
      scale[gi * out + r] = p.scale;
      zero[gi * out + r] = p.zero;
      for (let c = c0; c < c1; c++) {
        const q = quantizeUniform(w[r * inn + c] as number, p.scale, p.zero, maxq);
        codes[r * inn + c] = q;
        weight[r * inn + c] = dequantizeUniform(q, p.scale, p.zero);
      }
    }
  }
  opts.onProgress?.(inn, inn);

  return {
    format: intFormatFor(cfg.bits),
    out,
    in: inn,
    weight,
    grid: { bits: cfg.bits, groupSize: g, codes, scale, zero, perm: null },
    bilevel: null,
    outliers: null,
    method: 'rtn',
    config: cfg,
    avgBits: intAvgBits(cfg.bits, g),
    error: stats === null ? null : layerError(w, weight, stats.H, out, inn),
  };
}
