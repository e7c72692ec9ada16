/**
 * WebGPU device tensors: a dtype, a shape and one or more storage buffers.
 *
 * Layout: row-major; f32 and i32 one element per 32-bit word; f16/bf16 two per
 * u32 (element 2i in the low half), so 16-bit weights stay 16-bit on the GPU
 * whether or not the device has `shader-f16`. A tensor whose bytes exceed the
 * largest storage binding is split along its first dimension into row chunks,
 * each its own buffer (binding); only matmul weights and embedding tables may
 * be chunked, every other op asks for a single chunk.
 */
import { DTYPE_BYTES, type DType } from '../../tensor/dtype.js';
import { numel, shapeStr, type Shape } from '../../tensor/tensor.js';
import type { Tensor } from '../backend.js';

/** The dtypes a WebGPU tensor may have. */
export type GpuDType = 'f32' | 'i32' | 'f16' | 'bf16';
export const GPU_DTYPES: readonly DType[] = ['f32', 'i32', 'f16', 'bf16'];

export interface GpuChunk {
  readonly buffer: GPUBuffer;
  /** First row of the tensor in this chunk. */
  readonly row0: number;
  readonly rows: number;
  /** Bytes of the buffer (element bytes rounded up to 16, so vec4 bindings always fit). */
  readonly bytes: number;
}

export class GpuTensor implements Tensor {
  readonly dtype: GpuDType;
  readonly shape: Shape;
  /** Rows (first dimension; 1 for a scalar) and elements per row. */
  readonly rows: number;
  readonly rowElems: number;
  chunks: readonly GpuChunk[] | null;

  constructor(dtype: GpuDType, shape: Shape, chunks: readonly GpuChunk[]) {
    this.dtype = dtype;
    this.shape = [...shape];
    this.rows = shape.length === 0 ? 1 : (shape[0] as number);
    this.rowElems = shape.length === 0 ? 1 : numel(shape.slice(1));
    this.chunks = chunks;
  }

  get numel(): number {
    return this.rows * this.rowElems;
  }

  /** The single buffer of an unchunked tensor; `op` names the caller in the error. */
  single(op: string, name: string): GPUBuffer {
    const c = this.live();
    if (c.length !== 1) {
      throw new Error(`${op}: ${name} ${this.dtype}${shapeStr(this.shape)} is split into ${c.length} buffers (larger than one storage binding); only matmul weights and embedding tables may be`);
    }
    return (c[0] as GpuChunk).buffer;
  }

  live(): readonly GpuChunk[] {
    if (this.chunks === null) throw new Error('webgpu backend: tensor used after free');
    return this.chunks;
  }
}

/** Bytes that `n` elements of `dtype` occupy on the GPU (16-bit packed in pairs, padded to a whole u32). */
export function packedBytes(dtype: GpuDType, n: number): number {
  return dtype === 'f16' || dtype === 'bf16' ? Math.ceil(n / 2) * 4 : n * 4;
}

/** Buffer bytes for `n` elements: packed bytes rounded up to 16 (at least 16). */
export function bufferBytes(dtype: GpuDType, n: number): number {
  return Math.max(16, Math.ceil(packedBytes(dtype, n) / 16) * 16);
}

export function asGpuDType(op: string, dtype: DType, shape: Shape): GpuDType {
  if (!GPU_DTYPES.includes(dtype)) throw new Error(`${op}: webgpu tensors are f32, i32, f16 or bf16, not ${dtype}${shapeStr(shape)}`);
  return dtype as GpuDType;
}

/**
 * Splits `rows` rows of `rowElems` elements into chunks of at most `maxBytes`
 * buffer bytes each. Throws a clear error when one row alone is too large.
 */
export function planChunks(op: string, dtype: GpuDType, shape: Shape, maxBytes: number): { row0: number; rows: number }[] {
  const rows = shape.length === 0 ? 1 : (shape[0] as number);
  const rowElems = shape.length === 0 ? 1 : numel(shape.slice(1));
  if (bufferBytes(dtype, rows * rowElems) <= maxBytes) return [{ row0: 0, rows }];
  // rows per chunk: an even count for 16-bit dtypes keeps every chunk's start word-aligned in the source
  let per = Math.floor((maxBytes - 16) / (rowElems * DTYPE_BYTES[dtype]));
  if (per < 1) {
    const need = bufferBytes(dtype, rowElems);
    throw new Error(`${op}: one row of ${dtype}${shapeStr(shape)} needs ${need} bytes, more than the largest storage binding of ${maxBytes} bytes`);
  }
  if ((dtype === 'f16' || dtype === 'bf16') && per > 1) per -= per % 2;
  const out: { row0: number; rows: number }[] = [];
  for (let r = 0; r < rows; r += per) out.push({ row0: r, rows: Math.min(per, rows - r) });
  return out;
}
