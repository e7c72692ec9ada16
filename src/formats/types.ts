/**
 * What a quantized weight matrix *is*, independent of how it is stored.
 *
 * A method (src/quant/methods) produces a `QuantizedTensor`; a format record
 * (src/formats/index.ts) packs it into named byte arrays and unpacks those back
 * to the same Ŵ, bit for bit. Matrices are `[out, in]` row-major.
 *
 * Column order: a method may quantize the input columns in a permuted order
 * (act-order). Everything indexed by input column here (codes, groups,
 * outlier columns) is in that *layout* order; `grid.perm[c]` is the original
 * column held at layout column c. Ŵ (`weight`) is always in original order.
 */

/** Stable format names; the numeric code of each is in its record. Append-only. */
export type FormatId = 'f32' | 'f16' | 'bf16' | 'int2' | 'int3' | 'int4' | 'int8' | 'spqr';

/** Integer codes on a uniform grid with per-(group, row) parameters: Ŵ = scale · (code − zero). */
export interface GroupedCodes {
  /** Code width b; codes lie in [0, 2^b − 1]. */
  readonly bits: number;
  /** g: consecutive layout columns sharing one (scale, zero) per row; `in` for per-channel. */
  readonly groupSize: number;
  /** [out, in] codes, columns in layout order. */
  readonly codes: Uint8Array;
  /** [nGroups, out] step sizes, nGroups = ceil(in / g); exact f16 values for the int formats. */
  readonly scale: Float32Array;
  /** [nGroups, out] zero points in code units (integers for the int formats). */
  readonly zero: Float32Array;
  /** [in] layout column c holds original column perm[c]; null = identity. */
  readonly perm: Uint32Array | null;
}

/**
 * SpQR's bilevel statistics: the first-level (scale, zero) of each (group, row)
 * are themselves min-max quantized in chunks of `groupSize` rows (β2), each
 * chunk with its own second-level (scale, zero) stored in fp16.
 */
export interface BilevelStats {
  /** Bits of a first-level statistic code (qqBits, 3). */
  readonly bits: number;
  /** β2: output rows per second-level group; the last one may be shorter. */
  readonly groupSize: number;
  /** [nGroups, out] codes of the first-level scales. */
  readonly scaleCodes: Uint8Array;
  /** [nGroups, out] codes of the first-level zeros. */
  readonly zeroCodes: Uint8Array;
  /** [nGroups, nStatGroups, 2] (scale, zero) quantizing the scales; exact f16 values. */
  readonly scaleStats: Float32Array;
  /** [nGroups, nStatGroups, 2] (scale, zero) quantizing the zeros; exact f16 values. */
  readonly zeroStats: Float32Array;
}

/** Unstructured outliers in CSR form; Ŵ = f32(dense + value) at each listed entry. */
export interface OutlierCsr {
  /** [out + 1] row r's outliers are entries rowPtr[r] … rowPtr[r+1] − 1. */
  readonly rowPtr: Uint32Array;
  /** [nnz] layout column of each outlier, increasing within a row. */
  readonly col: Uint16Array;
  /** [nnz] f16 bit patterns of the residual added to the dense value. */
  readonly value: Uint16Array;
}

/** A quantized [out, in] matrix: its dequantized values and everything a format needs to store it. */
export interface QuantizedTensor {
  /** The record that packs it; null when no packed format has these bits yet (fake-quant only). */
  readonly format: FormatId | null;
  /** Output rows. */
  readonly out: number;
  /** Input columns. */
  readonly in: number;
  /** Ŵ [out, in] f32, original column order: what unpack(pack(this)) returns. */
  readonly weight: Float32Array;
  /** Codes and per-group parameters; null for the passthrough formats. */
  readonly grid: GroupedCodes | null;
  /** Quantized first-level statistics (SpQR); null otherwise. */
  readonly bilevel: BilevelStats | null;
  /** Outliers kept in fp16 (SpQR); null when there are none by construction. */
  readonly outliers: OutlierCsr | null;
}

/** Per-tensor parameters a format needs besides the shape; stored in the file header. */
export type FormatParams = Readonly<Record<string, number>>;

/** A packed tensor: shape, parameters and named little-endian byte arrays. */
export interface PackedTensor {
  readonly format: FormatId;
  /** [out, in]. */
  readonly shape: readonly [number, number];
  readonly params: FormatParams;
  /** Named byte arrays, exactly `record.arrays` in that order. */
  readonly arrays: Readonly<Record<string, Uint8Array>>;
}

/** What unpack returns. */
export interface UnpackedTensor {
  /** Ŵ [out, in] f32, original column order. */
  readonly weight: Float32Array;
  /** [out, in] codes in layout order; null for the passthrough formats. */
  readonly codes: Uint8Array | null;
}

/** One packed format: everything the file, the kernels and the docs know about it. */
export interface QuantFormat {
  readonly id: FormatId;
  /** Stable numeric id stored in .lowbit files; append-only, never reused. */
  readonly code: number;
  /** Bits per code (or per element for passthrough); null when a per-tensor parameter (spqr). */
  readonly bits: number | null;
  /** One line: what a group is and what is stored per group. */
  readonly groups: string;
  /** Parameters that specialize kernels (emitted by wgslConstants); the rest are per-tensor sizes. */
  readonly kernelParams: readonly string[];
  /** Names of the byte arrays `pack` returns, in file order. */
  readonly arrays: readonly string[];
  /**
   * The arrays of f16 values (scales, statistics, outlier values): what loading a packed tensor
   * scans for NaN and ±Inf (its codes are integers; passthrough tensors are checked as floats).
   */
  readonly f16Arrays: readonly string[];
  /** The parameters `pack` writes, as stored in the file header. */
  params(t: QuantizedTensor): FormatParams;
  /** Byte length of each array for an [out, in] matrix with these parameters. */
  arrayBytes(shape: readonly [number, number], params: FormatParams): Readonly<Record<string, number>>;
  /** QuantizedTensor → packed bytes. Throws when the tensor cannot be stored exactly. */
  pack(t: QuantizedTensor): PackedTensor;
  /** Packed bytes → Ŵ (bit-identical to the tensor that was packed) and codes. */
  unpack(p: PackedTensor): UnpackedTensor;
  /**
   * Throws when an index array would send a kernel outside the tensor or give a wrong result without
   * an error (a permutation that is not one; SpQR outlier row pointers that do not rise from 0 to the
   * outlier count, or a column past the width): what loading a tensor to run packed checks, as
   * `unpack` does when it dequantizes. Array sizes are checked too.
   */
  checkIndices(p: PackedTensor): void;
}
