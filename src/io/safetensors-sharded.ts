/**
 * Hugging Face model directories: `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (`{"metadata": {...}, "weight_map":
 * {tensorName: shardFile}}`). Both open as one `TensorSource`.
 *
 * The index and the shards must agree exactly: every shard path stays inside
 * the model directory and exists, every tensor of weight_map is in the shard
 * it names, and every tensor of every shard is in weight_map, once.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { writeFileAtomic, writeTempFile, type TempFile } from './atomic.js';
import { InputError } from './errors.js';
import { asInputError, writeFullyAt } from './file.js';
import { decodeJson, isJsonObject as isObject } from './json.js';
import {
  checkTensorToWrite,
  openSafetensors,
  writeSafetensorsTo,
  type TensorEntries,
  type TensorInfo,
  type TensorSource,
  type TensorToWrite,
} from './safetensors.js';

export const SAFETENSORS_SINGLE_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/**
 * Opens the weights of a model directory: `model.safetensors` if present
 * (the order transformers uses), else the shards of the index.
 */
export async function openSafetensorsModel(dir: string): Promise<TensorSource> {
  let info;
  try {
    info = await stat(dir);
  } catch (e) {
    throw asInputError(dir, e);
  }
  if (!info.isDirectory()) throw new InputError(dir, 'not a directory');
  const single = join(dir, SAFETENSORS_SINGLE_FILE);
  if (await exists(single)) return openSafetensors(single);
  const index = join(dir, SAFETENSORS_INDEX_FILE);
  if (await exists(index)) return openSharded(dir, index);
  throw new InputError(dir, `no ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE} in this directory`);
}

async function openSharded(dir: string, indexPath: string): Promise<TensorSource> {
  const weightMap = await readWeightMap(indexPath);
  const placement = new Map<string, string>(); // tensor → shard path ("./a" and "a" are one shard)
  const shards = new Map<string, string>(); // shard path → its name in the index, in order of first appearance
  for (const [tensor, rel] of weightMap) {
    const path = shardPath(dir, indexPath, tensor, rel);
    placement.set(tensor, path);
    if (shards.has(path)) continue;
    if (!(await exists(path))) throw new InputError(indexPath, `weight_map names shard "${rel}", which does not exist`);
    shards.set(path, rel);
  }
  const sources = new Map<string, TensorSource>();
  try {
    for (const path of shards.keys()) sources.set(path, await openSafetensors(path));
    return shardedSource(indexPath, placement, shards, sources);
  } catch (e) {
    await Promise.all([...sources.values()].map((s) => s.close()));
    throw e;
  }
}

/** The tensor → shard file map of an index, checked to be JSON with a weight_map of strings. */
async function readWeightMap(indexPath: string): Promise<ReadonlyMap<string, string>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(indexPath);
  } catch (e) {
    throw asInputError(indexPath, e);
  }
  const root = decodeJson(indexPath, 'index', bytes);
  if (!isObject(root)) throw new InputError(indexPath, 'index is not a JSON object');
  const map = root['weight_map'];
  if (!isObject(map)) throw new InputError(indexPath, '"weight_map" is missing or not a JSON object');
  const out = new Map<string, string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== 'string') {
      throw new InputError(indexPath, `weight_map: tensor "${tensor}" maps to ${JSON.stringify(file)}, not a file name`);
    }
    out.set(tensor, file);
  }
  return out;
}

/** `rel` joined to the model directory; absolute paths and paths leaving the directory are rejected. */
function shardPath(dir: string, indexPath: string, tensor: string, rel: string): string {
  if (rel === '' || isAbsolute(rel)) {
    throw new InputError(indexPath, `tensor "${tensor}": shard path "${rel}" must be a file name relative to the model directory`);
  }
  const path = join(dir, rel);
  const inside = relative(dir, path);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new InputError(indexPath, `tensor "${tensor}": shard path "${rel}" is outside the model directory`);
  }
  return path;
}

/** Checks the index's tensor → shard path `placement` against the shard headers and merges the shards into one source. */
function shardedSource(
  indexPath: string,
  placement: ReadonlyMap<string, string>,
  shards: ReadonlyMap<string, string>,
  sources: ReadonlyMap<string, TensorSource>,
): TensorSource {
  const tensors = new Map<string, TensorInfo>();
  const metadata = new Map<string, [string, string]>(); // key → [value, shard it came from]
  for (const [path, source] of sources) {
    const rel = shards.get(path) as string;
    for (const [name, info] of source.tensors) {
      const other = tensors.get(name);
      if (other !== undefined) {
        throw new InputError(indexPath, `tensor "${name}" is in two shards, "${shards.get(other.file)}" and "${rel}"`);
      }
      if (!placement.has(name)) throw new InputError(indexPath, `tensor "${name}" of shard "${rel}" is missing from weight_map`);
      tensors.set(name, info);
    }
    for (const [key, value] of Object.entries(source.metadata)) {
      const seen = metadata.get(key);
      if (seen !== undefined && seen[0] !== value) {
        throw new InputError(indexPath, `shards "${seen[1]}" and "${rel}" disagree on __metadata__ "${key}"`);
      }
      metadata.set(key, [value, rel]);
    }
  }
  for (const [name, path] of placement) {
    if (tensors.get(name)?.file !== path) {
      throw new InputError(indexPath, `weight_map puts tensor "${name}" in shard "${shards.get(path)}", which does not hold it`);
    }
  }
  return {
    tensors,
    metadata: Object.fromEntries([...metadata].map(([k, [v]]) => [k, v])),
    async read(name) {
      const info = tensors.get(name);
      if (info === undefined) throw new InputError(indexPath, `no tensor named "${name}"`);
      return (sources.get(info.file) as TensorSource).read(name);
    },
    async close() {
      await Promise.all([...sources.values()].map((s) => s.close()));
    },
  };
}

export interface ShardedWriteOptions {
  /** Tensor data bytes per shard at most (headers not counted); a larger tensor gets a shard of its own. */
  readonly maxShardBytes: number;
  /** Written as `__metadata__` into every shard. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Writes `model-00001-of-0000N.safetensors`… and `model.safetensors.index.json`
 * (with `metadata.total_size`, the sum of tensor bytes) into `dir`, creating
 * it if needed. Tensors fill shards in the given order. Each shard is written
 * to a temp file as soon as it is full, so an async iterable is held at most
 * one shard at a time; the shards are renamed into place once N is known, and
 * the index is written last. On any error no temp file and no shard of this
 * call remains. Returns the paths written: the shards, then the index.
 */
export async function writeSafetensorsSharded(dir: string, tensors: TensorEntries, opts: ShardedWriteOptions): Promise<string[]> {
  const { maxShardBytes, metadata = {} } = opts;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) {
    throw new RangeError(`maxShardBytes must be a positive integer, got ${maxShardBytes}`);
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw asInputError(dir, e);
  }
  const written: { tmp: TempFile; names: string[] }[] = [];
  const moved: string[] = [];
  let shard: TensorToWrite[] = [];
  let shardBytes = 0;
  let totalBytes = 0;
  const flush = async (): Promise<void> => {
    const entries = shard;
    const near = join(dir, `model-${pad5(written.length + 1)}.safetensors`);
    written.push({ tmp: await writeTempFile(near, (fh) => writeSafetensorsTo(fh, entries, metadata)), names: entries.map((e) => e.name) });
    shard = [];
    shardBytes = 0;
  };
  try {
    const seen = new Set<string>();
    for await (const [name, t] of tensors) {
      const e = checkTensorToWrite(name, t, seen);
      if (shard.length > 0 && shardBytes + e.bytes.length > maxShardBytes) await flush();
      shard.push(e);
      shardBytes += e.bytes.length;
      totalBytes += e.bytes.length;
    }
    if (shard.length > 0 || written.length === 0) await flush();

    const weightMap: [string, string][] = [];
    for (const [i, { tmp, names }] of written.entries()) {
      const file = `model-${pad5(i + 1)}-of-${pad5(written.length)}.safetensors`;
      await tmp.moveTo(join(dir, file));
      moved.push(join(dir, file));
      for (const name of names) weightMap.push([name, file]);
    }
    const index = join(dir, SAFETENSORS_INDEX_FILE);
    const json = JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: Object.fromEntries(weightMap) }, null, 2);
    await writeFileAtomic(index, (fh) => writeFullyAt(fh, new TextEncoder().encode(`${json}\n`), 0));
    return [...moved, index];
  } catch (e) {
    await Promise.all([...written.map((w) => w.tmp.remove()), ...moved.map((f) => rm(f, { force: true }))]);
    throw asInputError(dir, e);
  }
}

const pad5 = (k: number): string => String(k).padStart(5, '0');

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw asInputError(path, e);
  }
}
