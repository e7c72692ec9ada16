/**
 * The fast CPU path for packed int and SpQR weights, used by the backends with a fast matmul
 * kernel (createCpuBackend, createFastCpuBackend; `new CpuBackend()` keeps the reference in
 * packed.ts, which every WGSL kernel is tested against). Rows of Ŵ are decoded in layout
 * (permuted) order by loops specialised per code width, reading codes as u32 words, with each
 * group's (scale, zero) decoded once per row instead of once per weight; x is gathered by the
 * permutation once per call, so the product needs no scatter. Each decoded tile of rows then goes
 * through the backend's matmul kernel (WASM SIMD, threads). No dequantized copy of the matrix
 * exists: one tile of ≤ 2^18 values at a time.
 *
 * The decoded values equal dequantizeRows' bit for bit (Ŵ[r, perm[c]] = decoded[r, c]; the test
 * checks every format); only the products' summation order differs from the reference's.
 */
import { bytesU16, bytesU32, packedRowWords } from '../../formats/bytes.js';
import { FORMATS } from '../../formats/index.js';
import type { PackedTensor } from '../../formats/types.js';
import { checkPacked } from '../../formats/packed.js';
import { f16ArrayToF32, f16Table } from '../../tensor/dtype.js';
import { PACKED_TILE_ELEMS } from './packed.js';
import type { MatmulKernel } from './cpu.js';

/** The u32 words of a byte array: a view when aligned, else a copy. */
function words(b: Uint8Array): Uint32Array {
  if (b.byteOffset % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  return new Uint32Array(b.slice().buffer, 0, b.length >>> 2);
}

/** Code c of the bit-packed row whose words start at `wb` (formats/bytes.ts: code c at bits c·bits …, little-endian words). */
function codeAt(w: Uint32Array, wb: number, c: number, bits: number): number {
  const bit = c * bits;
  const i = wb + (bit >>> 5);
  const sh = bit & 31;
  let v = (w[i] as number) >>> sh;
  if (sh + bits > 32) v |= (w[i + 1] as number) << (32 - sh);
  return v & ((1 << bits) - 1);
}

/** dst[o + i] = s·(code − z) for the 32 / bits codes of each of words w[i0 … i1), unrolled per width (2, 4, 8 bits). */
function decodeWords(w: Uint32Array, i0: number, i1: number, bits: number, s: number, z: number, dst: Float32Array, o: number): void {
  if (bits === 4) {
    for (let i = i0; i < i1; i++, o += 8) {
      const v = w[i] as number;
      dst[o] = s * ((v & 15) - z);
      dst[o + 1] = s * (((v >>> 4) & 15) - z);
      dst[o + 2] = s * (((v >>> 8) & 15) - z);
      dst[o + 3] = s * (((v >>> 12) & 15) - z);
      dst[o + 4] = s * (((v >>> 16) & 15) - z);
      dst[o + 5] = s * (((v >>> 20) & 15) - z);
      dst[o + 6] = s * (((v >>> 24) & 15) - z);
      dst[o + 7] = s * ((v >>> 28) - z);
    }
  } else if (bits === 8) {
    for (let i = i0; i < i1; i++, o += 4) {
      const v = w[i] as number;
      dst[o] = s * ((v & 255) - z);
      dst[o + 1] = s * (((v >>> 8) & 255) - z);
      dst[o + 2] = s * (((v >>> 16) & 255) - z);
      dst[o + 3] = s * ((v >>> 24) - z);
    }
  } else {
    for (let i = i0; i < i1; i++, o += 16) {
      const v = w[i] as number;
      for (let j = 0; j < 16; j++) dst[o + j] = s * (((v >>> (2 * j)) & 3) - z);
    }
  }
}

/** The codes of one row (words from wb, K codes, whole 32-code chunks) into q[0 …]: 2, 3, 4 and 8 bits a word or chunk at a time. */
function unpackRow(w: Uint32Array, wb: number, bits: number, K: number, q: Uint8Array): void {
  const chunks = Math.ceil(K / 32);
  if (bits === 3) {
    // a chunk's 32 codes in 3 words: code j at bit 3j of the 96-bit stream
    for (let k = 0; k < chunks; k++) {
      const a = w[wb + 3 * k] as number;
      const b = w[wb + 3 * k + 1] as number;
      const c = w[wb + 3 * k + 2] as number;
      const o = 32 * k;
      for (let j = 0; j < 10; j++) q[o + j] = (a >>> (3 * j)) & 7;
      q[o + 10] = ((a >>> 30) | (b << 2)) & 7;
      for (let j = 0; j < 10; j++) q[o + 11 + j] = (b >>> (3 * j + 1)) & 7;
      q[o + 21] = ((b >>> 31) | (c << 1)) & 7;
      for (let j = 0; j < 10; j++) q[o + 22 + j] = (c >>> (3 * j + 2)) & 7;
    }
  } else if (bits === 2 || bits === 4 || bits === 8) {
    const per = 32 / bits;
    const mask = (1 << bits) - 1;
    for (let i = 0; i < chunks * bits; i++) {
      const v = w[wb + i] as number;
      for (let j = 0; j < per; j++) q[i * per + j] = (v >>> (j * bits)) & mask;
    }
  } else {
    for (let c = 0; c < K; c++) q[c] = codeAt(w, wb, c, bits);
  }
}

/**
 * dst[o + c] = round_f32(s_g · (code[c] − z_g)) for c in [0, K), group g = ⌊c / gs⌋; scale[g] and
 * zero[g] the row's statistics (SpQR: round_f32(code − z) first, as dequantizeRows does, since its
 * zeros are not integers). 2-, 4- and 8-bit int codes whose groups are whole words go a word at a
 * time; the rest are unpacked into `q` first.
 */
function decodeRow(w: Uint32Array, wb: number, bits: number, K: number, gs: number, scale: Float32Array, zero: Float32Array, roundDiff: boolean, q: Uint8Array, dst: Float32Array, o: number): void {
  const per = 32 / bits; // codes a word, when whole
  const byWord = !roundDiff && (bits === 2 || bits === 4 || bits === 8) && gs % per === 0;
  if (!byWord) unpackRow(w, wb, bits, K, q);
  for (let gi = 0, c0 = 0; c0 < K; gi++, c0 += gs) {
    let c = c0;
    const c1 = Math.min(K, c0 + gs);
    const s = scale[gi] as number;
    const z = zero[gi] as number;
    if (byWord) {
      const n = Math.floor((c1 - c0) / per); // whole words of the group (all but a row's ragged end)
      decodeWords(w, wb + c0 / per, wb + c0 / per + n, bits, s, z, dst, o + c0);
      for (c += n * per; c < c1; c++) dst[o + c] = s * (codeAt(w, wb, c, bits) - z);
    } else if (roundDiff) {
      for (; c < c1; c++) dst[o + c] = s * Math.fround((q[c] as number) - z);
    } else {
      for (; c < c1; c++) dst[o + c] = s * ((q[c] as number) - z);
    }
  }
}

/** A packed int or SpQR tensor ready for fast row decoding (arrays validated once). */
export class PackedRowDecoder {
  readonly out: number;
  readonly inn: number;
  /** Layout column c reads input perm[c]; null when unpermuted. */
  readonly perm: Uint16Array | null;
  private readonly bits: number;
  private readonly gs: number;
  private readonly nGroups: number;
  private readonly codes: Uint32Array;
  private readonly rowWords: number;
  // int: fp16 scales [nGroups, out] widened per row; zeros bit-packed [nGroups, out]
  private readonly scales: Uint16Array | null = null;
  private readonly zeros: Uint32Array | null = null;
  // SpQR: scale and zero codes [nGroups, out] (qqBits), second-level pairs [nGroups, nStat, 2] f32, CSR outliers
  private readonly spqr: {
    readonly qqBits: number;
    readonly qqGroup: number;
    readonly nStat: number;
    readonly scaleCodes: Uint32Array;
    readonly zeroCodes: Uint32Array;
    readonly scaleStats: Float32Array;
    readonly zeroStats: Float32Array;
    readonly rowPtr: Uint32Array;
    readonly col: Uint16Array;
    readonly val: Float32Array;
  } | null = null;
  private readonly statRowWords: number;
  private readonly sRow: Float32Array;
  private readonly zRow: Float32Array;
  /** One row's codes, unpacked (whole 32-code chunks). */
  private readonly qRow: Uint8Array;

  constructor(p: PackedTensor) {
    const fmt = FORMATS[p.format];
    const [out, inn] = checkPacked(fmt, p);
    this.out = out;
    this.inn = inn;
    this.gs = p.params.groupSize as number;
    this.nGroups = Math.ceil(inn / this.gs);
    this.perm = p.params.permuted === 1 ? bytesU16(p.arrays.perm as Uint8Array) : null;
    this.sRow = new Float32Array(this.nGroups);
    this.zRow = new Float32Array(this.nGroups);
    this.qRow = new Uint8Array(Math.ceil(inn / 32) * 32);
    if (p.format === 'spqr') {
      const qqBits = p.params.qqBits as number;
      const qqGroup = p.params.qqGroup as number;
      this.bits = p.params.bits as number;
      this.statRowWords = packedRowWords(out, qqBits);
      this.spqr = {
        qqBits,
        qqGroup,
        nStat: Math.ceil(out / qqGroup),
        scaleCodes: words(p.arrays.scaleCodes as Uint8Array),
        zeroCodes: words(p.arrays.zeroCodes as Uint8Array),
        scaleStats: f16ArrayToF32(bytesU16(p.arrays.scaleStats as Uint8Array)),
        zeroStats: f16ArrayToF32(bytesU16(p.arrays.zeroStats as Uint8Array)),
        rowPtr: bytesU32(p.arrays.outlierRowPtr as Uint8Array),
        col: bytesU16(p.arrays.outlierCol as Uint8Array),
        val: f16ArrayToF32(bytesU16(p.arrays.outlierVal as Uint8Array)),
      };
      const rp = this.spqr.rowPtr;
      if (rp[0] !== 0 || rp[out] !== p.params.outliers) throw new Error(`packed spqr: outlier row pointers do not span 0 … ${p.params.outliers}`);
      for (let r = 0; r < out; r++) if ((rp[r + 1] as number) < (rp[r] as number)) throw new Error(`packed spqr: outlier row pointers decrease at row ${r}`);
      for (const c of this.spqr.col) if (c >= inn) throw new Error(`packed spqr: outlier column ${c} out of range (in = ${inn})`);
    } else {
      this.bits = fmt.bits as number;
      this.statRowWords = packedRowWords(out, this.bits);
      this.scales = bytesU16(p.arrays.scales as Uint8Array);
      this.zeros = words(p.arrays.zeros as Uint8Array);
    }
    this.rowWords = packedRowWords(inn, this.bits);
    this.codes = words(p.arrays.codes as Uint8Array);
  }

  /** Rows r0 … r1 − 1 of Ŵ in layout order into dst ([r1 − r0, in]): decoded[r, c] = Ŵ[r, perm[c]]. */
  rows(r0: number, r1: number, dst: Float32Array): void {
    const { inn, nGroups, sRow, zRow, out } = this;
    const f16 = f16Table();
    for (let r = r0; r < r1; r++) {
      const q = this.spqr;
      if (q) {
        const blk = Math.floor(r / q.qqGroup);
        for (let g = 0; g < nGroups; g++) {
          const st = 2 * (g * q.nStat + blk);
          const sc = codeAt(q.scaleCodes, g * this.statRowWords, r, q.qqBits);
          const zc = codeAt(q.zeroCodes, g * this.statRowWords, r, q.qqBits);
          sRow[g] = (q.scaleStats[st] as number) * Math.fround(sc - (q.scaleStats[st + 1] as number));
          zRow[g] = (q.zeroStats[st] as number) * Math.fround(zc - (q.zeroStats[st + 1] as number));
        }
      } else {
        const sc = this.scales as Uint16Array;
        for (let g = 0; g < nGroups; g++) {
          sRow[g] = f16[sc[g * out + r] as number] as number;
          zRow[g] = codeAt(this.zeros as Uint32Array, g * this.statRowWords, r, this.bits);
        }
      }
      const o = (r - r0) * inn;
      decodeRow(this.codes, r * this.rowWords, this.bits, inn, this.gs, sRow, zRow, q !== null, this.qRow, dst, o);
      if (q) {
        for (let e = q.rowPtr[r] as number; e < (q.rowPtr[r + 1] as number); e++) {
          const i = o + (q.col[e] as number);
          dst[i] = (dst[i] as number) + (q.val[e] as number);
        }
      }
    }
  }

}

/** x [T, K] with its columns gathered: xs[t, j] = x[t, idx[j]], into `into` (≥ T·K values). */
export function gatherColumns(x: Float32Array, T: number, idx: ArrayLike<number>, into: Float32Array): Float32Array {
  const K = idx.length;
  const xs = into.subarray(0, T * K);
  for (let t = 0; t < T; t++) for (let j = 0; j < K; j++) xs[t * K + j] = x[t * K + (idx[j] as number)] as number;
  return xs;
}

/** Scratch f32 arrays of at least n values by purpose, kept between calls (the backend's: inside the kernel's memory where it has one, so the kernel reads them in place). */
export type ScratchF32 = (purpose: 'x' | 'w' | 'y', n: number) => Float32Array;

/**
 * out = x·Ŵᵀ (+ bias) through `dense` on tiles decoded by `d`; out: [T, M], x: [T, K]. x is gathered
 * into layout order first (xs[t, c] = x[t, perm[c]]) when the tensor is permuted.
 */
export function fastPackedMatmul(out: Float32Array, x: Float32Array, d: PackedRowDecoder, T: number, dense: MatmulKernel, scratch: ScratchF32, bias?: Float32Array): void {
  const M = d.out;
  const K = d.inn;
  const xs = d.perm ? gatherColumns(x, T, d.perm, scratch('x', T * K)) : x;
  const rows = Math.max(1, Math.min(M, Math.floor(PACKED_TILE_ELEMS / K)));
  for (let r0 = 0; r0 < M; r0 += rows) {
    const r1 = Math.min(M, r0 + rows);
    const n = r1 - r0;
    const wt = scratch('w', rows * K).subarray(0, n * K);
    d.rows(r0, r1, wt);
    const b = bias?.subarray(r0, r1);
    if (T === 1) {
      dense(out.subarray(r0, r1), xs, wt, 1, K, n, b);
      continue;
    }
    const y = scratch('y', T * rows).subarray(0, T * n);
    dense(y, xs, wt, T, K, n, b);
    for (let t = 0; t < T; t++) out.set(y.subarray(t * n, (t + 1) * n), t * M + r0);
  }
}
