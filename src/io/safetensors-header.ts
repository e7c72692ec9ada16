/**
 * The safetensors header: parsing with strict validation, and encoding.
 *
 * A safetensors file is `[u64 LE N][N bytes of UTF-8 JSON][data section]`. The
 * JSON maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (byte
 * offsets relative to the data section) plus an optional `__metadata__`
 * string→string map. All tensor bytes are little-endian, as on every host
 * lowbit targets, so typed arrays view them directly.
 *
 * Pure: no file access here, so a reader over another transport (HTTP range
 * requests in a browser) can reuse it.
 */
import { DTYPE_BYTES, type DType } from '../tensor/dtype.js';
import { numel, shapeStr, type Shape } from '../tensor/tensor.js';
import { InputError } from './errors.js';
import { decodeJson, isJsonObject as isObject } from './json.js';

/** The safetensors name of each lowbit dtype (one table; the reverse is derived). */
export const SAFETENSORS_DTYPE = {
  f32: 'F32',
  f16: 'F16',
  bf16: 'BF16',
  i8: 'I8',
  u8: 'U8',
  i16: 'I16',
  i32: 'I32',
  i64: 'I64',
  bool: 'BOOL',
} as const satisfies Record<DType, string>;

const FROM_SAFETENSORS: ReadonlyMap<string, DType> = new Map(
  (Object.entries(SAFETENSORS_DTYPE) as [DType, string][]).map(([d, s]) => [s, d]),
);

/** Header lengths above this are rejected before anything is allocated. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Bytes of the u64 header-length prefix. */
export const SAFETENSORS_PREFIX_BYTES = 8;

/** One tensor as the header describes it; `begin`/`end` are relative to the data section. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly begin: number;
  readonly end: number;
}

export interface ParsedHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** In file order (ascending `begin`). */
  readonly entries: readonly HeaderEntry[];
}

/**
 * Reads the header length from the 8-byte prefix and checks it against the
 * bound and the file size. Returns N, the JSON byte count.
 */
export function parseHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < SAFETENSORS_PREFIX_BYTES) {
    throw new InputError(file, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, SAFETENSORS_PREFIX_BYTES).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw new InputError(file, `header length ${n} exceeds the limit of ${SAFETENSORS_MAX_HEADER_BYTES} bytes`);
  }
  if (n > BigInt(fileSize - SAFETENSORS_PREFIX_BYTES)) {
    throw new InputError(file, `header length ${n} exceeds the file size ${fileSize}`);
  }
  return Number(n);
}

/**
 * Validates the header JSON (`json`: the N bytes after the prefix) against a
 * data section of `dataBytes` bytes. Every problem throws an InputError naming
 * `file`, and the tensor where there is one.
 */
export function parseHeader(file: string, json: Uint8Array, dataBytes: number): ParsedHeader {
  const root = decodeJson(file, 'header', json);
  if (!isObject(root)) throw new InputError(file, 'header is not a JSON object');

  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(root)) {
    if (name === '__metadata__') metadata = parseMetadata(file, value);
    else entries.push(parseEntry(file, name, value, dataBytes));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkNoOverlap(file, entries);
  return { metadata, entries };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isObject(value)) throw new InputError(file, '__metadata__ is not a JSON object');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new InputError(file, `__metadata__ must map strings to strings, but "${k}" holds ${JSON.stringify(v)}`);
    }
  }
  return value as Record<string, string>;
}

function parseEntry(file: string, name: string, value: unknown, dataBytes: number): HeaderEntry {
  const fail = (problem: string): never => {
    throw new InputError(file, `tensor "${name}": ${problem}`);
  };
  if (!isObject(value)) return fail('entry is not a JSON object');
  const { dtype: st, shape, data_offsets: offsets } = value;

  if (typeof st !== 'string') return fail('dtype is missing or not a string');
  const dtype = FROM_SAFETENSORS.get(st);
  if (dtype === undefined) {
    return fail(`unsupported dtype ${JSON.stringify(st)} (lowbit reads ${[...FROM_SAFETENSORS.keys()].join(', ')})`);
  }

  if (!Array.isArray(shape)) return fail('shape is missing or not an array');
  if (!shape.every(isCount)) return fail(`shape ${JSON.stringify(shape)} must hold non-negative integers`);
  const byteLength = numel(shape) * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(byteLength)) return fail(`shape ${shapeStr(shape)} is too large`);

  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return fail(`data_offsets ${JSON.stringify(offsets)} must be [begin, end], two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  const range = `data_offsets [${begin}, ${end}]`;
  if (begin > end) return fail(`${range}: begin is after end`);
  if (end > dataBytes) return fail(`${range}: end is outside the data section of ${dataBytes} bytes`);
  if (end - begin !== byteLength) {
    return fail(`${range} hold ${end - begin} bytes but ${st} ${shapeStr(shape)} needs ${byteLength}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** `entries` sorted by begin; empty tensors occupy no bytes and overlap nothing. */
function checkNoOverlap(file: string, entries: readonly HeaderEntry[]): void {
  let last: HeaderEntry | undefined; // the non-empty range reaching furthest so far
  for (const e of entries) {
    if (e.begin === e.end) continue;
    if (last !== undefined && e.begin < last.end) {
      throw new InputError(
        file,
        `tensors "${last.name}" [${last.begin}, ${last.end}] and "${e.name}" [${e.begin}, ${e.end}] overlap`,
      );
    }
    if (last === undefined || e.end > last.end) last = e;
  }
}

/** What the encoder needs of each tensor, in the order the data will be written. */
export interface EncodeEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * The prefix and header for tensors laid out back to back in the given order,
 * padded with spaces so the data section starts 8-byte aligned. Returns the
 * bytes to write at offset 0; tensor i's data follows at the sum of the
 * previous tensors' sizes.
 */
export function encodeHeader(entries: readonly EncodeEntry[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  // Object.fromEntries makes own properties even for a tensor named "__proto__".
  const fields: [string, unknown][] = Object.keys(metadata).length > 0 ? [['__metadata__', metadata]] : [];
  let offset = 0;
  for (const e of entries) {
    const bytes = numel(e.shape) * DTYPE_BYTES[e.dtype];
    fields.push([e.name, { dtype: SAFETENSORS_DTYPE[e.dtype], shape: [...e.shape], data_offsets: [offset, offset + bytes] }]);
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(fields)));
  const n = Math.ceil(json.length / 8) * 8; // 8 + n is then a multiple of 8
  const out = new Uint8Array(SAFETENSORS_PREFIX_BYTES + n).fill(0x20, SAFETENSORS_PREFIX_BYTES + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, SAFETENSORS_PREFIX_BYTES);
  return out;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
