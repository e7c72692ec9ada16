/**
 * Compares our Ŵ with the reference's for a parity dump: the fraction of
 * entries that are bit-identical, equal up to f32 rounding (|a − b| ≤ 1e-6·max(|a|, |b|)),
 * and (when the reference wrote them) identical codes. Exit code 1 below 99.9 %.
 *
 *   node dist/tools/parity/compare.js DIR
 */
import { readLayerDump, readReference } from './layer-dump.js';

export interface ParityReport {
  readonly entries: number;
  /** Bit-identical Ŵ entries / entries. */
  readonly identical: number;
  /** Ŵ entries equal up to f32 rounding / entries. */
  readonly close: number;
  /** Identical codes / entries; null when the reference wrote no codes. */
  readonly codes: number | null;
  /** Largest |Ŵ_ts − Ŵ_ref|. */
  readonly maxAbsDiff: number;
}

/** The parity of two Ŵ [out, in] (and optionally codes). */
export function parity(ours: Float32Array, ref: Float32Array, codes?: Uint8Array, refCodes?: Uint8Array | null): ParityReport {
  if (ours.length !== ref.length) throw new Error(`parity: ${ours.length} vs ${ref.length} entries`);
  let identical = 0;
  let close = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i] as number;
    const b = ref[i] as number;
    if (Object.is(a, b)) identical++;
    const d = Math.abs(a - b);
    if (d <= 1e-6 * Math.max(Math.abs(a), Math.abs(b))) close++;
    if (d > maxAbsDiff) maxAbsDiff = d;
  }
  let codeShare: number | null = null;
  if (codes !== undefined && refCodes !== undefined && refCodes !== null) {
    let same = 0;
    for (let i = 0; i < codes.length; i++) if (codes[i] === refCodes[i]) same++;
    codeShare = same / codes.length;
  }
  const n = ours.length;
  return { entries: n, identical: identical / n, close: close / n, codes: codeShare, maxAbsDiff };
}

function main(): void {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: compare.js DIR');
  const d = readLayerDump(dir);
  const n = d.out * d.inn;
  const refW = readReference(dir, 'What.ref.f32', n * 4);
  if (refW === null) throw new Error(`${dir}: no What.ref.f32; run gptq_ref.py first`);
  const rep = parity(d.What, new Float32Array(refW.buffer), d.codes, readReference(dir, 'codes.ref.u8', n));
  console.log(JSON.stringify({ dir, method: d.method, shape: [d.out, d.inn], ...rep }));
  if (rep.close < 0.999) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) main();
