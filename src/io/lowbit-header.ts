/**
 * The `.lowbit` container's fixed preamble and JSON header: types, strict
 * parsing and encoding (docs/formats-lowbit.md has the byte layout).
 *
 *   [0, 64)        preamble: magic "LOWBIT\0\0", u32 version, u32 header length N,
 *                  u64 header offset H, u32 CRC-32 of the header bytes, zeros
 *   [64, H)        data section: every array at a 64-byte-aligned offset
 *                  (relative to byte 64), zero padding between arrays
 *   [H, H + N)     JSON header (UTF-8); H is a multiple of 64; the file ends at H + N
 *
 * The header comes after the data so that a writer can stream tensors whose
 * sizes are known only once they are quantized (SpQR's outlier count) in one
 * pass, holding one tensor at a time.
 *
 * Pure: no file access here, so a reader over another transport (HTTP range
 * requests in a browser) can reuse it. Every problem is an InputError naming
 * the file, and the tensor where there is one.
 */
import { formatByCode, FORMATS } from '../formats/index.js';
import type { FormatId, FormatParams } from '../formats/types.js';
import { numel, shapeStr, type Shape } from '../tensor/tensor.js';
import { crc32 } from './crc32.js';
import { InputError } from './errors.js';
import { decodeJson, isJsonObject as isObject } from './json.js';

/** The 8 bytes every .lowbit file starts with: "LOWBIT" and two zero bytes. */
export const LOWBIT_MAGIC: Uint8Array = Uint8Array.of(0x4c, 0x4f, 0x57, 0x42, 0x49, 0x54, 0x00, 0x00);
/** The container version this code reads and writes. */
export const LOWBIT_FILE_VERSION = 1;
/** Bytes of the fixed preamble; the data section starts here. */
export const LOWBIT_PREAMBLE_BYTES = 64;
/** Every array (and the header) starts at a multiple of this. */
export const LOWBIT_ALIGN = 64;
/** Header lengths above this are rejected before anything is allocated. */
export const LOWBIT_MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Where one named byte array of a tensor lies; `offset` is relative to the data section (byte 64). */
export interface LowbitArraySpec {
  readonly offset: number;
  readonly bytes: number;
  /** CRC-32 of the array's bytes. */
  readonly crc32: number;
}

/** One tensor as the header describes it. */
export interface LowbitTensorSpec {
  readonly name: string;
  readonly format: FormatId;
  /** The model tensor's shape (e.g. [D] for a norm); the packed matrix is `packedShape(shape)`. */
  readonly shape: Shape;
  readonly params: FormatParams;
  /** Exactly `FORMATS[format].arrays`, in that order. */
  readonly arrays: Readonly<Record<string, LowbitArraySpec>>;
}

/** The calibration data a quantized model was computed from. */
export interface LowbitCalibration {
  readonly file: string;
  readonly sha256?: string;
  readonly samples: number;
  readonly seqlen: number;
  readonly seed: number;
}

/** How the weights were quantized (null in the header for an unquantized export). */
export interface LowbitQuantization {
  readonly method: string;
  /** The method's full config object, defaults included (CONVENTIONS §2.8), e.g. a resolved RtnConfig. */
  readonly config: object;
  readonly calibration: LowbitCalibration | null;
  readonly quantize_head: boolean;
  /** Where GPTQ ran: 'host' (f64, methods/gptq.ts) or 'backend' (f32, quant/gptq-backend.ts); absent for other methods and older files. */
  readonly engine?: string;
}

/** The tokenizer files, embedded verbatim so a .lowbit file is self-contained. */
export interface LowbitTokenizer {
  readonly 'tokenizer.json': string;
  readonly 'tokenizer_config.json': string | null;
}

/** The parsed header; `tensors` in file order. */
export interface LowbitHeader {
  readonly format: 'lowbit';
  readonly version: number;
  readonly lowbit_version: string;
  /** ISO 8601 date. */
  readonly created: string;
  /** The model's Hugging Face config.json object, as read. */
  readonly architecture: Readonly<Record<string, unknown>>;
  readonly tokenizer: LowbitTokenizer;
  readonly quantization: LowbitQuantization | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: readonly LowbitTensorSpec[];
}

/** What the preamble says. */
export interface LowbitPreamble {
  readonly version: number;
  readonly headerBytes: number;
  readonly headerOffset: number;
  readonly headerCrc32: number;
}

/** The [rows, cols] matrix a tensor of `shape` is packed as: the last axis is `cols`; [] is [1, 1]. */
export function packedShape(shape: Shape): [number, number] {
  const cols = shape.length === 0 ? 1 : (shape[shape.length - 1] as number);
  return [cols === 0 ? 0 : numel(shape) / cols, cols];
}

export const alignUp = (n: number): number => Math.ceil(n / LOWBIT_ALIGN) * LOWBIT_ALIGN;

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** Validates the 64-byte preamble against a file of `fileSize` bytes. */
export function parsePreamble(file: string, pre: Uint8Array, fileSize: number): LowbitPreamble {
  if (fileSize < LOWBIT_PREAMBLE_BYTES) {
    throw new InputError(file, `not a .lowbit file: ${fileSize} bytes, shorter than the ${LOWBIT_PREAMBLE_BYTES}-byte preamble`);
  }
  if (!LOWBIT_MAGIC.every((b, i) => pre[i] === b)) throw new InputError(file, 'not a .lowbit file (bad magic: the file must start with "LOWBIT\\0\\0")');
  const dv = new DataView(pre.buffer, pre.byteOffset, LOWBIT_PREAMBLE_BYTES);
  const version = dv.getUint32(8, true);
  if (version !== LOWBIT_FILE_VERSION) throw new InputError(file, `.lowbit version ${version} is not supported (this lowbit reads version ${LOWBIT_FILE_VERSION})`);
  const headerBytes = dv.getUint32(12, true);
  const h = dv.getBigUint64(16, true);
  const headerCrc32 = dv.getUint32(24, true);
  if (pre.subarray(28, LOWBIT_PREAMBLE_BYTES).some((b) => b !== 0)) throw new InputError(file, 'preamble bytes 28–63 are reserved and must be zero');
  if (headerBytes > LOWBIT_MAX_HEADER_BYTES) throw new InputError(file, `header length ${headerBytes} exceeds the limit of ${LOWBIT_MAX_HEADER_BYTES} bytes`);
  if (h > BigInt(fileSize)) throw new InputError(file, `header offset ${h} is beyond the end of the file (${fileSize} bytes; truncated?)`);
  const headerOffset = Number(h);
  if (headerOffset < LOWBIT_PREAMBLE_BYTES || headerOffset % LOWBIT_ALIGN !== 0) {
    throw new InputError(file, `header offset ${headerOffset} must be a multiple of ${LOWBIT_ALIGN}, at least ${LOWBIT_PREAMBLE_BYTES}`);
  }
  const end = headerOffset + headerBytes;
  if (end > fileSize) throw new InputError(file, `header [${headerOffset}, ${end}) extends beyond the end of the file (${fileSize} bytes; truncated?)`);
  if (end < fileSize) throw new InputError(file, `${fileSize - end} unexpected bytes after the header (the file ends at byte ${end})`);
  return { version, headerBytes, headerOffset, headerCrc32 };
}

/** The 64-byte preamble for a header of `headerBytes` at `headerOffset` with checksum `headerCrc32`. */
export function encodePreamble(headerBytes: number, headerOffset: number, headerCrc32: number): Uint8Array {
  const out = new Uint8Array(LOWBIT_PREAMBLE_BYTES);
  out.set(LOWBIT_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, LOWBIT_FILE_VERSION, true);
  dv.setUint32(12, headerBytes, true);
  dv.setBigUint64(16, BigInt(headerOffset), true);
  dv.setUint32(24, headerCrc32, true);
  return out;
}

/**
 * Checks the header bytes `json` against the preamble's CRC and validates
 * them: every field, every format, every array's size, alignment and range
 * within the data section [64, headerOffset), and that no two arrays overlap.
 */
export function parseLowbitHeader(file: string, json: Uint8Array, pre: LowbitPreamble): LowbitHeader {
  const crc = crc32(json);
  if (crc !== pre.headerCrc32) throw new InputError(file, `header CRC-32 mismatch (stored ${hex(pre.headerCrc32)}, computed ${hex(crc)}): the header is corrupt`);
  const root = decodeJson(file, 'header', json);
  if (!isObject(root)) throw new InputError(file, 'header is not a JSON object');
  const fail = (problem: string): never => {
    throw new InputError(file, `header: ${problem}`);
  };
  const field = (key: string): unknown => (key in root ? root[key] : fail(`missing field "${key}"`));
  const str = (key: string): string => {
    const v = field(key);
    return typeof v === 'string' ? v : fail(`field "${key}" must be a string, got ${JSON.stringify(v)}`);
  };
  const obj = (key: string): Record<string, unknown> => {
    const v = field(key);
    return isObject(v) ? v : fail(`field "${key}" must be a JSON object`);
  };
  if (field('format') !== 'lowbit') fail(`field "format" must be "lowbit", got ${JSON.stringify(root['format'])}`);
  if (field('version') !== pre.version) fail(`field "version" ${JSON.stringify(root['version'])} disagrees with the preamble's version ${pre.version}`);
  const lowbitVersion = str('lowbit_version');
  const created = str('created');
  const architecture = obj('architecture');
  const tokenizer = parseTokenizer(obj('tokenizer'), fail);
  const quantization = parseQuantization(field('quantization'), fail);
  const metadata = obj('metadata');
  for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(`metadata must map strings to strings, but "${k}" holds ${JSON.stringify(v)}`);
  const dataBytes = pre.headerOffset - LOWBIT_PREAMBLE_BYTES;
  const tensors = Object.entries(obj('tensors')).map(([name, v]) => parseTensor(file, name, v, dataBytes));
  checkNoOverlap(file, tensors);
  return {
    format: 'lowbit',
    version: pre.version,
    lowbit_version: lowbitVersion,
    created,
    architecture,
    tokenizer,
    quantization,
    metadata: metadata as Record<string, string>,
    tensors,
  };
}

function parseTokenizer(t: Record<string, unknown>, fail: (p: string) => never): LowbitTokenizer {
  const json = t['tokenizer.json'];
  const config = t['tokenizer_config.json'] ?? null;
  if (typeof json !== 'string') fail('tokenizer["tokenizer.json"] must be the text of tokenizer.json');
  if (config !== null && typeof config !== 'string') fail('tokenizer["tokenizer_config.json"] must be a string or null');
  return { 'tokenizer.json': json as string, 'tokenizer_config.json': config as string | null };
}

function parseQuantization(q: unknown, fail: (p: string) => never): LowbitQuantization | null {
  if (q === null) return null;
  if (!isObject(q)) return fail('field "quantization" must be a JSON object or null');
  if (typeof q['method'] !== 'string') fail('quantization.method must be a string');
  if (!isObject(q['config'])) fail('quantization.config must be a JSON object');
  if (typeof q['quantize_head'] !== 'boolean') fail('quantization.quantize_head must be true or false');
  if (q['engine'] !== undefined && typeof q['engine'] !== 'string') fail('quantization.engine must be a string');
  const c = q['calibration'] ?? null;
  if (c !== null) {
    if (!isObject(c)) return fail('quantization.calibration must be a JSON object or null');
    if (typeof c['file'] !== 'string') fail('quantization.calibration.file must be a string');
    if (c['sha256'] !== undefined && typeof c['sha256'] !== 'string') fail('quantization.calibration.sha256 must be a string');
    for (const k of ['samples', 'seqlen', 'seed']) {
      if (!Number.isSafeInteger(c[k])) fail(`quantization.calibration.${k} must be an integer, got ${JSON.stringify(c[k])}`);
    }
  }
  return q as unknown as LowbitQuantization;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseTensor(file: string, name: string, v: unknown, dataBytes: number): LowbitTensorSpec {
  const fail = (problem: string): never => {
    throw new InputError(file, `tensor "${name}": ${problem}`);
  };
  if (!isObject(v)) return fail('entry is not a JSON object');
  const { format, format_code: code, shape, params, arrays } = v;
  if (!isCount(code)) return fail(`format_code ${JSON.stringify(code)} must be a non-negative integer`);
  let fmt;
  try {
    fmt = formatByCode(code);
  } catch {
    return fail(`unknown format code ${code} (this lowbit knows ${Object.values(FORMATS).map((f) => `${f.code} ${f.id}`).join(', ')})`);
  }
  if (format !== fmt.id) return fail(`format ${JSON.stringify(format)} disagrees with format_code ${code} (${fmt.id})`);
  if (!Array.isArray(shape) || !shape.every(isCount) || !Number.isSafeInteger(numel(shape))) {
    return fail(`shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
  }
  const matrix = packedShape(shape);
  if (matrix[0] < 1 || matrix[1] < 1) return fail(`shape ${shapeStr(shape)} is empty`);
  if (!isObject(params) || !Object.values(params).every((p) => typeof p === 'number')) return fail('params must map names to numbers');
  const p = params as FormatParams;
  let expected: Readonly<Record<string, number>>;
  try {
    expected = fmt.arrayBytes(matrix, p);
  } catch (e) {
    return fail(`params ${JSON.stringify(p)} do not fit ${fmt.id} ${shapeStr(shape)}: ${(e as Error).message}`);
  }
  if (!isObject(arrays)) return fail('arrays is not a JSON object');
  const names = Object.keys(arrays);
  if (names.length !== fmt.arrays.length || !fmt.arrays.every((a, i) => names[i] === a)) {
    return fail(`arrays [${names.join(', ')}] must be exactly [${fmt.arrays.join(', ')}] for format ${fmt.id}`);
  }
  const out: Record<string, LowbitArraySpec> = {};
  for (const a of fmt.arrays) {
    const s = arrays[a];
    if (!isObject(s) || !isCount(s['offset']) || !isCount(s['bytes']) || !isCount(s['crc32']) || s['crc32'] > 0xffffffff) {
      return fail(`array "${a}" must be {offset, bytes, crc32} with non-negative integers (crc32 < 2^32)`);
    }
    const { offset, bytes, crc32: crc } = s as { offset: number; bytes: number; crc32: number };
    if (bytes !== expected[a]) return fail(`array "${a}" holds ${bytes} bytes but ${fmt.id} ${shapeStr(shape)} with these params needs ${expected[a]}`);
    if (offset % LOWBIT_ALIGN !== 0) return fail(`array "${a}" offset ${offset} is not a multiple of ${LOWBIT_ALIGN}`);
    if (offset + bytes > dataBytes) return fail(`array "${a}" [${offset}, ${offset + bytes}) is outside the data section of ${dataBytes} bytes`);
    out[a] = { offset, bytes, crc32: crc };
  }
  return { name, format: fmt.id, shape: shape as number[], params: p, arrays: out };
}

/** No two non-empty arrays (of any tensors) share a byte. */
function checkNoOverlap(file: string, tensors: readonly LowbitTensorSpec[]): void {
  const ranges = tensors
    .flatMap((t) => Object.entries(t.arrays).map(([a, s]) => ({ what: `tensor "${t.name}" array "${a}"`, begin: s.offset, end: s.offset + s.bytes })))
    .filter((r) => r.end > r.begin)
    .sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < ranges.length; i++) {
    const [a, b] = [ranges[i - 1], ranges[i]] as [(typeof ranges)[number], (typeof ranges)[number]];
    if (b.begin < a.end) throw new InputError(file, `${a.what} [${a.begin}, ${a.end}) and ${b.what} [${b.begin}, ${b.end}) overlap`);
  }
}

/** The header JSON (UTF-8) a writer stores, fields in the documented order. */
export function encodeLowbitHeader(h: LowbitHeader): Uint8Array {
  const tensors = h.tensors.map((t) => {
    const fmt = FORMATS[t.format];
    return [t.name, { format: t.format, format_code: fmt.code, shape: [...t.shape], params: t.params, arrays: t.arrays }] as const;
  });
  const root = {
    format: h.format,
    version: h.version,
    lowbit_version: h.lowbit_version,
    created: h.created,
    architecture: h.architecture,
    tokenizer: h.tokenizer,
    quantization: h.quantization,
    metadata: h.metadata,
    tensors: Object.fromEntries(tensors), // own properties even for a tensor named "__proto__"
  };
  return new TextEncoder().encode(JSON.stringify(root));
}
