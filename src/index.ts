/**
 * lowbit as a library (Node): load a model (.lowbit file or Hugging Face
 * directory) onto a backend, stream generated text, measure perplexity.
 *
 * ```ts
 * import * as lowbit from 'lowbit';
 * const m = await lowbit.load('model.lowbit');            // packed weights on WebGPU (or the CPU)
 * for await (const t of m.generate('Once upon a time', { maxTokens: 32 })) process.stdout.write(t.text);
 * const { ppl } = await m.perplexity(text, { seqlen: 512 });
 * m.dispose();
 * ```
 */
import type { Backend } from './backend/backend.js';
import { selectNodeBackend } from './backend/node-select.js';
import type { BackendKind } from './backend/kind.js';
import type { PerplexityResult } from './eval/perplexity.js';
import type { KvCacheDType } from './model/llama.js';
import type { WeightMode, WeightStats } from './model/weights.js';
import { modelHandle, type LowbitModelHandle } from './runtime/handle.js';
import { openModelDir, uploadModel } from './runtime/load.js';
import { checkOpened } from './runtime/upload.js';
import { BACKEND_KINDS, checkLoadOptions, oneOf } from './runtime/options.js';

export type { GeneratedToken, GenerateOptions, LowbitModelHandle, PerplexityOptions } from './runtime/handle.js';

export interface LoadOptions {
  /** 'auto' (default: WebGPU on a hardware adapter, else CPU), 'cpu', 'webgpu', or a backend you made (not disposed by `dispose`). */
  readonly backend?: BackendKind | Backend;
  /** Quantized weights: 'packed' (default, computed on as stored) or 'dequant' (f32 at load). */
  readonly weights?: WeightMode;
  /** Longest sequence (prompt + generated tokens, or perplexity window): 1 … the model's max_position_embeddings, default min(4096, that). */
  readonly maxPositions?: number;
  /** The KV cache's element type: 'f32' (default) or 'f16' (half the cache's memory; keys and values rounded to f16 as stored). */
  readonly kvCache?: KvCacheDType;
}

/** Loads a .lowbit file or a model directory onto a backend. */
export async function load(path: string, opts: LoadOptions = {}): Promise<LowbitModelHandle> {
  const own = opts.backend === undefined || typeof opts.backend === 'string';
  const backend = typeof opts.backend === 'object' ? opts.backend : (await selectNodeBackend(oneOf('backend', opts.backend ?? 'auto', BACKEND_KINDS))).backend;
  try {
    const files = await openModelDir(path);
    const o = await checkOpened(files, (config) => checkLoadOptions(opts, config));
    const { maxPositions } = o;
    const m = await uploadModel(files, { backend, ...o });
    return modelHandle(m, backend, maxPositions, own);
  } catch (e) {
    if (own) backend.dispose();
    throw e;
  }
}

export { FORMATS } from './formats/index.js';
export { randomPacked } from './formats/random.js';
export type { FormatId, PackedTensor } from './formats/types.js';
export type { Backend, Tensor } from './backend/backend.js';
export type { BackendKind, KvCacheDType, PerplexityResult, WeightMode, WeightStats };
