/**
 * A loaded model as the library hands it out (browser-safe): streaming
 * generation with text, perplexity, dispose. `load` (index.ts, Node) and
 * `loadLowbit` (browser.ts) build it.
 */
import type { Backend } from '../backend/backend.js';
import { InputError } from '../io/errors.js';
import { perplexity as perplexityOf, type PerplexityResult } from '../eval/perplexity.js';
import type { TextTokenizer } from '../io/tokenizer-core.js';
import type { LlamaConfig } from '../model/config.js';
import { freeModel, type LlamaModel } from '../model/llama.js';
import type { WeightStats } from '../model/weights.js';
import { generate as generateIds } from './generate.js';
import { intIn, MAX_SEED } from './options.js';
import { TextStream } from './text-stream.js';
import type { LoadedModel } from './upload.js';

export interface GenerateOptions {
  /** Default 64 (or as many as fit); the prompt and these must fit in the load's maxPositions. */
  readonly maxTokens?: number;
  /** 0 (default) = greedy. */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  /** 0 … 2^32 − 1 (default 0). */
  readonly seed?: number;
  /** Stop at the model's EOS (default true). */
  readonly stopAtEos?: boolean;
}

/**
 * One generated token: its id and the text it adds after the prompt and the tokens before it
 * (empty while a multi-byte character is incomplete; the last token's text includes what is
 * still held back, an incomplete character as U+FFFD).
 */
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
  generate(prompt: string, opts?: GenerateOptions): AsyncGenerator<GeneratedToken, void, undefined>;
  /** Perplexity of `text` (CONVENTIONS §4: BOS once, non-overlapping windows). */
  perplexity(text: string, opts?: PerplexityOptions): Promise<PerplexityResult>;
  /**
   * Frees the weights and the backend (unless you passed your own). Calling it again does nothing;
   * generate and perplexity after it are an error. End open generators first (break, or return()):
   * their KV cache is freed when they end.
   */
  dispose(): void;
}

/** The handle of an uploaded model; `own`: dispose also disposes the backend. */
export function modelHandle(m: LoadedModel, backend: Backend, maxPositions: number, own: boolean): LowbitModelHandle {
  const { tokenizer, config } = m;
  let disposed = false;
  const live = (): void => {
    if (disposed) throw new Error('lowbit: this model was disposed; load it again to use it');
  };
  return {
    config,
    tokenizer,
    backend,
    model: m.model,
    maxPositions,
    weightStats: m.weightStats,
    async *generate(prompt, g = {}) {
      live();
      let ids = tokenizer.encode(prompt);
      if (ids.length === 0) {
        if (config.bosTokenId === null) throw new InputError('prompt', 'is empty and the model has no bos_token_id to start from');
        ids = Int32Array.of(config.bosTokenId);
      }
      // default: 64, or as many as fit
      const maxTokens = intIn('maxTokens', g.maxTokens ?? Math.max(0, Math.min(64, maxPositions - ids.length)), 0);
      if (ids.length + maxTokens > maxPositions) {
        throw new InputError('maxTokens', `the prompt's ${ids.length} tokens and ${maxTokens} new ones exceed maxPositions ${maxPositions} (pass a larger maxPositions to load, up to the model's max_position_embeddings ${config.maxPositionEmbeddings})`);
      }
      const temperature = g.temperature ?? 0;
      const topK = intIn('topK', g.topK ?? 0, 0);
      const topP = g.topP ?? 1;
      const seed = intIn('seed', g.seed ?? 0, 0, MAX_SEED);
      if (!(Number.isFinite(temperature) && temperature >= 0)) throw new InputError('temperature', `expects a number ≥ 0, got ${temperature}`);
      if (!(topP > 0 && topP <= 1)) throw new InputError('topP', `expects a number in (0, 1], got ${topP}`);
      const stopIds = g.stopAtEos === false ? [] : config.eosTokenIds;
      const text = new TextStream(tokenizer, ids);
      let n = 0;
      for await (const id of generateIds(m.model, ids, { maxTokens, temperature, topK, topP, seed, stopIds })) {
        const piece = text.push(id);
        const last = ++n === maxTokens || stopIds.includes(id); // generateIds ends after this one
        yield { id, text: last ? piece + text.end() : piece };
      }
    },
    async perplexity(text, p = {}) {
      live();
      // options as InputErrors naming them, as load's and generate's
      const seqlen = intIn('seqlen', p.seqlen ?? Math.min(2048, maxPositions), 2);
      if (seqlen > maxPositions) throw new InputError('seqlen', `${seqlen} exceeds maxPositions ${maxPositions} (pass a larger maxPositions to load)`);
      const windows = p.windows === undefined ? undefined : intIn('windows', p.windows, 1);
      const ids = tokenizer.encode(text);
      if (ids.length < seqlen) throw new InputError('text', `has ${ids.length} tokens, fewer than one window of seqlen ${seqlen}`);
      return perplexityOf(m.model, ids, { seqlen, ...(windows !== undefined && { windows }) });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      freeModel(m.model);
      if (own) backend.dispose();
    },
  };
}
