/**
 * Types shared by the quantization methods: calibration statistics, the
 * result every `quantizeLayer` returns, and each method's typed config with
 * its documented defaults (CONVENTIONS §2.8). A method is called as
 * `quantizeLayer(W, stats, cfg)` with W: HostTensor<'f32'> [out, in] and a
 * partial config; the resolved config is returned inside the result.
 */
import type { QuantizedTensor } from '../formats/types.js';
import { UNIFORM_GRID_DEFAULTS, type UniformGridConfig } from '../formats/grids/uniform.js';

/** Calibration statistics of one linear layer. */
export interface LayerStats {
  /** H = (2/n)·Σ x xᵀ over the n calibration inputs x [in]: [in, in] row-major, symmetric PSD. */
  readonly H: Float64Array | Float32Array;
  /** n, the number of input vectors (tokens) H averages over. */
  readonly nSamples: number;
}

export type MethodId = 'rtn' | 'gptq' | 'spqr';

/** Called after each block of columns with (columns done, total columns). */
export type ProgressFn = (done: number, total: number) => void;

/** A partial config plus the injected progress callback (not part of the printed config). */
export type MethodOptions<C> = Partial<C> & { readonly onProgress?: ProgressFn };

/** The layer's output error on the calibration data, computed from the undamped H. */
export interface LayerError {
  /** tr(ΔW·H·ΔWᵀ) = Σ_rows Δw H Δwᵀ with ΔW = W − Ŵ; equals (2/n)·‖WX − ŴX‖². */
  readonly proxy: number;
  /** proxy / tr(W·H·Wᵀ) = ‖WX − ŴX‖² / ‖WX‖² (0 when both are 0). */
  readonly relative: number;
}

/** What a method returns: the quantized tensor plus how it was made and how good it is. */
export interface QuantResult extends QuantizedTensor {
  /** The method that made it. */
  readonly method: MethodId;
  /** The resolved config (defaults filled in), for the result file. */
  readonly config: RtnConfig | GptqConfig | SpqrConfig;
  /** Average storage bits per weight of the representation (method formula; see each method). */
  readonly avgBits: number;
  /** Output error on the calibration H; null when no H was given (RTN without stats). */
  readonly error: LayerError | null;
}

/** Round-to-nearest on the uniform grid. */
export interface RtnConfig extends UniformGridConfig {
  /** Input columns per group; 0 = one group per row (per-channel). Default 128. */
  readonly groupSize: number;
}

export const RTN_DEFAULTS: RtnConfig = Object.freeze({ ...UNIFORM_GRID_DEFAULTS, groupSize: 128 });

/** GPTQ (Frantar et al., ICLR 2023), IST-DASLab/gptq `fasterquant`. */
export interface GptqConfig extends UniformGridConfig {
  /** Input columns per group; 0 = per-channel (params fitted once on the original W). Default 128. */
  readonly groupSize: number;
  /** Damping λ = percdamp · mean(diag H) added to diag H. Default 0.01. */
  readonly percdamp: number;
  /** Columns per lazy-batch block; changes speed, not the result. Default 128. */
  readonly blockSize: number;
  /** Quantize columns in order of decreasing diag H ("act-order"). Default false. */
  readonly actOrder: boolean;
  /**
   * Fit every group's params up front on the original W in original column
   * order (gptq `static_groups`), so act-order needs no permutation at decode.
   * Default false: params are fitted on the error-updated weights when the
   * column loop reaches a group (in act-order, groups of permuted columns).
   */
  readonly staticGroups: boolean;
}

export const GPTQ_DEFAULTS: GptqConfig = Object.freeze({
  ...UNIFORM_GRID_DEFAULTS,
  groupSize: 128,
  percdamp: 0.01,
  blockSize: 128,
  actOrder: false,
  staticGroups: false,
});

export type SpqrPermutation = 'act_order' | 'identity';

/** SpQR (Dettmers et al., ICLR 2024), Vahe1994/SpQR `SPQRUtil.quantize`. */
export interface SpqrConfig {
  /** Weight code bits b_w. Default 3. */
  readonly bits: number;
  /** β1: input columns per group of first-level stats. Default 16. */
  readonly groupSize: number;
  /** Bits of the quantized first-level scales and zeros (qq_scale_bits = qq_zero_bits). Default 3. */
  readonly qqBits: number;
  /** β2: output rows per second-level (fp16) group. Default 16. */
  readonly qqGroup: number;
  /** τ, relative to the layer's sensitivity scale; Infinity = no outliers. Default 0.2. */
  readonly outlierThreshold: number;
  /** Column order: 'act_order' (decreasing diag H) or 'identity'. Default 'act_order'. */
  readonly permutation: SpqrPermutation;
  /** Damping percdamp · mean|diag H|; the README's near-lossless runs use 1.0. Default 0.01. */
  readonly percdamp: number;
  /** Columns per lazy-batch block. Default 128. */
  readonly blockSize: number;
}

export const SPQR_DEFAULTS: SpqrConfig = Object.freeze({
  bits: 3,
  groupSize: 16,
  qqBits: 3,
  qqGroup: 16,
  outlierThreshold: 0.2,
  permutation: 'act_order',
  percdamp: 0.01,
  blockSize: 128,
});
