/**
 * Packed weights on the GPU: one storage buffer per tensor holding a 16-word
 * header (each array's offset in u32 words, in the format record's array
 * order; word 15: the tensor's statistics groups per row) and then the
 * format's byte arrays, each at a 16-byte-aligned offset (so vec4<u32> loads
 * of codes are aligned whenever a row's words are a multiple of 4). Kernels
 * read it through kernels/qpacked.wgsl. No dequantized copy ever exists.
 *
 * The arrays are as stored in the .lowbit file except the per-group
 * statistics of the int and SpQR formats, which are stored group-major
 * ([nGroups, out]: one group's value for every row side by side) and put
 * row-major here ([out, nGroups]; SpQR's second-level stats [nStat, nGroups, 2]):
 * the T = 1 GEMV's lanes walk one row's groups, so their statistics loads fall
 * in one cache line instead of one line per lane (qstats_int.wgsl, qstats_spqr.wgsl).
 * The int formats' scale (fp16) and zero (an integer below 2^bits, exact in fp16)
 * of a group share one u32 (the scale in the low half) in the place of the scales
 * array, and the zeros array is empty: one load per group and row. SpQR's
 * qqBits-bit scale and zero codes likewise share one field per group and row
 * (8 bits up to qqBits 4: four groups a word; 16 above), [out, nGroups] in the place
 * of scaleCodes, zeroCodes empty: one load for four groups' codes instead of two
 * windows of each array (at qqBits 3 the GPU image grows by 2 bits per group). SpQR's CSR
 * outliers likewise: each entry's column and fp16 value as one u32 (column | value << 16) in the
 * place of outlierCol, outlierVal empty: one aligned load an entry instead of two half-word ones.
 *
 * The codes of int2/4/8 tensors in groups of whole 32-column chunks are also
 * reordered (`codesInterleaved`): in every whole 128-column superchunk of a row,
 * natural word 4v + j moves to position j·bits + v (kernels/qcodes.wgsl), so the
 * four 32-code chunks that four neighbouring lanes load hold words whose inputs
 * lie side by side and the T = 1 GEMV reads its inputs straight from memory
 * (qgemv1_ilv.wgsl). 3-bit codes (int3, SpQR at 3 bits) are rearranged within each 32-code chunk
 * (`codesPaired3`) so that two codes 16 bits apart widen together as an f16 pair, as the 2- and
 * 4-bit ones do (kernels/qdot.wgsl). The file keeps the natural order.
 */
import { FORMATS } from '../../formats/index.js';
import { mergedIntStats } from '../../formats/int.js';
import { mergedOutliers } from '../../formats/spqr.js';
import type { FormatId, FormatParams, PackedTensor } from '../../formats/types.js';
import { shapeStr, type Shape } from '../../tensor/tensor.js';
import { packBits, packedBytes, packedRowWords, unpackBits } from '../../formats/bytes.js';
import type { Tensor } from '../backend.js';

/** Words of the offset header at the start of a packed buffer. */
export const QHEADER_WORDS = 16;

/** One buffer of a packed weight: rows row0 … row0 + rows − 1 as a packed tensor of their own (header, arrays). */
export interface GpuPackedChunk {
  readonly buffer: GPUBuffer;
  /** The buffer's QHEADER_WORDS header words (array offsets, groups per row), kept on the host too. */
  readonly header: readonly number[];
  /** Bytes of the buffer (header, arrays, alignment). */
  readonly bytes: number;
  readonly row0: number;
  readonly rows: number;
  /** The chunk's own parameters (a SpQR chunk counts its outliers). */
  readonly params: FormatParams;
}

/**
 * A packed weight on the GPU: one buffer, or (larger than one storage binding) row chunks, each
 * a packed tensor of its rows (formats/concat.ts slicePackedRows) that the matmul runs in turn.
 */
export class GpuPackedTensor implements Tensor {
  readonly dtype = 'u8' as const;
  readonly shape: Shape;
  readonly format: FormatId;
  readonly params: FormatParams;
  /** Bytes of the buffers (headers, arrays, alignment). */
  readonly bytes: number;
  chunks: readonly GpuPackedChunk[] | null;

  constructor(p: PackedTensor, chunks: readonly GpuPackedChunk[]) {
    this.shape = [...p.shape];
    this.format = p.format;
    this.params = p.params;
    this.chunks = chunks;
    this.bytes = chunks.reduce((n, c) => n + c.bytes, 0);
  }

  live(): readonly GpuPackedChunk[] {
    if (this.chunks === null) throw new Error('webgpu backend: tensor used after free');
    return this.chunks;
  }
}

/** The QHEADER_WORDS header words of a packed image. */
export const imageHeader = (image: Uint8Array): readonly number[] => Array.from(new Uint32Array(image.buffer, image.byteOffset, QHEADER_WORDS));

/** Header word holding the statistics groups per row (int and SpQR formats; 0 otherwise). */
const GROUPS_WORD = QHEADER_WORDS - 1;

/** How the GPU image lays out a format's statistics: which arrays are transposed, and how. */
interface StatsLayout {
  readonly nGroups: number;
  /** Bit-packed [nGroups, out] arrays (bits each) put as [out, nGroups]. */
  readonly packed: Record<string, number>;
  /** [nGroups, n, 2] fp16 pairs (or [nGroups, out] fp16 with n = out, pair = 1) put as [n, nGroups, pair]. */
  readonly halves: Record<string, { readonly n: number; readonly pair: number }>;
  /** int formats: the zeros' bits; scales and zeros merged into one [out, nGroups] u32 array. */
  readonly merged?: number;
  /** SpQR: the qqBits-bit scale and zero codes merged into one [out, nGroups] array of `field`-bit (scale, zero) fields. */
  readonly codePairs?: { readonly qq: number; readonly field: number };
  /** SpQR: each CSR outlier's column (u16) and fp16 value as one u32 (column | value << 16) in the place of outlierCol, outlierVal empty. */
  readonly outlierPairs?: boolean;
}

/** Bits of one (scale code, zero code) field in SpQR's GPU image: two nibbles up to 4-bit codes, two bytes above. */
export const spqrPairField = (qqBits: number): number => (qqBits <= 4 ? 8 : 16);

/** u32 words of one row of SpQR's merged code pairs. */
const pairRowWords = (nGroups: number, field: number): number => Math.ceil((nGroups * field) / 32);

function statsLayout(format: FormatId, [out, inn]: readonly [number, number], params: FormatParams): StatsLayout | null {
  const bits = FORMATS[format].bits;
  if (format !== 'spqr' && !(format.startsWith('int') && bits !== null)) return null;
  const nGroups = Math.ceil(inn / (params.groupSize as number));
  if (format === 'spqr') {
    const qq = params.qqBits as number;
    const nStat = Math.ceil(out / (params.qqGroup as number));
    return { nGroups, packed: {}, halves: { scaleStats: { n: nStat, pair: 2 }, zeroStats: { n: nStat, pair: 2 } }, codePairs: { qq, field: spqrPairField(qq) }, outlierPairs: true };
  }
  return { nGroups, packed: {}, halves: {}, merged: bits as number };
}

/** SpQR's scale and zero codes as one [out, nGroups] array of fields: the scale code in the low half, the zero code in the high half. */
function mergedSpqrCodes(p: PackedTensor, nGroups: number, qq: number, field: number): Uint8Array {
  const out = p.shape[0];
  const sc = unpackBits(p.arrays.scaleCodes as Uint8Array, nGroups, out, qq);
  const zc = unpackBits(p.arrays.zeroCodes as Uint8Array, nGroups, out, qq);
  const rowWords = pairRowWords(nGroups, field);
  const w = new Uint32Array(out * rowWords);
  for (let r = 0; r < out; r++) {
    for (let g = 0; g < nGroups; g++) {
      const bit = g * field;
      const v = (sc[g * out + r] as number) | ((zc[g * out + r] as number) << (field / 2));
      w[r * rowWords + (bit >>> 5)] = ((w[r * rowWords + (bit >>> 5)] as number) | (v << (bit & 31))) >>> 0;
    }
  }
  return new Uint8Array(w.buffer);
}

/** Whether the GPU image stores this tensor's codes lane-interleaved (kernels/qcodes.wgsl: Q_ILV). */
export function codesInterleaved(format: FormatId, params: FormatParams): boolean {
  const bits = FORMATS[format].bits;
  return format.startsWith('int') && (bits === 2 || bits === 4 || bits === 8) && (params.groupSize as number) % 32 === 0;
}

/** Whether the GPU image stores this tensor's 3-bit codes as f16-pair fields (kernels/qcodes.wgsl: Q_P3): int3, and SpQR at 3 bits. */
export function codesPaired3(format: FormatId, params: FormatParams): boolean {
  return format === 'int3' || (format === 'spqr' && params.bits === 3);
}

/**
 * 3-bit codes (bit-packed rows of whole 32-code chunks, formats/bytes.ts) with every chunk's three
 * words rearranged so that codes 16 bits apart can be widened as one f16 pair: code 10k + 5h + j
 * (k < 3, h < 2, j < 5) at bits 16h + 3j of word k; bit i of code 30 at bit 15 of word i, of
 * code 31 at bit 31. Word-parallel: a chunk's 96-bit stream holds codes 10k … 10k + 4 at bits
 * 30k … 30k + 14 and codes 10k + 5 … 10k + 9 at the next 15, so each word is two 15-bit fields
 * moved whole (a 7B int3 gate|up image, statistics included, takes ~0.4 s on this 2-core machine;
 * code by code the rearrangement took ~35 s a 7B model and timed the device runs out).
 */
function pairCodes3(a: Uint8Array): Uint8Array {
  const src = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.length));
  const dst = new Uint32Array(src.length);
  const F = 0x7fff;
  for (let i = 0; i + 2 < src.length; i += 3) {
    const w0 = src[i] as number;
    const w1 = src[i + 1] as number;
    const w2 = src[i + 2] as number;
    // codes 30 and 31 (bits 90 … 95) side by side 16 bits apart: bit k of each at bits k and 16 + k
    const top = ((w2 >>> 26) & 7) | (((w2 >>> 29) & 7) << 16);
    dst[i] = ((w0 & F) | (((w0 >>> 15) & F) << 16) | ((top & 0x10001) << 15)) >>> 0;
    dst[i + 1] = ((((w0 >>> 30) | (w1 << 2)) & F) | (((w1 >>> 13) & F) << 16) | (((top >>> 1) & 0x10001) << 15)) >>> 0;
    dst[i + 2] = ((((w1 >>> 28) | (w2 << 4)) & F) | (((w2 >>> 11) & F) << 16) | (((top >>> 2) & 0x10001) << 15)) >>> 0;
  }
  return new Uint8Array(dst.buffer);
}

/** Codes [out, inn] (bit-packed rows) with every whole 128-column superchunk's words interleaved: natural word 4v + j at j·bits + v. */
function interleaveCodes(a: Uint8Array, out: number, inn: number, bits: number): Uint8Array {
  const rowWords = packedRowWords(inn, bits);
  const src = new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.length));
  const dst = src.slice();
  const sw = 4 * bits;
  const supers = Math.floor(inn / 128);
  for (let r = 0; r < out; r++) {
    for (let s = 0; s < supers; s++) {
      const base = r * rowWords + s * sw;
      for (let o = 0; o < sw; o++) dst[base + (o % 4) * bits + Math.floor(o / 4)] = src[base + o] as number;
    }
  }
  return new Uint8Array(dst.buffer);
}

/** The GPU bytes of one array (transposed statistics, else as stored). */
function gpuArrayBytes(name: string, stored: number, out: number, L: StatsLayout | null): number {
  if (L?.merged !== undefined && (name === 'scales' || name === 'zeros')) return name === 'scales' ? out * L.nGroups * 4 : 0;
  if (L?.codePairs && (name === 'scaleCodes' || name === 'zeroCodes')) return name === 'scaleCodes' ? out * pairRowWords(L.nGroups, L.codePairs.field) * 4 : 0;
  if (L?.outlierPairs && (name === 'outlierCol' || name === 'outlierVal')) return name === 'outlierCol' ? 2 * stored : 0;
  const bits = L?.packed[name];
  return L && bits !== undefined ? packedBytes(out, L.nGroups, bits) : stored;
}

function gpuArray(name: string, a: Uint8Array, out: number, L: StatsLayout | null): Uint8Array {
  if (!L) return a;
  const bits = L.packed[name];
  if (bits !== undefined) {
    const q = unpackBits(a, L.nGroups, out, bits);
    const t = new Uint8Array(q.length);
    for (let g = 0; g < L.nGroups; g++) for (let r = 0; r < out; r++) t[r * L.nGroups + g] = q[g * out + r] as number;
    return packBits(t, out, L.nGroups, bits);
  }
  const h = L.halves[name];
  if (h !== undefined) {
    const src = new Uint16Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.length));
    const dst = new Uint16Array(src.length);
    for (let g = 0; g < L.nGroups; g++) {
      for (let i = 0; i < h.n; i++) for (let k = 0; k < h.pair; k++) dst[(i * L.nGroups + g) * h.pair + k] = src[(g * h.n + i) * h.pair + k] as number;
    }
    return new Uint8Array(dst.buffer);
  }
  return a;
}

/** One array as the GPU image holds it. */
function imageArray(name: string, p: PackedTensor, L: StatsLayout | null, ilv: boolean): Uint8Array {
  const a = p.arrays[name] as Uint8Array;
  const [out, inn] = p.shape;
  if (name === 'codes' && ilv) return interleaveCodes(a, out, inn, FORMATS[p.format].bits as number);
  if (name === 'codes' && codesPaired3(p.format, p.params)) return pairCodes3(a);
  if (L?.merged !== undefined && name === 'scales') return new Uint8Array(mergedIntStats(p, L.nGroups, L.merged).buffer);
  if (L?.merged !== undefined && name === 'zeros') return new Uint8Array(0);
  if (L?.codePairs && name === 'scaleCodes') return mergedSpqrCodes(p, L.nGroups, L.codePairs.qq, L.codePairs.field);
  if (L?.codePairs && name === 'zeroCodes') return new Uint8Array(0);
  if (L?.outlierPairs && name === 'outlierCol') return new Uint8Array(mergedOutliers(p).buffer);
  if (L?.outlierPairs && name === 'outlierVal') return new Uint8Array(0);
  return gpuArray(name, a, out, L);
}

/** The buffer image of a packed tensor: header words, then every array 16-byte aligned (statistics row-major). */
export function packedImage(p: PackedTensor): Uint8Array {
  const fmt = FORMATS[p.format];
  if (fmt.arrays.length > GROUPS_WORD) throw new Error(`${p.format}: ${fmt.arrays.length} arrays do not fit the packed header`);
  const sizes = fmt.arrayBytes(p.shape, p.params);
  const L = statsLayout(p.format, p.shape, p.params);
  const ilv = codesInterleaved(p.format, p.params);
  const arrays: Uint8Array[] = [];
  const offsets: number[] = [];
  let end = QHEADER_WORDS * 4;
  for (const name of fmt.arrays) {
    const a = p.arrays[name];
    if (a?.length !== sizes[name]) throw new Error(`uploadPacked ${p.format}${shapeStr(p.shape)}: array '${name}' has ${a?.length} bytes, expected ${sizes[name]}`);
    const g = imageArray(name, p, L, ilv);
    arrays.push(g);
    offsets.push(end);
    end = Math.ceil((end + g.length) / 16) * 16;
  }
  const img = new Uint8Array(Math.max(end, 16));
  const head = new DataView(img.buffer);
  arrays.forEach((a, i) => {
    head.setUint32(4 * i, (offsets[i] as number) / 4, true);
    img.set(a, offsets[i] as number);
  });
  head.setUint32(4 * GROUPS_WORD, L?.nGroups ?? 0, true);
  return img;
}

/** Bytes `packedImage(p)` will occupy, from the shapes alone. */
export function packedImageBytes(format: FormatId, shape: readonly [number, number], params: FormatParams): number {
  const fmt = FORMATS[format];
  const sizes = fmt.arrayBytes(shape, params);
  const L = statsLayout(format, shape, params);
  let end = QHEADER_WORDS * 4;
  for (const name of fmt.arrays) end = Math.ceil((end + gpuArrayBytes(name, sizes[name] as number, shape[0], L)) / 16) * 16;
  return end;
}
