/**
 * `.lowbit` files: a streaming, deterministic writer and a lazy, validating
 * reader (layout and header in lowbit-header.ts and docs/formats-lowbit.md).
 *
 * The writer streams tensors one at a time into a temp file (data first, the
 * header last, then the preamble) and renames it into place, so peak memory is
 * one packed tensor and no partial file is ever visible. The reader reads the
 * preamble and header, validates every offset and size, and then reads one
 * tensor's arrays per `readPacked`, checking each array's CRC-32.
 */
import { LOWBIT_VERSION } from '../version.gen.js';
import { FORMATS } from '../formats/index.js';
import type { PackedTensor } from '../formats/types.js';
import { numel, shapeStr, type Shape } from '../tensor/tensor.js';
import { writeFileAtomic } from './atomic.js';
import { crc32 } from './crc32.js';
import { asInputError, openValidated, readFullyAt, writeFullyAt } from './file.js';
import { openLowbitFrom, type LowbitFile } from './lowbit-read.js';

export type { LowbitFile } from './lowbit-read.js';
import {
  alignUp,
  encodeLowbitHeader,
  encodePreamble,
  LOWBIT_FILE_VERSION,
  LOWBIT_MAX_HEADER_BYTES,
  LOWBIT_PREAMBLE_BYTES,
  packedShape,
  type LowbitArraySpec,
  type LowbitHeader,
  type LowbitQuantization,
  type LowbitTensorSpec,
  type LowbitTokenizer,
} from './lowbit-header.js';

/** One tensor to write: its name, its model shape (default: the packed [out, in]) and its packed bytes. */
export interface LowbitTensorEntry {
  readonly name: string;
  /** The model tensor's shape, e.g. [D] for a norm; `packedShape(shape)` must equal `packed.shape`. */
  readonly shape?: Shape;
  readonly packed: PackedTensor;
}

/** Tensors to write, in file order: a list, a generator or an async generator. */
export type LowbitTensorEntries = Iterable<LowbitTensorEntry> | AsyncIterable<LowbitTensorEntry>;

/** Everything in the header besides the tensors. */
export interface LowbitWriteOptions {
  /** The model's config.json object, stored as read. */
  readonly architecture: Readonly<Record<string, unknown>>;
  readonly tokenizer: LowbitTokenizer;
  /** null (the default) for an unquantized export. */
  readonly quantization?: LowbitQuantization | null;
  readonly metadata?: Readonly<Record<string, string>>;
  /** ISO date stored as `created`; default now. Fix it to make outputs byte-identical. */
  readonly created?: string;
  /** Stored as `lowbit_version`; default the version in lowbit's package.json. */
  readonly lowbitVersion?: string;
}

/** What was written. */
export interface LowbitWriteSummary {
  readonly path: string;
  readonly bytes: number;
  readonly tensors: number;
  /** The header as written (lowbitStats gives its storage without reading the file back). */
  readonly header: LowbitHeader;
}

/**
 * Writes a .lowbit file atomically. Tensors are written in the given order,
 * each array at the next 64-byte-aligned offset; the same inputs always give
 * the same bytes. Throws (a plain Error: a caller bug) when a tensor name
 * repeats or a packed tensor's arrays do not have the sizes its format needs.
 */
export async function writeLowbit(path: string, tensors: LowbitTensorEntries, opts: LowbitWriteOptions): Promise<LowbitWriteSummary> {
  const lowbitVersion = opts.lowbitVersion ?? (await packageVersion());
  let size = 0;
  let written: LowbitHeader | undefined;
  try {
    await writeFileAtomic(path, async (fh) => {
      const specs: LowbitTensorSpec[] = [];
      const seen = new Set<string>();
      let position = 0; // relative to the data section
      for await (const entry of tensors) {
        const arrays: Record<string, LowbitArraySpec> = {};
        for (const [a, bytes] of checkEntry(entry, seen)) {
          position = alignUp(position);
          await writeFullyAt(fh, bytes, LOWBIT_PREAMBLE_BYTES + position);
          arrays[a] = { offset: position, bytes: bytes.length, crc32: crc32(bytes) };
          position += bytes.length;
        }
        const { packed } = entry;
        specs.push({ name: entry.name, format: packed.format, shape: [...(entry.shape ?? packed.shape)], params: packed.params, arrays });
      }
      const header: LowbitHeader = {
        format: 'lowbit',
        version: LOWBIT_FILE_VERSION,
        lowbit_version: lowbitVersion,
        created: opts.created ?? new Date().toISOString(),
        architecture: opts.architecture,
        tokenizer: opts.tokenizer,
        quantization: opts.quantization ?? null,
        metadata: opts.metadata ?? {},
        tensors: specs,
      };
      const json = encodeLowbitHeader(header);
      if (json.length > LOWBIT_MAX_HEADER_BYTES) throw new Error(`.lowbit header of ${json.length} bytes exceeds the limit of ${LOWBIT_MAX_HEADER_BYTES}`);
      const headerOffset = LOWBIT_PREAMBLE_BYTES + alignUp(position);
      // Bytes skipped for alignment are never written: a fresh file reads them as zeros.
      await writeFullyAt(fh, json, headerOffset);
      await writeFullyAt(fh, encodePreamble(json.length, headerOffset, crc32(json)), 0);
      size = headerOffset + json.length;
      written = header;
    });
  } catch (e) {
    throw asInputError(path, e);
  }
  const header = written as LowbitHeader; // set by the write, which threw otherwise
  return { path, bytes: size, tensors: header.tensors.length, header };
}

/** The arrays of a tensor to write, in format order, after checking name, shape and sizes. */
function checkEntry(e: LowbitTensorEntry, seen: Set<string>): [string, Uint8Array][] {
  const { name, packed } = e;
  if (seen.has(name)) throw new Error(`writeLowbit: tensor "${name}" is given twice`);
  seen.add(name);
  const fmt = FORMATS[packed.format];
  const [out, inn] = packed.shape;
  if (e.shape !== undefined) {
    const m = packedShape(e.shape);
    if (m[0] !== out || m[1] !== inn) throw new Error(`writeLowbit: tensor "${name}" of shape ${shapeStr(e.shape)} is packed as [${out}, ${inn}], expected [${m.join(', ')}]`);
  }
  if (!(out >= 1 && inn >= 1) || !Number.isSafeInteger(out * inn)) throw new Error(`writeLowbit: tensor "${name}" has an empty or invalid shape [${out}, ${inn}]`);
  const expected = fmt.arrayBytes(packed.shape, packed.params);
  return fmt.arrays.map((a) => {
    const bytes = packed.arrays[a];
    if (bytes === undefined) throw new Error(`writeLowbit: tensor "${name}" (${fmt.id}) lacks array "${a}"`);
    if (bytes.length !== expected[a]) {
      throw new Error(`writeLowbit: tensor "${name}" (${fmt.id} [${out}, ${inn}]) array "${a}" has ${bytes.length} bytes, expected ${expected[a]}`);
    }
    return [a, bytes];
  });
}

/** lowbit's own version (generated from package.json at build time). */
function packageVersion(): Promise<string> {
  return Promise.resolve(LOWBIT_VERSION);
}

/** An open .lowbit file: the validated header and lazy, checksummed per-tensor reads. */
/** Opens a .lowbit file, reading and validating only its preamble and header. */
export function openLowbit(path: string): Promise<LowbitFile> {
  return openValidated(path, (fh, size) =>
    openLowbitFrom(
      path,
      size,
      async (dst, position, what) => {
        try {
          await readFullyAt(fh, path, what, dst, position);
        } catch (e) {
          throw asInputError(path, e);
        }
      },
      () => fh.close(),
    ),
  );
}

/** One tensor's storage: bits/param = 8 · bytes / params, exactly. */
export interface LowbitTensorStats {
  readonly name: string;
  readonly format: string;
  readonly shape: number[];
  readonly params: number;
  /** Σ of the tensor's array bytes (alignment padding not counted). */
  readonly bytes: number;
  readonly bits: number;
}

/** Storage totals; average bits are 8 · Σ bytes / Σ params over the tensors named. */
export interface LowbitStats {
  readonly tensors: readonly LowbitTensorStats[];
  readonly parameters: number;
  readonly bytes: number;
  /** Over every tensor. */
  readonly bitsAll: number;
  /** Over the tensors in a quantized (non-passthrough) format; null when there is none. */
  readonly bitsQuantized: number | null;
  readonly quantizedParameters: number;
  readonly quantizedBytes: number;
}

const PASSTHROUGH: ReadonlySet<string> = new Set(['f32', 'f16', 'bf16']);

/** Per-tensor and total storage of a header's tensors (nothing is read). */
export function lowbitStats(header: LowbitHeader): LowbitStats {
  const tensors = header.tensors.map((s) => {
    const params = numel(s.shape);
    const bytes = Object.values(s.arrays).reduce((a, x) => a + x.bytes, 0);
    return { name: s.name, format: s.format, shape: [...s.shape], params, bytes, bits: (8 * bytes) / params };
  });
  const sum = (rows: readonly LowbitTensorStats[], k: 'params' | 'bytes'): number => rows.reduce((a, r) => a + r[k], 0);
  const q = tensors.filter((t) => !PASSTHROUGH.has(t.format));
  const [parameters, bytes, qp, qb] = [sum(tensors, 'params'), sum(tensors, 'bytes'), sum(q, 'params'), sum(q, 'bytes')];
  return {
    tensors,
    parameters,
    bytes,
    bitsAll: parameters > 0 ? (8 * bytes) / parameters : 0,
    bitsQuantized: qp > 0 ? (8 * qb) / qp : null,
    quantizedParameters: qp,
    quantizedBytes: qb,
  };
}
