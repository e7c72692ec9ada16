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
import type { BackendKind } from './backend/select.js';
import { perplexity as perplexityOf, type PerplexityResult } from './eval/perplexity.js';
import type { TextTokenizer } from './io/tokenizer.js';
import type { LlamaConfig } from './model/config.js';
import type { LlamaModel } from './model/llama.js';
import type { WeightMode, WeightStats } from './model/weights.js';
import { generate as generateIds } from './runtime/generate.js';
import { openModelDir, uploadModel } from './runtime/load.js';

export interface LoadOptions {
  /** 'auto' (default: WebGPU on a hardware adapter, else CPU), 'cpu', 'webgpu', or a backend you made (not disposed by `dispose`). */
  readonly backend?: BackendKind | Backend;
  /** Quantized weights: 'packed' (default, computed on as stored) or 'dequant' (f32 at load). */
  readonly weights?: WeightMode;
  /** Longest sequence (prompt + generated tokens, or perplexity window); default min(4096, the model's max positions). */
  readonly maxPositions?: number;
}

export interface GenerateOptions {
  /** Default 64. */
  readonly maxTokens?: number;
  /** 0 (default) = greedy. */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly seed?: number;
  /** Stop at the model's EOS (default true). */
  readonly stopAtEos?: boolean;
}

/** One generated token: its id and the text it adds (empty while a multi-byte character is incomplete). */
export interface GeneratedToken {
  readonly id: number;
  readonly text: string;
}

export interface PerplexityOptions {
  /** Tokens per window (default min(2048, maxPositions)). */
  readonly seqlen?: number;
  /** Evaluate only the first N windows. */
  readonly windows?: number;
}

export interface LowbitModelHandle {
  readonly config: LlamaConfig;
  readonly tokenizer: TextTokenizer;
  readonly backend: Backend;
  readonly model: LlamaModel;
  readonly maxPositions: number;
  /** What was uploaded packed / dequantized, and the bytes. */
  readonly weightStats: WeightStats;
  /** Streams tokens after `prompt` (BOS added by the tokenizer; '' starts from BOS). */
  generate(prompt: string, opts?: GenerateOptions): AsyncGenerator<GeneratedToken>;
  /** Perplexity of `text` (CONVENTIONS §4: BOS once, non-overlapping windows). */
  perplexity(text: string, opts?: PerplexityOptions): Promise<PerplexityResult>;
  /** Frees the weights and the backend (unless you passed your own). */
  dispose(): void;
}

/** Loads a .lowbit file or a model directory onto a backend. */
export async function load(path: string, opts: LoadOptions = {}): Promise<LowbitModelHandle> {
  const own = opts.backend === undefined || typeof opts.backend === 'string';
  const backend = typeof opts.backend === 'object' ? opts.backend : (await selectNodeBackend(opts.backend ?? 'auto')).backend;
  try {
    const files = await openModelDir(path);
    const maxPositions = opts.maxPositions ?? Math.min(4096, files.config.maxPositionEmbeddings);
    const m = await uploadModel(files, { backend, maxPositions, weights: opts.weights ?? 'packed' });
    const { tokenizer, config } = m;
    return {
      config,
      tokenizer,
      backend,
      model: m.model,
      maxPositions,
      weightStats: m.weightStats,
      async *generate(prompt, g = {}) {
        let ids = tokenizer.encode(prompt);
        if (ids.length === 0) {
          if (config.bosTokenId === null) throw new Error('generate: empty prompt and the model has no bos_token_id');
          ids = Int32Array.of(config.bosTokenId);
        }
        const maxTokens = Math.min(g.maxTokens ?? 64, maxPositions - ids.length);
        if (maxTokens < 0) throw new Error(`generate: the prompt has ${ids.length} tokens, more than maxPositions ${maxPositions} (pass a larger maxPositions to load)`);
        const out: number[] = [];
        let printed = '';
        const o = { maxTokens, temperature: g.temperature ?? 0, topK: g.topK ?? 0, topP: g.topP ?? 1, seed: g.seed ?? 0, stopIds: g.stopAtEos === false ? [] : config.eosTokenIds };
        for await (const id of generateIds(m.model, ids, o)) {
          out.push(id);
          const text = tokenizer.decode(out);
          if (text.endsWith('\uFFFD') || !text.startsWith(printed)) {
            yield { id, text: '' };
            continue;
          }
          yield { id, text: text.slice(printed.length) };
          printed = text;
        }
      },
      perplexity(text, p = {}) {
        const seqlen = p.seqlen ?? Math.min(2048, maxPositions);
        if (seqlen > maxPositions) return Promise.reject(new Error(`perplexity: seqlen ${seqlen} exceeds maxPositions ${maxPositions} (pass a larger maxPositions to load)`));
        return perplexityOf(m.model, tokenizer.encode(text), { seqlen, ...(p.windows !== undefined && { windows: p.windows }) });
      },
      dispose() {
        if (own) backend.dispose();
      },
    };
  } catch (e) {
    if (own) backend.dispose();
    throw e;
  }
}

export { FORMATS } from './formats/index.js';
export { randomPacked } from './formats/random.js';
export type { FormatId, PackedTensor } from './formats/types.js';
export type { Backend, Tensor } from './backend/backend.js';
export type { BackendKind, PerplexityResult, WeightMode, WeightStats };
