/**
 * Autoregressive generation with a KV cache: one prefill call over the
 * prompt, then one T = 1 decode call per new token. Tokens are yielded as
 * they are sampled, so callers can stream them. The first token is picked on
 * the host from the prompt's logits; every later one on the device (decode.ts:
 * argmax at temperature 0, else Backend.sample with the seeded draws written
 * ahead), so a seed gives the same tokens as the host Sampler would.
 */
import { createKvCache, createRunState, forward, freeKvCache, freeRunState, type LlamaModel } from '../model/llama.js';
import type { Tensor } from '../backend/backend.js';
import { tensor } from '../tensor/tensor.js';
import { decodeOnDevice } from './decode.js';
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
  let uniforms: Tensor | null = null;
  try {
    b.write(pre.ids, tensor('i32', [prompt.length], prompt));
    forward(m, pre, kv, 0);
    const logits = (await b.read(pre.logits)).data as Float32Array;
    if (o.maxTokens === 0) return;
    const first = sampler.sample(logits);
    yield first;
    if (o.stopIds.includes(first) || o.maxTokens === 1) return;
    b.write(dec.ids, tensor('i32', [1], Int32Array.of(first)));
    if (o.temperature === 0) {
      yield* decodeOnDevice(m, dec, kv, prompt.length, o.maxTokens - 1, { stopIds: o.stopIds });
      return;
    }
    // the draw of the token at position q in uniforms[q]: the first token (position prompt.length) took one
    const u = new Float32Array(kv.rows + 1);
    for (let q = prompt.length + 1; q < prompt.length + o.maxTokens; q++) u[q] = sampler.uniform();
    uniforms = b.upload(tensor('f32', [u.length], u));
    const sample = { temperature: o.temperature, topK: o.topK, topP: o.topP, uniforms };
    yield* decodeOnDevice(m, dec, kv, prompt.length, o.maxTokens - 1, { stopIds: o.stopIds, sample });
  } finally {
    freeRunState(b, pre);
    freeRunState(b, dec);
    freeKvCache(b, kv);
    if (uniforms) b.free(uniforms);
  }
}
