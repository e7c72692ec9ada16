/**
 * Stacking packed int tensors along their output rows — what lets projections
 * that share an input (q|k|v, gate|up) run as one packed matmul. Codes are
 * whole padded rows, so they are appended; scales and zeros are [nGroups, out],
 * so each group's row gets every part's values side by side; the column
 * permutation (act-order) must be the same for every part (GPTQ's q, k and v
 * share one Hessian, hence one order). Ŵ of the result is exactly the parts'
 * Ŵ stacked.
 */
import { packBits, unpackBits } from './bytes.js';
import { FORMATS } from './index.js';
import type { FormatId, PackedTensor } from './types.js';

const INT_FORMATS: readonly FormatId[] = ['int2', 'int3', 'int4', 'int8'];

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);

/** The parts stacked into one [Σ out, in] tensor, or null when they cannot be (not one int format, group size and permutation). */
export function concatPackedRows(parts: readonly PackedTensor[]): PackedTensor | null {
  const first = parts[0];
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
