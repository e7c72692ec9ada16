/**
 * Random packed tensors, generated directly as packed bytes with a seeded PRNG
 * (no quantization): valid inputs for every format's unpack and for the packed
 * kernels, at any shape. Used by the kernel tests (odd shapes, perm, outliers in
 * some rows and none in others) and by the benchmarks (Llama-7B/8B-shaped
 * models in every format, built in seconds).
 *
 * Magnitudes are those of a real 7B linear layer (|Ŵ| ≈ 0.02), so activations
 * stay finite through a random model.
 */
import { f32ToF16 } from '../tensor/dtype.js';
import { packedBytes, packedRowWords } from './bytes.js';
import { FORMATS } from './index.js';
import type { FormatId, FormatParams, PackedTensor } from './types.js';

/** xorshift32 words; seed 0 is remapped. */
export function randomWords(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** Options of `randomPacked` beyond the format's parameters. */
export interface RandomPackedOptions {
  /** SpQR: fraction of entries that are outliers (default 0.01); every 5th row has none. */
  readonly outlierRate?: number;
}

/** Random bit-packed [rows, cols] b-bit matrix: random words, padding bits zero. */
function randomBits(next: () => number, rows: number, cols: number, bits: number): Uint8Array {
  const bytes = new Uint8Array(packedBytes(rows, cols, bits));
  const u32 = new Uint32Array(bytes.buffer);
  for (let i = 0; i < u32.length; i++) u32[i] = next();
  const rowWords = packedRowWords(cols, bits);
  const used = cols * bits;
  if (used < rowWords * 32) {
    for (let r = 0; r < rows; r++) {
      for (let bit = used; bit < rowWords * 32; bit++) {
        const i = r * rowWords * 4 + (bit >> 3);
        bytes[i] = (bytes[i] as number) & ~(1 << (bit & 7));
      }
    }
  }
  return bytes;
}

function u16(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = v >>> 8;
  }
  return out;
}

const f16Of = (x: number): number => f32ToF16(x);

function randomPerm(next: () => number, n: number): Uint8Array {
  const p = new Uint16Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return u16(p);
}

/**
 * A random packed [out, in] tensor of `format` with these parameters
 * (int*: groupSize, permuted; spqr: bits, groupSize, qqBits, qqGroup,
 * permuted — `outliers` is set from the generated count). Passthrough formats
 * get random values of about that size.
 */
export function randomPacked(format: FormatId, shape: readonly [number, number], params: FormatParams, seed: number, opts: RandomPackedOptions = {}): PackedTensor {
  const [out, inn] = shape;
  const next = randomWords(seed);
  const unit = (): number => next() / 4294967296;
  const fmt = FORMATS[format];
  if (format === 'f32' || format === 'f16' || format === 'bf16') {
    const n = out * inn;
    if (format === 'f32') {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = (unit() - 0.5) * 0.04;
      return { format, shape: [out, inn], params: {}, arrays: { data: new Uint8Array(v.buffer) } };
    }
    const h = new Uint16Array(n);
    if (format === 'f16') {
      for (let i = 0; i < n; i++) h[i] = f16Of((unit() - 0.5) * 0.04);
    } else {
      // bf16 bit patterns straight from the random words, two per word: random sign and
      // mantissa, exponent 2^-8 or 2^-7, so |x| ∈ [0.0039, 0.0156) (7B-sized models in seconds)
      for (let i = 0; i < n; i += 2) {
        const r = next();
        h[i] = (r & 0x8000) | ((119 + ((r >>> 7) & 1)) << 7) | (r & 0x7f);
        if (i + 1 < n) h[i + 1] = ((r >>> 16) & 0x8000) | ((119 + ((r >>> 23) & 1)) << 7) | ((r >>> 24) & 0x7f);
      }
    }
    return { format, shape: [out, inn], params: {}, arrays: { data: new Uint8Array(h.buffer) } };
  }
  const permuted = params.permuted === 1 ? 1 : 0;
  const g = params.groupSize as number;
  const nGroups = Math.ceil(inn / g);
  if (format !== 'spqr') {
    const bits = fmt.bits as number;
    const maxq = 2 ** bits - 1;
    // scale ≈ 0.04 / maxq, so Ŵ spans about ±0.02 around the zero
    const scales = new Uint16Array(nGroups * out);
    for (let i = 0; i < scales.length; i++) scales[i] = f16Of((0.02 + 0.04 * unit()) / maxq);
    const zeros = randomBits(next, nGroups, out, bits);
    return {
      format,
      shape: [out, inn],
      params: { groupSize: g, permuted },
      arrays: { codes: randomBits(next, out, inn, bits), scales: u16(scales), zeros, perm: permuted ? randomPerm(next, inn) : new Uint8Array(0) },
    };
  }
  const bits = params.bits as number;
  const qqBits = params.qqBits as number;
  const qqGroup = params.qqGroup as number;
  const nStat = Math.ceil(out / qqGroup);
  const maxq = 2 ** bits - 1;
  const qmax = 2 ** qqBits - 1;
  // first-level scale s = s2·(code − z2) ∈ [0.02, 0.06]/maxq; zero z = zs·(code − zz) ∈ [0, maxq]
  const scaleStats = new Uint16Array(nGroups * nStat * 2);
  const zeroStats = new Uint16Array(nGroups * nStat * 2);
  for (let i = 0; i < nGroups * nStat; i++) {
    scaleStats[2 * i] = f16Of((0.04 * (1 + 0.1 * unit())) / maxq / qmax);
    scaleStats[2 * i + 1] = f16Of(-qmax / 2);
    zeroStats[2 * i] = f16Of((maxq / qmax) * (0.9 + 0.1 * unit()));
    zeroStats[2 * i + 1] = f16Of(0);
  }
  const rate = opts.outlierRate ?? 0.01;
  const rowPtr = new Uint32Array(out + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < out; r++) {
    if (r % 5 !== 4 && rate > 0) {
      // geometric gaps: each column independently an outlier with probability `rate`
      for (let c = Math.floor(Math.log(1 - unit()) / Math.log(1 - rate)); c < inn; c += 1 + Math.floor(Math.log(1 - unit()) / Math.log(1 - rate))) {
        cols.push(c);
        vals.push(f16Of((unit() - 0.5) * 0.2));
      }
    }
    rowPtr[r + 1] = cols.length;
  }
  const rowPtrBytes = new Uint8Array(4 * (out + 1));
  const dv = new DataView(rowPtrBytes.buffer);
  rowPtr.forEach((v, i) => dv.setUint32(4 * i, v, true));
  return {
    format,
    shape: [out, inn],
    params: { bits, groupSize: g, qqBits, qqGroup, permuted, outliers: cols.length },
    arrays: {
      codes: randomBits(next, out, inn, bits),
      scaleCodes: randomBits(next, nGroups, out, qqBits),
      zeroCodes: randomBits(next, nGroups, out, qqBits),
      scaleStats: u16(scaleStats),
      zeroStats: u16(zeroStats),
      outlierRowPtr: rowPtrBytes,
      outlierCol: u16(cols),
      outlierVal: u16(vals),
      perm: permuted ? randomPerm(next, inn) : new Uint8Array(0),
    },
  };
}
