/**
 * Passthrough formats for tensors kept in floating point (norms, embeddings,
 * lm_head, or a layer left unquantized): one array `data` of little-endian
 * f32, f16 or bf16 values [out, in]. Packing never rounds: the tensor's weight
 * must already hold values of that dtype (use `denseTensor`), so that unpack
 * returns it bit for bit.
 */
import { bf16ArrayToF32, bf16ToF32, f16ArrayToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../tensor/dtype.js';
import { bytesF32, bytesU16, f32Bytes, u16Bytes } from './bytes.js';
import { checkPacked, checkTensor } from './packed.js';
import type { PackedTensor, QuantFormat, QuantizedTensor, UnpackedTensor } from './types.js';

type DenseId = 'f32' | 'f16' | 'bf16';

const ROUND: Record<DenseId, (x: number) => number> = {
  f32: Math.fround,
  f16: (x) => f16ToF32(f32ToF16(x)),
  bf16: (x) => bf16ToF32(f32ToBf16(x)),
};

/** A passthrough tensor: W [out, in] rounded to the dtype (f32 values are kept as they are). */
export function denseTensor(format: DenseId, W: Float32Array, out: number, inn: number): QuantizedTensor {
  if (W.length !== out * inn) throw new Error(`denseTensor: ${W.length} values for [${out}, ${inn}]`);
  const round = ROUND[format];
  return { format, out, in: inn, weight: W.map(round), grid: null, bilevel: null, outliers: null };
}

function toBits(id: DenseId, w: Float32Array): Uint16Array {
  const enc = id === 'f16' ? f32ToF16 : f32ToBf16;
  const dec = id === 'f16' ? f16ToF32 : bf16ToF32;
  const out = new Uint16Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const h = enc(w[i] as number);
    if (!Object.is(dec(h), w[i]) && !Number.isNaN(w[i])) throw new Error(`pack ${id}: weight[${i}] = ${w[i]} is not a ${id} value`);
    out[i] = h;
  }
  return out;
}

export function denseFormat(id: DenseId, code: number): QuantFormat {
  const elemBytes = id === 'f32' ? 4 : 2;
  const fmt: QuantFormat = {
    id,
    code,
    bits: elemBytes * 8,
    groups: 'none: every element stored as is',
    kernelParams: [],
    arrays: ['data'],
    f16Arrays: [], // read as host tensors and checked as floats
    params: () => ({}),
    arrayBytes: ([out, inn]) => ({ data: out * inn * elemBytes }),
    pack(t: QuantizedTensor): PackedTensor {
      checkTensor(id, t);
      const data = id === 'f32' ? f32Bytes(t.weight) : u16Bytes(toBits(id, t.weight));
      return { format: id, shape: [t.out, t.in], params: {}, arrays: { data } };
    },
    checkIndices(p: PackedTensor): void {
      checkPacked(fmt, p); // no index arrays
    },
    unpack(p: PackedTensor): UnpackedTensor {
      checkPacked(fmt, p);
      const data = p.arrays.data as Uint8Array;
      const weight = id === 'f32' ? bytesF32(data) : id === 'f16' ? f16ArrayToF32(bytesU16(data)) : bf16ArrayToF32(bytesU16(data));
      return { weight, codes: null };
    },
  };
  return fmt;
}
