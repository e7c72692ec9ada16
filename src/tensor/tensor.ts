/**
 * Host tensors: a dtype, a row-major shape and a typed array holding exactly
 * `numel(shape)` elements. Shapes are checked when a tensor is made; every
 * mismatch names both shapes.
 */
import { bf16ArrayToF32, f16ArrayToF32, type DType, type DTypeArray } from './dtype.js';

export type Shape = readonly number[];

export interface HostTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  readonly data: DTypeArray[D];
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export const shapeStr = (shape: Shape): string => `[${shape.join(', ')}]`;

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws unless `actual` equals `expected`; `what` names the tensor in the message. */
export function assertShape(what: string, actual: Shape, expected: Shape): void {
  if (!sameShape(actual, expected)) {
    throw new Error(`${what}: expected shape ${shapeStr(expected)}, got ${shapeStr(actual)}`);
  }
}

function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`invalid shape ${shapeStr(shape)}`);
  }
}

const ALLOC: { [D in DType]: (n: number) => DTypeArray[D] } = {
  f32: (n) => new Float32Array(n),
  f16: (n) => new Uint16Array(n),
  bf16: (n) => new Uint16Array(n),
  i8: (n) => new Int8Array(n),
  u8: (n) => new Uint8Array(n),
  i16: (n) => new Int16Array(n),
  i32: (n) => new Int32Array(n),
  i64: (n) => new BigInt64Array(n),
  bool: (n) => new Uint8Array(n),
};

/** A zero-filled host tensor. */
export function zeros<D extends DType>(dtype: D, shape: Shape): HostTensor<D> {
  checkShape(shape);
  return { dtype, shape: [...shape], data: ALLOC[dtype](numel(shape)) };
}

/** Wraps an existing typed array; its length must equal the shape's element count. */
export function tensor<D extends DType>(dtype: D, shape: Shape, data: DTypeArray[D]): HostTensor<D> {
  checkShape(shape);
  if (data.length !== numel(shape)) {
    throw new Error(`tensor ${shapeStr(shape)} needs ${numel(shape)} elements, got ${data.length}`);
  }
  return { dtype, shape: [...shape], data };
}

/** The values of a float tensor as f32 (widening f16/bf16; f32 is returned as is). */
export function toF32(t: HostTensor): Float32Array {
  switch (t.dtype) {
    case 'f32':
      return t.data as Float32Array;
    case 'bf16':
      return bf16ArrayToF32(t.data as Uint16Array);
    case 'f16':
      return f16ArrayToF32(t.data as Uint16Array);
    default:
      throw new Error(`toF32: tensor of dtype ${t.dtype} is not a float tensor`);
  }
}
