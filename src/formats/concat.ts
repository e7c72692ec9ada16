/**
 * Stacking packed int and SpQR tensors along their output rows — what lets
 * projections that share an input (q|k|v, gate|up) run as one packed matmul.
 * Codes are whole padded rows, so they are appended; int scales and zeros and
 * SpQR's scale and zero codes are [nGroups, out], so each group's row gets every
 * part's values side by side; SpQR's second-level statistics are [nGroups,
 * ceil(out / β2), 2], so each group gets every part's chunks side by side (every
 * part but the last must have whole β2-row chunks), and its CSR outliers are
 * appended with shifted row pointers. The column permutation (act-order) must be
 * the same for every part (GPTQ's q, k and v share one Hessian, hence one order).
 * Ŵ of the result is exactly the parts' Ŵ stacked.
 *
 * `slicePackedRows` is the inverse: rows r0 … r1 − 1 as a packed tensor of their
 * own (what lets a tensor larger than one GPU storage binding run packed, in row
 * chunks). SpQR slices start at a multiple of β2 and end at one or at the last row,
 * so the second-level statistics' chunks are whole (`packedRowAlign`; a tail shorter
 * than β2 gets β2 = its rows, the same single chunk).
 */
import { bytesU32, packBits, packedRowWords, u32Bytes, unpackBits } from './bytes.js';
import { FORMATS } from './index.js';
import type { FormatId, PackedTensor } from './types.js';

const INT_FORMATS: readonly FormatId[] = ['int2', 'int3', 'int4', 'int8'];

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);

/** Each part's array `name`, one after the other (codes: whole padded rows). */
function appended(parts: readonly PackedTensor[], name: string): Uint8Array {
  const arrays = parts.map((p) => p.arrays[name] as Uint8Array);
  const all = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  return all;
}

/** [nGroups, Σ widths] bytes from each part's [nGroups, widths[i]]: every group's row gets each part's row side by side. */
function sideBySide(arrays: readonly Uint8Array[], widths: readonly number[], nGroups: number): Uint8Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const all = new Uint8Array(nGroups * total);
  let c0 = 0;
  for (const [i, a] of arrays.entries()) {
    const w = widths[i] as number;
    for (let g = 0; g < nGroups; g++) all.set(a.subarray(g * w, (g + 1) * w), g * total + c0);
    c0 += w;
  }
  return all;
}

/** sideBySide for b-bit codes [nGroups, outs[i]] packed along each group's row (formats/bytes.ts). */
function sideBySideBits(parts: readonly PackedTensor[], name: string, outs: readonly number[], nGroups: number, bits: number): Uint8Array {
  const codes = parts.map((p, i) => unpackBits(p.arrays[name] as Uint8Array, nGroups, outs[i] as number, bits));
  return packBits(sideBySide(codes, outs, nGroups), nGroups, outs.reduce((a, b) => a + b, 0), bits);
}

/** The parts stacked into one [Σ out, in] tensor, or null when they cannot be (not one format with the same parameters and permutation). */
export function concatPackedRows(parts: readonly PackedTensor[]): PackedTensor | null {
  const first = parts[0];
  if (first?.format === 'spqr') return concatSpqrRows(parts);
  if (!first || !INT_FORMATS.includes(first.format)) return null;
  const [, inn] = first.shape;
  const g = first.params.groupSize as number;
  const same = parts.every(
    (p) => p.format === first.format && p.shape[1] === inn && p.params.groupSize === g && p.params.permuted === first.params.permuted && sameBytes(p.arrays.perm, first.arrays.perm),
  );
  if (!same) return null;
  const bits = FORMATS[first.format].bits as number;
  const nGroups = Math.ceil(inn / g);
  const outs = parts.map((p) => p.shape[0]);
  return {
    format: first.format,
    shape: [outs.reduce((a, b) => a + b, 0), inn],
    params: { ...first.params },
    arrays: {
      codes: appended(parts, 'codes'),
      // [nGroups, out] fp16 scales (2 bytes a row) and bit-packed zeros
      scales: sideBySide(
        parts.map((p) => p.arrays.scales as Uint8Array),
        outs.map((o) => 2 * o),
        nGroups,
      ),
      zeros: sideBySideBits(parts, 'zeros', outs, nGroups, bits),
      perm: (first.arrays.perm as Uint8Array).slice(),
    },
  };
}

const SPQR_SHARED = ['bits', 'groupSize', 'qqBits', 'qqGroup', 'permuted'] as const;

function concatSpqrRows(parts: readonly PackedTensor[]): PackedTensor | null {
  const first = parts[0] as PackedTensor;
  const [, inn] = first.shape;
  const p0 = first.params;
  const qq = p0.qqGroup as number;
  const same = parts.every(
    (p, i) =>
      p.format === 'spqr' &&
      p.shape[1] === inn &&
      SPQR_SHARED.every((k) => p.params[k] === p0[k]) &&
      sameBytes(p.arrays.perm, first.arrays.perm) &&
      (i === parts.length - 1 || p.shape[0] % qq === 0),
  );
  if (!same) return null;
  const qqBits = p0.qqBits as number;
  const nGroups = Math.ceil(inn / (p0.groupSize as number));
  const outs = parts.map((p) => p.shape[0]);
  // [nGroups, nStat, 2] fp16 second-level (scale, zero): each group gets every part's β2 chunks (4 bytes each) side by side
  const stats = (name: string): Uint8Array =>
    sideBySide(
      parts.map((p) => p.arrays[name] as Uint8Array),
      outs.map((o) => 4 * Math.ceil(o / qq)),
      nGroups,
    );
  const rowPtr = new Uint32Array(outs.reduce((a, b) => a + b, 0) + 1);
  let r0 = 0;
  let nnz = 0;
  for (const [i, p] of parts.entries()) {
    const rp = bytesU32(p.arrays.outlierRowPtr as Uint8Array);
    const o = outs[i] as number;
    for (let r = 1; r <= o; r++) rowPtr[r0 + r] = nnz + (rp[r] as number);
    r0 += o;
    nnz += rp[o] as number;
  }
  return {
    format: 'spqr',
    shape: [r0, inn],
    params: { ...p0, outliers: nnz },
    arrays: {
      codes: appended(parts, 'codes'),
      scaleCodes: sideBySideBits(parts, 'scaleCodes', outs, nGroups, qqBits),
      zeroCodes: sideBySideBits(parts, 'zeroCodes', outs, nGroups, qqBits),
      scaleStats: stats('scaleStats'),
      zeroStats: stats('zeroStats'),
      outlierRowPtr: u32Bytes(rowPtr),
      outlierCol: appended(parts, 'outlierCol'),
      outlierVal: appended(parts, 'outlierVal'),
      perm: (first.arrays.perm as Uint8Array).slice(),
    },
  };
}

/** The row granularity at which a packed tensor can be sliced: SpQR's β2 (its second-level statistics cover β2 rows), 1 otherwise. */
export function packedRowAlign(p: Pick<PackedTensor, 'format' | 'params'>): number {
  return p.format === 'spqr' ? (p.params.qqGroup as number) : 1;
}

/** Columns c0 … c1 − 1 of every row of a [rows, width·elem bytes] array ([nGroups, out] statistics: every group's rows r0 … r1 − 1). */
function columns(a: Uint8Array, rows: number, width: number, c0: number, c1: number, elem: number): Uint8Array {
  const w = (c1 - c0) * elem;
  const out = new Uint8Array(rows * w);
  for (let g = 0; g < rows; g++) out.set(a.subarray((g * width + c0) * elem, (g * width + c1) * elem), g * w);
  return out;
}

/** columns() of b-bit codes [nGroups, out] packed along each group's row. */
function columnsBits(a: Uint8Array, nGroups: number, out: number, r0: number, r1: number, bits: number): Uint8Array {
  return packBits(columns(unpackBits(a, nGroups, out, bits), nGroups, out, r0, r1, 1), nGroups, r1 - r0, bits);
}

/**
 * Rows r0 … r1 − 1 of an int or SpQR tensor as a packed tensor of their own: unpack(slice) is exactly
 * rows r0 … r1 − 1 of unpack(p). SpQR needs r0 a multiple of β2 and r1 one too or the last row.
 */
export function slicePackedRows(p: PackedTensor, r0: number, r1: number): PackedTensor {
  const [out, inn] = p.shape;
  const what = `slicePackedRows ${p.format}[${out}, ${inn}] rows ${r0} … ${r1}`;
  if (!Number.isInteger(r0) || !Number.isInteger(r1) || r0 < 0 || r1 > out || r0 >= r1) throw new Error(`${what}: not a row range of the tensor`);
  const align = packedRowAlign(p);
  if (r0 % align !== 0 || (r1 % align !== 0 && r1 !== out)) throw new Error(`${what}: SpQR rows must be sliced at multiples of β2 = ${align}`);
  const rows = r1 - r0;
  const nGroups = Math.ceil(inn / (p.params.groupSize as number));
  if (!INT_FORMATS.includes(p.format) && p.format !== 'spqr') throw new Error(`${what}: not an int or SpQR tensor`);
  const bits = p.format === 'spqr' ? (p.params.bits as number) : (FORMATS[p.format].bits as number);
  const rowBytes = packedRowWords(inn, bits) * 4;
  const codes = (p.arrays.codes as Uint8Array).slice(r0 * rowBytes, r1 * rowBytes);
  const perm = (p.arrays.perm as Uint8Array).slice();
  if (p.format !== 'spqr') {
    return {
      format: p.format,
      shape: [rows, inn],
      params: { ...p.params },
      arrays: { codes, scales: columns(p.arrays.scales as Uint8Array, nGroups, out, r0, r1, 2), zeros: columnsBits(p.arrays.zeros as Uint8Array, nGroups, out, r0, r1, bits), perm },
    };
  }
  const qqBits = p.params.qqBits as number;
  const nStat = Math.ceil(out / align);
  // [nGroups, nStat, 2] fp16 pairs: every group's β2 chunks r0 / β2 … ceil(r1 / β2) − 1, 4 bytes each
  const stats = (name: string): Uint8Array => columns(p.arrays[name] as Uint8Array, nGroups, nStat, r0 / align, Math.ceil(r1 / align), 4);
  const rp = bytesU32(p.arrays.outlierRowPtr as Uint8Array);
  const e0 = rp[r0] as number;
  const e1 = rp[r1] as number;
  const rowPtr = new Uint32Array(rows + 1);
  for (let r = 0; r <= rows; r++) rowPtr[r] = (rp[r0 + r] as number) - e0;
  return {
    format: 'spqr',
    shape: [rows, inn],
    // a tail of fewer than β2 rows is one statistics chunk: β2 = its rows says the same and keeps the format's β2 ≤ out
    params: { ...p.params, outliers: e1 - e0, qqGroup: Math.min(align, rows) },
    arrays: {
      codes,
      scaleCodes: columnsBits(p.arrays.scaleCodes as Uint8Array, nGroups, out, r0, r1, qqBits),
      zeroCodes: columnsBits(p.arrays.zeroCodes as Uint8Array, nGroups, out, r0, r1, qqBits),
      scaleStats: stats('scaleStats'),
      zeroStats: stats('zeroStats'),
      outlierRowPtr: u32Bytes(rowPtr),
      outlierCol: (p.arrays.outlierCol as Uint8Array).slice(2 * e0, 2 * e1),
      outlierVal: (p.arrays.outlierVal as Uint8Array).slice(2 * e0, 2 * e1),
      perm,
    },
  };
}
