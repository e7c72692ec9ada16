/**
 * Packed weights on the GPU: one storage buffer per tensor holding a 16-word
 * header (each array's offset in u32 words, in the format record's array
 * order) and then the format's byte arrays exactly as stored in the .lowbit
 * file, each at a 16-byte-aligned offset (so vec4<u32> loads of codes are
 * aligned whenever a row's words are a multiple of 4). Kernels read it through
 * kernels/qpacked.wgsl. No dequantized copy ever exists.
 */
import { FORMATS } from '../../formats/index.js';
import type { FormatId, FormatParams, PackedTensor } from '../../formats/types.js';
import { shapeStr, type Shape } from '../../tensor/tensor.js';
import type { Tensor } from '../backend.js';

/** Words of the offset header at the start of a packed buffer. */
export const QHEADER_WORDS = 16;

export class GpuPackedTensor implements Tensor {
  readonly dtype = 'u8' as const;
  readonly shape: Shape;
  readonly format: FormatId;
  readonly params: FormatParams;
  /** Bytes of the buffer (header, arrays, alignment). */
  readonly bytes: number;
  buffer: GPUBuffer | null;

  constructor(p: PackedTensor, buffer: GPUBuffer, bytes: number) {
    this.shape = [...p.shape];
    this.format = p.format;
    this.params = p.params;
    this.buffer = buffer;
    this.bytes = bytes;
  }

  live(): GPUBuffer {
    if (this.buffer === null) throw new Error('webgpu backend: tensor used after free');
    return this.buffer;
  }
}

/** The buffer image of a packed tensor: header words, then every array 16-byte aligned. */
export function packedImage(p: PackedTensor): Uint8Array {
  const fmt = FORMATS[p.format];
  if (fmt.arrays.length > QHEADER_WORDS) throw new Error(`${p.format}: ${fmt.arrays.length} arrays do not fit the packed header`);
  const sizes = fmt.arrayBytes(p.shape, p.params);
  const offsets: number[] = [];
  let end = QHEADER_WORDS * 4;
  for (const name of fmt.arrays) {
    const a = p.arrays[name];
    if (a?.length !== sizes[name]) throw new Error(`uploadPacked ${p.format}${shapeStr(p.shape)}: array '${name}' has ${a?.length} bytes, expected ${sizes[name]}`);
    offsets.push(end);
    end = Math.ceil((end + a.length) / 16) * 16;
  }
  const img = new Uint8Array(Math.max(end, 16));
  const head = new DataView(img.buffer);
  fmt.arrays.forEach((name, i) => {
    head.setUint32(4 * i, (offsets[i] as number) / 4, true);
    img.set(p.arrays[name] as Uint8Array, offsets[i] as number);
  });
  return img;
}

/** Bytes `packedImage(p)` will occupy, from the shapes alone. */
export function packedImageBytes(format: FormatId, shape: readonly [number, number], params: FormatParams): number {
  const fmt = FORMATS[format];
  const sizes = fmt.arrayBytes(shape, params);
  let end = QHEADER_WORDS * 4;
  for (const name of fmt.arrays) end = Math.ceil((end + (sizes[name] as number)) / 16) * 16;
  return end;
}
