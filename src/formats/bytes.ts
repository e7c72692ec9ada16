/**
 * Little-endian byte layouts shared by the packed formats.
 *
 * Bit-packed matrices: a [rows, cols] matrix of b-bit codes is stored row by
 * row; each row is a little-endian bit stream (element c at bits c·b … c·b+b−1,
 * low bits first) padded with zero bits to a whole number of 32-code blocks,
 * i.e. `rowWords = ceil(cols / 32) · b` u32 words. Because a little-endian
 * bit stream over u32 words is the same bit stream over bytes, the packer
 * works on bytes and is independent of the host's endianness. For b = 2, 4, 8
 * this is "32/b codes per u32, low bits first"; for b = 3, 32 codes fill
 * exactly 3 words and 2 of every 32 codes straddle a word boundary.
 */

/** u32 words per row of a bit-packed [rows, cols] b-bit matrix. */
export const packedRowWords = (cols: number, bits: number): number => Math.ceil(cols / 32) * bits;

/** Bytes of a bit-packed [rows, cols] b-bit matrix. */
export const packedBytes = (rows: number, cols: number, bits: number): number => rows * packedRowWords(cols, bits) * 4;

/** Packs codes [rows, cols] (each < 2^bits) into the bit-packed layout above. */
export function packBits(codes: Uint8Array, rows: number, cols: number, bits: number): Uint8Array {
  if (codes.length !== rows * cols) throw new Error(`packBits: ${codes.length} codes for [${rows}, ${cols}]`);
  const rowBytes = packedRowWords(cols, bits) * 4;
  const out = new Uint8Array(rows * rowBytes);
  const limit = 1 << bits;
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let c = 0; c < cols; c++) {
      const q = codes[r * cols + c] as number;
      if (q >= limit) throw new Error(`packBits: code ${q} at [${r}, ${c}] does not fit in ${bits} bits`);
      const bit = c * bits;
      const shifted = q << (bit & 7); // at most 7 + 8 bits: spans ≤ 2 bytes
      const i = base + (bit >> 3);
      out[i] = (out[i] as number) | (shifted & 0xff);
      if (shifted > 0xff) out[i + 1] = (out[i + 1] as number) | (shifted >> 8);
    }
  }
  return out;
}

/** Inverse of packBits: bytes → codes [rows, cols]. */
export function unpackBits(bytes: Uint8Array, rows: number, cols: number, bits: number): Uint8Array {
  const rowBytes = packedRowWords(cols, bits) * 4;
  if (bytes.length !== rows * rowBytes) {
    throw new Error(`unpackBits: ${bytes.length} bytes for [${rows}, ${cols}] ${bits}-bit, expected ${rows * rowBytes}`);
  }
  const out = new Uint8Array(rows * cols);
  const mask = (1 << bits) - 1;
  for (let r = 0; r < rows; r++) {
    const base = r * rowBytes;
    for (let c = 0; c < cols; c++) {
      const bit = c * bits;
      const i = base + (bit >> 3);
      const two = (bytes[i] as number) | (i + 1 < bytes.length ? (bytes[i + 1] as number) << 8 : 0);
      out[r * cols + c] = (two >> (bit & 7)) & mask;
    }
  }
  return out;
}

/** u16 values → little-endian bytes. */
export function u16Bytes(v: Uint16Array): Uint8Array {
  const out = new Uint8Array(v.length * 2);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    out[2 * i] = x & 0xff;
    out[2 * i + 1] = x >>> 8;
  }
  return out;
}

/** Little-endian bytes → u16 values. */
export function bytesU16(b: Uint8Array): Uint16Array {
  if (b.length % 2 !== 0) throw new Error(`bytesU16: odd byte length ${b.length}`);
  const out = new Uint16Array(b.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (b[2 * i] as number) | ((b[2 * i + 1] as number) << 8);
  return out;
}

/** u32 values → little-endian bytes. */
export function u32Bytes(v: Uint32Array): Uint8Array {
  const out = new Uint8Array(v.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) dv.setUint32(4 * i, v[i] as number, true);
  return out;
}

/** Little-endian bytes → u32 values. */
export function bytesU32(b: Uint8Array): Uint32Array {
  if (b.length % 4 !== 0) throw new Error(`bytesU32: byte length ${b.length} is not a multiple of 4`);
  const out = new Uint32Array(b.length / 4);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = dv.getUint32(4 * i, true);
  return out;
}

/** f32 values → little-endian bytes (bit patterns preserved). */
export function f32Bytes(v: Float32Array): Uint8Array {
  return u32Bytes(new Uint32Array(v.buffer, v.byteOffset, v.length));
}

/** Little-endian bytes → f32 values (bit patterns preserved, NaN payloads included). */
export function bytesF32(b: Uint8Array): Float32Array {
  return new Float32Array(bytesU32(b).buffer);
}

/** NaN and ±Inf among little-endian f16 values (exponent bits all set). */
export function nonFiniteF16(b: Uint8Array): { nan: number; inf: number } {
  let nan = 0;
  let inf = 0;
  for (let i = 0; i + 1 < b.length; i += 2) {
    const h = (b[i] as number) | ((b[i + 1] as number) << 8);
    if ((h & 0x7c00) === 0x7c00) {
      if (h & 0x03ff) nan++;
      else inf++;
    }
  }
  return { nan, inf };
}
