/**
 * The parity dump: one directory per layer, read by tools/parity/gptq_ref.py.
 *
 *   layer.json     { version: 1, method, shape: [out, in], nSamples, config, files }
 *   W.f32          W [out, in], little-endian f32, row-major
 *   H.f64          H [in, in], little-endian f64, row-major
 *   What.ts.f32    our Ŵ [out, in] (original column order), little-endian f32
 *   codes.ts.u8    our codes [out, in], layout column order, one byte each
 *   perm.ts.u32    layout column → original column [in], little-endian u32 (identity when none)
 * The reference writes What.ref.f32 (and codes.ref.u8, perm.ref.u32) beside them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DUMP_VERSION = 1;

export interface LayerDump {
  readonly method: 'rtn' | 'gptq' | 'spqr';
  readonly out: number;
  readonly inn: number;
  readonly nSamples: number;
  /** The resolved method config (JSON; Infinity is written as the string "Infinity"). */
  readonly config: Readonly<Record<string, unknown>>;
  readonly W: Float32Array;
  readonly H: Float64Array;
  readonly What: Float32Array;
  readonly codes: Uint8Array;
  readonly perm: Uint32Array;
}

const FILES = { W: 'W.f32', H: 'H.f64', What: 'What.ts.f32', codes: 'codes.ts.u8', perm: 'perm.ts.u32' } as const;

/** Typed array → little-endian bytes (the typed array's own bytes on a little-endian host). */
function leBytes(a: Float32Array | Float64Array | Uint32Array | Uint8Array): Uint8Array {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('parity dump: big-endian hosts are not supported');
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function readExact(path: string, bytes: number): Uint8Array {
  const b = readFileSync(path);
  if (b.length !== bytes) throw new Error(`${path}: ${b.length} bytes, expected ${bytes}`);
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

const jsonConfig = (c: Readonly<Record<string, unknown>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v === Infinity ? 'Infinity' : v]));

/** Writes a dump into `dir` (created if missing). */
export function writeLayerDump(dir: string, d: LayerDump): void {
  const { out, inn } = d;
  const sizes: [string, number, number][] = [['W', d.W.length, out * inn], ['H', d.H.length, inn * inn], ['What', d.What.length, out * inn], ['codes', d.codes.length, out * inn], ['perm', d.perm.length, inn]];
  for (const [name, got, want] of sizes) if (got !== want) throw new Error(`parity dump: ${name} has ${got} values, expected ${want}`);
  mkdirSync(dir, { recursive: true });
  const meta = { version: DUMP_VERSION, method: d.method, shape: [out, inn], nSamples: d.nSamples, config: jsonConfig(d.config), files: FILES };
  writeFileSync(join(dir, 'layer.json'), JSON.stringify(meta, null, 2) + '\n');
  writeFileSync(join(dir, FILES.W), leBytes(d.W));
  writeFileSync(join(dir, FILES.H), leBytes(d.H));
  writeFileSync(join(dir, FILES.What), leBytes(d.What));
  writeFileSync(join(dir, FILES.codes), leBytes(d.codes));
  writeFileSync(join(dir, FILES.perm), leBytes(d.perm));
}

/** Reads a dump written by writeLayerDump, validating every size. */
export function readLayerDump(dir: string): LayerDump {
  const meta = JSON.parse(readFileSync(join(dir, 'layer.json'), 'utf8')) as {
    version: number; method: LayerDump['method']; shape: [number, number]; nSamples: number; config: Record<string, unknown>;
  };
  if (meta.version !== DUMP_VERSION) throw new Error(`${dir}/layer.json: version ${meta.version}, expected ${DUMP_VERSION}`);
  const [out, inn] = meta.shape;
  const config = Object.fromEntries(Object.entries(meta.config).map(([k, v]) => [k, v === 'Infinity' ? Infinity : v]));
  return {
    method: meta.method,
    out,
    inn,
    nSamples: meta.nSamples,
    config,
    W: new Float32Array(readExact(join(dir, FILES.W), out * inn * 4).buffer),
    H: new Float64Array(readExact(join(dir, FILES.H), inn * inn * 8).buffer),
    What: new Float32Array(readExact(join(dir, FILES.What), out * inn * 4).buffer),
    codes: readExact(join(dir, FILES.codes), out * inn),
    perm: new Uint32Array(readExact(join(dir, FILES.perm), inn * 4).buffer),
  };
}

/** Reads an optional reference output array of the dump (What.ref.f32 etc.); null when absent. */
export function readReference(dir: string, file: string, bytes: number): Uint8Array | null {
  try {
    return readExact(join(dir, file), bytes);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
