/**
 * safetensors files: lazy per-tensor reads and atomic writes.
 *
 * Opening a file reads only the 8-byte prefix and the JSON header and
 * validates them (see safetensors-header.ts); each `read(name)` then reads
 * just that tensor's bytes with a positioned read into a fresh typed array, so
 * a model larger than memory stays loadable tensor by tensor. Sharded models
 * (`model.safetensors.index.json`) are in safetensors-sharded.ts and expose
 * the same `TensorSource`.
 */
import type { FileHandle } from 'node:fs/promises';
import { DTYPE_BYTES, type DType } from '../tensor/dtype.js';
import { numel, shapeStr, zeros, type HostTensor, type Shape } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { allocFor, InputError } from './errors.js';
import { asInputError, openValidated, readFullyAt, writeFullyAt } from './file.js';
import { encodeHeader, parseHeader, parseHeaderLength, SAFETENSORS_PREFIX_BYTES } from './safetensors-header.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  /** Row-major; `[]` is a scalar (one element). */
  readonly shape: Shape;
  /** numel(shape) × DTYPE_BYTES[dtype]. */
  readonly byteLength: number;
  /** The file holding the data, and the data's absolute byte offset in it. */
  readonly file: string;
  readonly offset: number;
}

/** A single file or a sharded model; the model loader uses only this. */
export interface TensorSource {
  /** Every tensor, in file order (shard by shard for sharded models). */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The `__metadata__` string map (merged over the shards of a sharded model). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Reads only this tensor's bytes into a fresh typed array. */
  read(name: string): Promise<HostTensor>;
  /** Closes the file handles; reads after this throw. */
  close(): Promise<void>;
}

/** Tensors to write, in order: a list, a generator, or an async generator. */
export type TensorEntries = Iterable<readonly [string, HostTensor]> | AsyncIterable<readonly [string, HostTensor]>;

/** Opens one safetensors file, reading and validating only its header. */
export function openSafetensors(path: string): Promise<TensorSource> {
  return openValidated(path, async (fh, size) => {
    const prefix = new Uint8Array(Math.min(SAFETENSORS_PREFIX_BYTES, size));
    await readFullyAt(fh, path, 'header length', prefix, 0);
    const n = parseHeaderLength(path, prefix, size);
    const json = new Uint8Array(n);
    await readFullyAt(fh, path, 'header', json, SAFETENSORS_PREFIX_BYTES);
    const dataStart = SAFETENSORS_PREFIX_BYTES + n;
    const header = parseHeader(path, json, size - dataStart);
    const tensors = new Map<string, TensorInfo>();
    for (const e of header.entries) {
      const info = { name: e.name, dtype: e.dtype, shape: e.shape, byteLength: e.end - e.begin, file: path, offset: dataStart + e.begin };
      tensors.set(e.name, info);
    }
    return fileSource(path, fh, tensors, header.metadata);
  });
}

function fileSource(
  path: string,
  fh: FileHandle,
  tensors: ReadonlyMap<string, TensorInfo>,
  metadata: Readonly<Record<string, string>>,
): TensorSource {
  let closed = false;
  return {
    tensors,
    metadata,
    async read(name) {
      const info = tensors.get(name);
      if (info === undefined) throw new InputError(path, `no tensor named "${name}"`);
      if (closed) throw new Error(`${path}: read of tensor "${name}" after close`);
      // a byte view of the whole tensor is one Uint8Array too: both within the engine's array limit
      const [t, bytes] = allocFor(path, `tensor "${name}"`, info.byteLength, () => {
        const z = zeros(info.dtype, info.shape);
        return [z, bytesOf(z)] as const;
      });
      try {
        await readFullyAt(fh, path, `tensor "${name}"`, bytes, info.offset);
      } catch (e) {
        throw asInputError(path, e);
      }
      return t;
    },
    async close() {
      if (!closed) await fh.close();
      closed = true;
    },
  };
}

/**
 * Writes one safetensors file atomically (temp file + rename). `tensors` are
 * collected first (the header needs every size before the data), then their
 * bytes are streamed one by one after the header. Entries are written in the
 * given order; the data section starts 8-byte aligned.
 */
export async function writeSafetensors(path: string, tensors: TensorEntries, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  const entries: TensorToWrite[] = [];
  const seen = new Set<string>();
  for await (const [name, t] of tensors) entries.push(checkTensorToWrite(name, t, seen));
  try {
    await writeFileAtomic(path, (fh) => writeSafetensorsTo(fh, entries, metadata));
  } catch (e) {
    throw asInputError(path, e);
  }
}

/** A tensor accepted for writing (see checkTensorToWrite). */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly bytes: Uint8Array;
}

/**
 * Checks a tensor handed to a writer: a new name that is not `__metadata__`,
 * and data holding exactly numel(shape) × bytes(dtype) bytes. Adds the name to
 * `seen`. Used by both writers.
 */
export function checkTensorToWrite(name: string, t: HostTensor, seen: Set<string>): TensorToWrite {
  if (name === '__metadata__') throw new Error('a tensor cannot be named "__metadata__" in safetensors');
  if (seen.has(name)) throw new Error(`tensor "${name}" is given twice`);
  const bytes = bytesOf(t);
  const need = numel(t.shape) * DTYPE_BYTES[t.dtype];
  if (bytes.length !== need) {
    throw new Error(`tensor "${name}": ${t.dtype} ${shapeStr(t.shape)} needs ${need} bytes, its data holds ${bytes.length}`);
  }
  seen.add(name);
  return { name, dtype: t.dtype, shape: t.shape, bytes };
}

/** Writes header and data of a complete file into `fh` from offset 0. */
export async function writeSafetensorsTo(
  fh: FileHandle,
  entries: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>>,
): Promise<void> {
  const header = encodeHeader(entries, metadata);
  await writeFullyAt(fh, header, 0);
  let position = header.length;
  for (const e of entries) {
    await writeFullyAt(fh, e.bytes, position);
    position += e.bytes.length;
  }
}

/** The bytes of a tensor's typed array (a view, no copy). */
function bytesOf(t: HostTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
