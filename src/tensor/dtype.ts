/**
 * Element types and exact conversions between f32 and the 16-bit floats.
 *
 * f16 (IEEE binary16) and bf16 (the top half of an f32) are stored as raw
 * 16-bit patterns in `Uint16Array`s; every conversion rounds to nearest, ties
 * to even, and keeps NaN a NaN and ±Inf an Inf.
 */

export type DType = 'f32' | 'f16' | 'bf16' | 'i8' | 'u8' | 'i16' | 'i32' | 'i64' | 'bool';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES = {
  f32: 4,
  f16: 2,
  bf16: 2,
  i8: 1,
  u8: 1,
  i16: 2,
  i32: 4,
  i64: 8,
  bool: 1,
} as const satisfies Record<DType, number>;

/** The typed array that holds each dtype in a host tensor. */
export interface DTypeArray {
  f32: Float32Array;
  f16: Uint16Array;
  bf16: Uint16Array;
  i8: Int8Array;
  u8: Uint8Array;
  i16: Int16Array;
  i32: Int32Array;
  i64: BigInt64Array;
  bool: Uint8Array;
}

export const isFloatDType = (d: DType): d is 'f32' | 'f16' | 'bf16' => d === 'f32' || d === 'f16' || d === 'bf16';

const scratch = new ArrayBuffer(4);
const scratchF32 = new Float32Array(scratch);
const scratchU32 = new Uint32Array(scratch);

/** The bit pattern of an f32. */
export function f32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0] as number;
}

/** The f32 with bit pattern `bits`. */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0] as number;
}

/** f32 → bf16 bit pattern, round to nearest even; NaN stays a (quiet) NaN. */
export function f32ToBf16(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x0040) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bf16 bit pattern → f32 value (exact). */
export function bf16ToF32(h: number): number {
  return f32FromBits((h & 0xffff) << 16);
}

/** f32 → f16 bit pattern, round to nearest even, with subnormals; overflow → ±Inf. */
export function f32ToF16(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    return sign | m;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** f16 bit pattern → f32 value (exact). */
export function f16ToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    const v = mant * 2 ** -24;
    return sign === 0 ? v : -v;
  }
  if (exp === 0x1f) return f32FromBits(sign | 0x7f800000 | (mant << 13));
  return f32FromBits(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

/** Widens packed bf16 patterns to f32. `out` may be passed to avoid an allocation. */
export function bf16ArrayToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const o32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) o32[i] = (src[i] as number) << 16;
  return out;
}

/** Widens packed f16 patterns to f32 through a 64 K lookup table. */
export function f16ArrayToF32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const table = f16Table();
  for (let i = 0; i < src.length; i++) out[i] = table[src[i] as number] as number;
  return out;
}

/** Rounds f32 values to bf16 patterns. */
export function f32ArrayToBf16(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = f32ToBf16(src[i] as number);
  return out;
}

/** Rounds f32 values to f16 patterns. */
export function f32ArrayToF16(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16(src[i] as number);
  return out;
}

let f16Lut: Float32Array | undefined;
/** f16 bit pattern → f32 value for all 65536 patterns (built once). */
export function f16Table(): Float32Array {
  if (!f16Lut) {
    f16Lut = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Lut[h] = f16ToF32(h);
  }
  return f16Lut;
}
