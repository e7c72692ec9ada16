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
  const out = outs.reduce((a, b) => a + b, 0);
  const codes = new Uint8Array(parts.reduce((a, p) => a + (p.arrays.codes as Uint8Array).length, 0));
  const scales = new Uint8Array(nGroups * out * 2);
  const zeros = new Uint8Array(nGroups * out);
  let at = 0;
  let r0 = 0;
  for (const [i, p] of parts.entries()) {
    const o = outs[i] as number;
    codes.set(p.arrays.codes as Uint8Array, at);
    at += (p.arrays.codes as Uint8Array).length;
    const z = unpackBits(p.arrays.zeros as Uint8Array, nGroups, o, bits);
    const s = p.arrays.scales as Uint8Array;
    for (let k = 0; k < nGroups; k++) {
      scales.set(s.subarray(2 * k * o, 2 * (k + 1) * o), 2 * (k * out + r0));
      zeros.set(z.subarray(k * o, (k + 1) * o), k * out + r0);
    }
    r0 += o;
  }
  return {
    format: first.format,
    shape: [out, inn],
    params: { ...first.params },
    arrays: { codes, scales, zeros: packBits(zeros, nGroups, out, bits), perm: (first.arrays.perm as Uint8Array).slice() },
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
  const out = outs.reduce((a, b) => a + b, 0);
  const nStats = outs.map((o) => Math.ceil(o / qq));
  const nStat = nStats.reduce((a, b) => a + b, 0);
  const arr = (p: PackedTensor, name: string): Uint8Array => p.arrays[name] as Uint8Array;
  const append = (name: string): Uint8Array => {
    const all = new Uint8Array(parts.reduce((a, p) => a + arr(p, name).length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(arr(p, name), at);
      at += arr(p, name).length;
    }
    return all;
  };
  // [nGroups, out] qqBits codes: each group's row gets every part's codes side by side
  const sideBySide = (name: string): Uint8Array => {
    const all = new Uint8Array(nGroups * out);
    let r0 = 0;
    for (const [i, p] of parts.entries()) {
      const o = outs[i] as number;
      const c = unpackBits(arr(p, name), nGroups, o, qqBits);
      for (let g = 0; g < nGroups; g++) all.set(c.subarray(g * o, (g + 1) * o), g * out + r0);
      r0 += o;
    }
    return packBits(all, nGroups, out, qqBits);
  };
  // [nGroups, nStat, 2] fp16 second-level (scale, zero): each group gets every part's β2 chunks (4 bytes each) side by side
  const stats = (name: string): Uint8Array => {
    const all = new Uint8Array(nGroups * nStat * 4);
    let s0 = 0;
    for (const [i, p] of parts.entries()) {
      const n = nStats[i] as number;
      const a = arr(p, name);
      for (let g = 0; g < nGroups; g++) all.set(a.subarray(g * n * 4, (g + 1) * n * 4), (g * nStat + s0) * 4);
      s0 += n;
    }
    return all;
  };
  const rowPtr = new Uint32Array(out + 1);
  let r0 = 0;
  let nnz = 0;
  for (const [i, p] of parts.entries()) {
    const rp = bytesU32(arr(p, 'outlierRowPtr'));
    const o = outs[i] as number;
    for (let r = 1; r <= o; r++) rowPtr[r0 + r] = nnz + (rp[r] as number);
    r0 += o;
    nnz += rp[o] as number;
  }
  return {
    format: 'spqr',
    shape: [out, inn],
    params: { ...p0, outliers: nnz },
    arrays: {
      codes: append('codes'),
      scaleCodes: sideBySide('scaleCodes'),
      zeroCodes: sideBySide('zeroCodes'),
      scaleStats: stats('scaleStats'),
      zeroStats: stats('zeroStats'),
      outlierRowPtr: u32Bytes(rowPtr),
      outlierCol: append('outlierCol'),
      outlierVal: append('outlierVal'),
      perm: arr(first, 'perm').slice(),
    },
  };
}
