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
 */
import { bytesU32, packBits, u32Bytes, unpackBits } from './bytes.js';
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
