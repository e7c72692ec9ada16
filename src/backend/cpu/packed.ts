/**
 * The CPU reference for packed weights: rows of Ŵ decoded straight from a
 * packed tensor's bytes (never through `FORMATS[f].unpack`, which the tests
 * compare it with bit for bit), and the packed matmul built on it, tile by
 * tile of rows, so no dequantized copy of the whole matrix exists.
 *
 * Every WGSL packed kernel (webgpu/kernels/q*.wgsl) is tested against this.
 * Formulas: docs/formats.md (int: Ŵ = scale·(code − zero); spqr: bilevel
 * statistics, then f32(Ŵ + outlier) at each CSR entry; columns in layout order,
 * Ŵ[r, perm[c]]).
 */
import { packedRowWords } from '../../formats/bytes.js';
import { FORMATS } from '../../formats/index.js';
import type { PackedTensor } from '../../formats/types.js';
import { bf16ToF32, f16ToF32 } from '../../tensor/dtype.js';

/** Code c (b bits) of the bit-packed row that starts at byte `base` (bytes.ts layout). */
function codeAt(bytes: Uint8Array, base: number, c: number, bits: number): number {
  const bit = c * bits;
  const i = base + (bit >> 3);
  const two = (bytes[i] as number) | (i + 1 < bytes.length ? (bytes[i + 1] as number) << 8 : 0);
  return (two >> (bit & 7)) & ((1 << bits) - 1);
}

const u16At = (b: Uint8Array, i: number): number => (b[2 * i] as number) | ((b[2 * i + 1] as number) << 8);
const f16At = (b: Uint8Array, i: number): number => f16ToF32(u16At(b, i));
const u32At = (b: Uint8Array, i: number): number => ((b[4 * i] as number) | ((b[4 * i + 1] as number) << 8) | ((b[4 * i + 2] as number) << 16) | ((b[4 * i + 3] as number) << 24)) >>> 0;

/**
 * Rows r0 … r1−1 of Ŵ, [r1 − r0, in] f32 in original column order, decoded
 * from the packed bytes. Equals `FORMATS[p.format].unpack(p).weight` on those
 * rows, bit for bit. Validates the tensor's array sizes first.
 */
export function dequantizeRows(p: PackedTensor, r0: number, r1: number): Float32Array {
  const [out, inn] = p.shape;
  const fmt = FORMATS[p.format];
  const sizes = fmt.arrayBytes(p.shape, p.params);
  for (const name of fmt.arrays) {
    if (p.arrays[name]?.length !== sizes[name]) throw new Error(`dequantizeRows ${p.format}: array '${name}' has ${p.arrays[name]?.length} bytes, expected ${sizes[name]}`);
  }
  if (!(0 <= r0 && r0 <= r1 && r1 <= out)) throw new Error(`dequantizeRows: rows ${r0}…${r1} out of [0, ${out})`);
  const n = r1 - r0;
  const w = new Float32Array(n * inn);
  const a = p.arrays as Record<string, Uint8Array>;
  if (p.format === 'f32' || p.format === 'f16' || p.format === 'bf16') {
    const d = a.data as Uint8Array;
    for (let i = 0; i < n * inn; i++) {
      const e = r0 * inn + i;
      w[i] = p.format === 'f32' ? new DataView(d.buffer, d.byteOffset).getFloat32(4 * e, true) : p.format === 'f16' ? f16At(d, e) : bf16ToF32(u16At(d, e));
    }
    return w;
  }
  const perm = p.params.permuted === 1 ? a.perm : null;
  const col = (c: number): number => (perm ? u16At(perm, c) : c);
  if (p.format === 'spqr') {
    const { bits, groupSize: g, qqBits, qqGroup } = p.params as Record<string, number>;
    const rowBytes = packedRowWords(inn, bits as number) * 4;
    const statRowBytes = packedRowWords(out, qqBits as number) * 4;
    const nStat = Math.ceil(out / (qqGroup as number));
    for (let r = r0; r < r1; r++) {
      for (let c = 0; c < inn; c++) {
        const grp = Math.floor(c / (g as number));
        const st = 2 * (grp * nStat + Math.floor(r / (qqGroup as number)));
        const sc = codeAt(a.scaleCodes as Uint8Array, grp * statRowBytes, r, qqBits as number);
        const zc = codeAt(a.zeroCodes as Uint8Array, grp * statRowBytes, r, qqBits as number);
        const s = Math.fround(f16At(a.scaleStats as Uint8Array, st) * Math.fround(sc - f16At(a.scaleStats as Uint8Array, st + 1)));
        const z = Math.fround(f16At(a.zeroStats as Uint8Array, st) * Math.fround(zc - f16At(a.zeroStats as Uint8Array, st + 1)));
        const q = codeAt(a.codes as Uint8Array, r * rowBytes, c, bits as number);
        w[(r - r0) * inn + col(c)] = Math.fround(s * Math.fround(q - z));
      }
      const rowPtr = a.outlierRowPtr as Uint8Array;
      for (let e = u32At(rowPtr, r); e < u32At(rowPtr, r + 1); e++) {
        const i = (r - r0) * inn + col(u16At(a.outlierCol as Uint8Array, e));
        w[i] = Math.fround((w[i] as number) + f16At(a.outlierVal as Uint8Array, e));
      }
    }
    return w;
  }
  const bits = fmt.bits as number;
  const g = p.params.groupSize as number;
  const rowBytes = packedRowWords(inn, bits) * 4;
  const zeroRowBytes = packedRowWords(out, bits) * 4;
  for (let r = r0; r < r1; r++) {
    for (let c = 0; c < inn; c++) {
      const grp = Math.floor(c / g);
      const s = f16At(a.scales as Uint8Array, grp * out + r);
      const z = codeAt(a.zeros as Uint8Array, grp * zeroRowBytes, r, bits);
      const q = codeAt(a.codes as Uint8Array, r * rowBytes, c, bits);
      w[(r - r0) * inn + col(c)] = Math.fround(s * (q - z));
    }
  }
  return w;
}

/** Rows per dequantized tile of the packed matmul (bounds its scratch to ~1 MiB of f32 at in = 4096). */
export const PACKED_TILE_ELEMS = 1 << 18;

/**
 * out = x·Ŵᵀ (+ bias) with Ŵ decoded tile by tile of rows; `dense` is the
 * backend's f32 matmul kernel for one tile (same signature as `MatmulKernel`).
 * out: [T, M], x: [T, K], p: packed [M, K], bias: [M].
 */
export function packedMatmul(
  out: Float32Array,
  x: Float32Array,
  p: PackedTensor,
  T: number,
  dense: (out: Float32Array, x: Float32Array, w: Float32Array, T: number, K: number, M: number) => void,
  bias?: Float32Array,
): void {
  const [M, K] = p.shape;
  const rows = Math.max(1, Math.min(M, Math.floor(PACKED_TILE_ELEMS / K)));
  for (let r0 = 0; r0 < M; r0 += rows) {
    const r1 = Math.min(M, r0 + rows);
    const n = r1 - r0;
    const tile = new Float32Array(T * n);
    dense(tile, x, dequantizeRows(p, r0, r1), T, K, n);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < n; j++) out[t * M + r0 + j] = (tile[t * n + j] as number) + (bias ? (bias[r0 + j] as number) : 0);
    }
  }
}
