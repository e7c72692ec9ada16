/**
 * Autoregressive generation with a KV cache: one prefill call over the
 * prompt, then one T = 1 decode call per new token. Tokens are yielded as
 * they are sampled, so callers can stream them. Greedy decoding (temperature
 * 0) stays on the device (decode.ts); sampling reads each step's logits.
 */
import { createKvCache, createRunState, forward, freeKvCache, freeRunState, type LlamaModel } from '../model/llama.js';
import { tensor } from '../tensor/tensor.js';
import { greedyOnDevice } from './decode.js';
import { Sampler, type SampleOptions } from './sampler.js';

export interface GenerateOptions extends SampleOptions {
  readonly maxTokens: number;
  /** Stop after emitting any of these ids (the model's EOS); empty = never stop early. */
  readonly stopIds: readonly number[];
}

/** Positions a generation of `prompt` + `maxTokens` needs. */
export const generationLength = (promptLength: number, maxTokens: number): number => promptLength + maxTokens;

/** Yields up to `maxTokens` new token ids after `prompt` (which must hold at least one id, e.g. BOS). */
export async function* generate(m: LlamaModel, prompt: Int32Array, o: GenerateOptions): AsyncGenerator<number> {
  if (prompt.length === 0) throw new Error('generate: the prompt must hold at least one token (BOS)');
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0) throw new Error(`max tokens must be a non-negative integer, got ${o.maxTokens}`);
  const b = m.backend;
  const sampler = new Sampler(o);
  const kv = createKvCache(m, generationLength(prompt.length, o.maxTokens));
  const pre = createRunState(m, prompt.length, false);
  const dec = createRunState(m, 1, false);
  try {
    b.write(pre.ids, tensor('i32', [prompt.length], prompt));
    forward(m, pre, kv, 0);
    let logits = (await b.read(pre.logits)).data as Float32Array;
    if (o.temperature === 0 && o.maxTokens > 0) {
      const first = sampler.sample(logits);
      yield first;
      if (o.stopIds.includes(first) || o.maxTokens === 1) return;
      b.write(dec.ids, tensor('i32', [1], Int32Array.of(first)));
      yield* greedyOnDevice(m, dec, kv, prompt.length, o.maxTokens - 1, { stopIds: o.stopIds });
      return;
    }
    for (let i = 0; i < o.maxTokens; i++) {
      const next = sampler.sample(logits);
      yield next;
      if (o.stopIds.includes(next) || i + 1 === o.maxTokens) break;
      b.write(dec.ids, tensor('i32', [1], Int32Array.of(next)));
      forward(m, dec, kv, prompt.length + i);
      logits = (await b.read(dec.logits)).data as Float32Array;
    }
  } finally {
    freeRunState(b, pre);
    freeRunState(b, dec);
    freeKvCache(b, kv);
  }
}
