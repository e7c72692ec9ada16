/**
 * Uploading opened model files onto a backend (browser-safe): weights read and
 * uploaded one tensor at a time (packed where the backend runs their format),
 * NaN/Inf refused with an InputError naming the file. load.ts opens files in
 * Node; browser.ts opens a .lowbit file's bytes.
 */
import type { Backend } from '../backend/backend.js';
import { nonFiniteF16 } from '../formats/bytes.js';
import { FORMATS } from '../formats/index.js';
import { InputError } from '../io/errors.js';
import type { TensorSource } from '../io/safetensors.js';
import type { TextTokenizer } from '../io/tokenizer-core.js';
import type { LlamaConfig } from '../model/config.js';
import { createModel, type KvCacheDType, type LlamaModel } from '../model/llama.js';
import { checkWeightSource, uploadWeights, type PackedSource, type WeightMode, type WeightStats } from '../model/weights.js';
import { toF32, type HostTensor } from '../tensor/tensor.js';
import { checkPositions, intIn } from './options.js';

export interface ModelFiles {
  readonly dir: string;
  readonly config: LlamaConfig;
  readonly tokenizer: TextTokenizer;
  /** The weights, still on disk. */
  readonly source: TensorSource;
  /** A .lowbit file's tensors as stored (packed); absent for a directory. */
  readonly packed?: PackedSource;
}

/**
 * `files` once its weights fit its config (otherwise closes them and throws the first problem), with a
 * tokenizer that refuses ids past the config's vocab_size.
 */
export async function checkedFiles(files: ModelFiles): Promise<ModelFiles> {
  const problems = checkWeightSource(files.config, files.source);
  if (problems.length > 0) {
    await files.source.close();
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : '';
    throw new InputError(files.dir, `${problems[0] as string}${more}`);
  }
  const where = files.packed ? `${files.dir} (header "tokenizer")` : `${files.dir}/tokenizer.json`; // no node:path here: the browser bundle loads this module
  return { ...files, tokenizer: vocabChecked(files.tokenizer, files.config.vocabSize, where) };
}

/**
 * `t` whose encode refuses ids the model has no embedding row for (a tokenizer larger than the
 * vocabulary: another model's, or one with added tokens the embedding was not resized for). Checked at
 * encode, not load: a tokenizer with extra ids that a text never reaches still runs (random benchmark
 * models keep a full tokenizer beside a small vocabulary). Its vocabSize is the model's, which every id
 * it gives is below, so ids cached under its hash (eval/token-cache.ts) are held to the same bound.
 */
function vocabChecked(t: TextTokenizer, vocab: number, where: string): TextTokenizer {
  if (t.vocabSize <= vocab) return t;
  return {
    ...t,
    vocabSize: vocab,
    encode(text) {
      const ids = t.encode(text);
      const bad = ids.find((id) => id >= vocab);
      if (bad !== undefined) throw new InputError(where, `the tokenizer gives token id ${bad}, beyond the model's vocab_size ${vocab}: not this model's tokenizer?`);
      return ids;
    },
  };
}

/** Counts NaN and ±Inf values of a float tensor. */
export function countNonFinite(t: HostTensor): { nan: number; inf: number } {
  let nan = 0;
  let inf = 0;
  if (t.dtype !== 'f32' && t.dtype !== 'bf16' && t.dtype !== 'f16') return { nan, inf };
  const v = toF32(t);
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    if (x !== x) nan++;
    else if (x === Infinity || x === -Infinity) inf++;
  }
  return { nan, inf };
}

export interface LoadOptions {
  readonly backend: Backend;
  /** Positions the RoPE table covers: the longest sequence this model will run. */
  readonly maxPositions: number;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * A .lowbit file's quantized matmul weights: 'packed' (default) uploads them
   * as stored and the backend's packed kernels compute on them (no dequantized
   * copy); 'dequant' dequantizes them to f32 at load. A format the backend has
   * no kernel for, or a tensor too large for one binding, is dequantized either way.
   */
  readonly weights?: WeightMode;
  /** The KV cache's element type (default f32; f16 halves its memory, see KvCacheDType). */
  readonly kvCache?: KvCacheDType;
}

export interface LoadedModel {
  readonly dir: string;
  readonly config: LlamaConfig;
  readonly tokenizer: TextTokenizer;
  readonly model: LlamaModel;
  /** What was uploaded packed or dequantized, and the bytes. */
  readonly weightStats: WeightStats;
}

/**
 * `files.packed` whose reads refuse packed tensors with index arrays a kernel cannot follow
 * (QuantFormat.checkIndices: permutations, SpQR's outlier rows and columns) or with NaN or ±Inf in
 * their f16 arrays (scales, statistics, outlier values).
 */
function checkedPacked(files: ModelFiles): PackedSource {
  const src = files.packed as PackedSource;
  return {
    format: (name) => src.format(name),
    async read(name) {
      const p = await src.read(name);
      const file = files.source.tensors.get(name)?.file ?? files.dir;
      try {
        FORMATS[p.format].checkIndices(p);
      } catch (e) {
        throw new InputError(file, `tensor "${name}": cannot run ${p.format} data packed (${(e as Error).message})`, { cause: e });
      }
      for (const a of FORMATS[p.format].f16Arrays) {
        const { nan, inf } = nonFiniteF16(p.arrays[a] ?? new Uint8Array(0));
        if (nan + inf > 0) throw new InputError(file, `tensor "${name}": its ${p.format} "${a}" hold ${nan} NaN and ${inf} infinite values`);
      }
      return p;
    },
  };
}

/** Runs `check` on opened model files' config, closing the files when it throws (uploadModel closes them otherwise). */
export async function checkOpened<T>(files: ModelFiles, check: (config: LlamaConfig) => T): Promise<T> {
  try {
    return check(files.config);
  } catch (e) {
    await files.source.close();
    throw e;
  }
}

/** The error for a tensor of `files` holding NaN or ±Inf values, or null. */
export function nonFiniteError(files: ModelFiles, name: string, t: HostTensor | null): InputError | null {
  const { nan, inf } = t ? countNonFinite(t) : { nan: 0, inf: 0 };
  if (nan + inf === 0) return null;
  return new InputError(files.source.tensors.get(name)?.file ?? files.dir, `tensor "${name}" holds ${nan} NaN and ${inf} infinite values`);
}

/** Reads a tensor of `files`, refusing NaN and ±Inf values. */
export async function readFinite(files: ModelFiles, name: string): Promise<HostTensor> {
  const t = await files.source.read(name);
  const e = nonFiniteError(files, name, t);
  if (e) throw e;
  return t;
}

/** Uploads the weights of opened model files to the backend (refusing NaN/Inf weights), then closes them. */
export async function uploadModel(files: ModelFiles, o: LoadOptions): Promise<LoadedModel> {
  try {
    // RoPE and the KV cache for more positions than the model was made for: refused (callers name their option first)
    checkPositions(files.dir, intIn('positions', o.maxPositions, 1), files.config);
    const onTensor = (name: string, t: HostTensor | null, done: number, total: number): void => {
      const e = nonFiniteError(files, name, t);
      if (e) throw e;
      o.onProgress?.(done, total);
    };
    const { stats, ...weights } = await uploadWeights(files.config, files.source, o.backend, {
      onTensor,
      ...(files.packed && { packed: checkedPacked(files) }),
      weights: o.weights ?? 'packed',
    });
    const model = createModel(files.config, o.backend, weights, o.maxPositions, o.kvCache);
    return { dir: files.dir, config: files.config, tokenizer: files.tokenizer, model, weightStats: stats };
  } finally {
    await files.source.close();
  }
}
