/**
 * A loaded model as the library hands it out (browser-safe): streaming
 * generation with text, perplexity, dispose. `load` (index.ts, Node) and
 * `loadLowbit` (browser.ts) build it.
 */
import type { Backend } from '../backend/backend.js';
import { perplexity as perplexityOf, type PerplexityResult } from '../eval/perplexity.js';
import type { TextTokenizer } from '../io/tokenizer-core.js';
import type { LlamaConfig } from '../model/config.js';
import { freeModel, type LlamaModel } from '../model/llama.js';
import type { WeightStats } from '../model/weights.js';
import { generate as generateIds } from './generate.js';
import type { LoadedModel } from './upload.js';

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

/** The handle of an uploaded model; `own`: dispose also disposes the backend. */
export function modelHandle(m: LoadedModel, backend: Backend, maxPositions: number, own: boolean): LowbitModelHandle {
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
      freeModel(m.model);
      if (own) backend.dispose();
    },
  };
}
