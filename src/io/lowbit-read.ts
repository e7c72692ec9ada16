/**
 * Reading a .lowbit file from any byte source (browser-safe): the preamble
 * and header are read and validated when it opens, then one tensor's arrays
 * per `readPacked`, each checked against its CRC-32. Node opens files through
 * lowbit-file.ts (`openLowbit`); browser.ts reads a Blob or an ArrayBuffer.
 */
import type { PackedTensor } from '../formats/types.js';
import { crc32 } from './crc32.js';
import { allocFor, endedEarly, InputError } from './errors.js';
import { LOWBIT_PREAMBLE_BYTES, packedShape, parseLowbitHeader, parsePreamble, type LowbitHeader, type LowbitTensorSpec } from './lowbit-header.js';

export interface LowbitFile {
  readonly path: string;
  readonly header: LowbitHeader;
  /** File order. */
  readonly tensorNames: readonly string[];
  /** Total bytes of the file. */
  readonly fileBytes: number;
  /** The header's description of a tensor; an InputError when there is none. */
  spec(name: string): LowbitTensorSpec;
  /** Reads one tensor's arrays, checking every CRC-32; the packed matrix is `packedShape(spec.shape)`. */
  readPacked(name: string): Promise<PackedTensor>;
  close(): Promise<void>;
}

/** Fills `dst` with the source's bytes from `position` (an InputError naming `what` where it ends early). */
export type ByteReader = (dst: Uint8Array, position: number, what: string) => Promise<void>;

/** Opens a .lowbit file of `size` bytes read through `read`; `path` names it in errors, `close` releases the source. */
export async function openLowbitFrom(path: string, size: number, read: ByteReader, close: () => Promise<void> = async () => undefined): Promise<LowbitFile> {
  const pre = new Uint8Array(Math.min(LOWBIT_PREAMBLE_BYTES, size));
  await read(pre, 0, 'preamble');
  const preamble = parsePreamble(path, pre, size);
  const json = new Uint8Array(preamble.headerBytes);
  await read(json, preamble.headerOffset, 'header');
  return lowbitFile(path, read, close, parseLowbitHeader(path, json, preamble), size);
}

/** A reader over bytes in memory: a read past their end is an InputError naming `path`. */
export function bytesReader(path: string, bytes: Uint8Array): ByteReader {
  return async (dst, position, what) => {
    if (position + dst.length > bytes.length) throw endedEarly(path, what, Math.max(0, bytes.length - position), dst.length);
    dst.set(bytes.subarray(position, position + dst.length));
  };
}

/** A reader over a Blob (a download, a picked file): each read slices just its bytes, so the file is never held whole. */
export function blobReader(path: string, blob: Blob): ByteReader {
  return async (dst, position, what) => {
    if (position + dst.length > blob.size) throw endedEarly(path, what, Math.max(0, blob.size - position), dst.length);
    dst.set(new Uint8Array(await blob.slice(position, position + dst.length).arrayBuffer()));
  };
}

function lowbitFile(path: string, read: ByteReader, release: () => Promise<void>, header: LowbitHeader, fileBytes: number): LowbitFile {
  const specs = new Map(header.tensors.map((t) => [t.name, t]));
  let closed = false;
  const spec = (name: string): LowbitTensorSpec => {
    const s = specs.get(name);
    if (s === undefined) throw new InputError(path, `no tensor named "${name}"`);
    return s;
  };
  return {
    path,
    header,
    tensorNames: header.tensors.map((t) => t.name),
    fileBytes,
    spec,
    async readPacked(name) {
      const s = spec(name);
      if (closed) throw new Error(`${path}: read of tensor "${name}" after close`);
      const arrays: Record<string, Uint8Array> = {};
      for (const [a, { offset, bytes, crc32: stored }] of Object.entries(s.arrays)) {
        const buf = allocFor(path, `tensor "${name}" array "${a}"`, bytes, () => new Uint8Array(bytes));
        await read(buf, LOWBIT_PREAMBLE_BYTES + offset, `tensor "${name}" array "${a}"`);
        const crc = crc32(buf);
        if (crc !== stored) {
          throw new InputError(path, `tensor "${name}": array "${a}" fails its CRC-32 check (stored ${hex(stored)}, computed ${hex(crc)}): the data is corrupt`);
        }
        arrays[a] = buf;
      }
      return { format: s.format, shape: packedShape(s.shape), params: s.params, arrays };
    },
    async close() {
      if (!closed) await release();
      closed = true;
    },
  };
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
