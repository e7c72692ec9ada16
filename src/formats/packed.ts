/**
 * Checks shared by every format's pack and unpack: shapes, parameters and
 * array sizes are validated before any byte is read.
 */
import { f16ToF32, f32ToF16 } from '../tensor/dtype.js';
import type { FormatParams, PackedTensor, QuantFormat, QuantizedTensor } from './types.js';

/** Throws unless `p` is a well-formed packed tensor of format `fmt`; returns [out, in]. */
export function checkPacked(fmt: QuantFormat, p: PackedTensor): [number, number] {
  if (p.format !== fmt.id) throw new Error(`unpack ${fmt.id}: got a packed ${p.format} tensor`);
  const [out, inn] = p.shape;
  if (!Number.isSafeInteger(out) || !Number.isSafeInteger(inn) || out < 1 || inn < 1) {
    throw new Error(`unpack ${fmt.id}: invalid shape [${p.shape.join(', ')}]`);
  }
  const expected = fmt.arrayBytes(p.shape, p.params);
  for (const name of fmt.arrays) {
    const a = p.arrays[name];
    if (a === undefined) throw new Error(`unpack ${fmt.id}: missing array '${name}'`);
    if (a.length !== expected[name]) {
      throw new Error(`unpack ${fmt.id} [${out}, ${inn}]: array '${name}' has ${a.length} bytes, expected ${expected[name]}`);
    }
  }
  return [out, inn];
}

/** An integer parameter, validated. */
export function intParam(fmt: string, params: FormatParams, name: string, min: number, max: number): number {
  const v = params[name];
  if (v === undefined || !Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${fmt}: parameter ${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return v;
}

/** f32 values that must be exact f16 numbers → their f16 bit patterns. */
export function exactF16(what: string, v: Float32Array): Uint16Array {
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const h = f32ToF16(v[i] as number);
    if (!Object.is(f16ToF32(h), v[i])) throw new Error(`${what}[${i}] = ${v[i]} is not an fp16 value`);
    out[i] = h;
  }
  return out;
}

/** Throws unless the tensor's weight has out·in values and its format is `fmt`. */
export function checkTensor(fmt: string, t: QuantizedTensor): void {
  if (t.format !== fmt) throw new Error(`pack ${fmt}: tensor is for format ${t.format ?? 'none'}`);
  if (t.weight.length !== t.out * t.in) throw new Error(`pack ${fmt}: weight has ${t.weight.length} values for [${t.out}, ${t.in}]`);
}

/** perm [in] → u16 bytes; the formats store permutations as u16, so in ≤ 65536. */
export function permU16(perm: Uint32Array): Uint16Array {
  if (perm.length > 65536) throw new Error(`permutation of ${perm.length} columns does not fit u16 (max 65536)`);
  return Uint16Array.from(perm);
}

/** Throws unless perm holds each of 0 … inn − 1 exactly once. */
export function checkPermutation(perm: ArrayLike<number>, inn: number): void {
  if (perm.length !== inn) throw new Error(`permutation of ${perm.length} entries for ${inn} columns`);
  const seen = new Uint8Array(inn);
  for (let c = 0; c < inn; c++) {
    const j = perm[c] as number;
    if (!(j < inn) || seen[j] === 1) throw new Error(`permutation entry ${c} = ${j} is out of range or repeated (in = ${inn})`);
    seen[j] = 1;
  }
}

/** Ŵ in original column order from layout-order values: out[r, perm[c]] = layout[r, c]. Validates perm. */
export function unpermuteColumns(layout: Float32Array, out: number, inn: number, perm: ArrayLike<number> | null): Float32Array {
  if (perm === null) return layout;
  checkPermutation(perm, inn);
  const w = new Float32Array(out * inn);
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < inn; c++) w[r * inn + (perm[c] as number)] = layout[r * inn + c] as number;
  }
  return w;
}
