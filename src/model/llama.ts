/**
 * The Llama-family forward pass, llm.c style: one backend op per line, shapes
 * in comments. Prefill runs T tokens at once; decode is the same call with
 * T = 1 and pos0 = tokens already in the KV cache.
 *
 * Notation: T tokens in this call, D = hiddenSize, F = intermediateSize,
 * Hq/Hkv query/kv heads of hd = headDim, V = vocabSize, S = cache rows.
 */
import type { Backend, Tensor } from '../backend/backend.js';
import { tensor } from '../tensor/tensor.js';
import type { LlamaConfig } from './config.js';
import { ropeTables } from './rope.js';
import type { LlamaWeights } from './weights.js';

export interface LlamaModel {
  readonly config: LlamaConfig;
  readonly backend: Backend;
  readonly weights: LlamaWeights;
  /** RoPE tables [maxPositions, hd/2]. */
  readonly cos: Tensor;
  readonly sin: Tensor;
  readonly maxPositions: number;
}

/** Builds the model record and its RoPE tables for up to `maxPositions` positions. */
export function createModel(config: LlamaConfig, backend: Backend, weights: LlamaWeights, maxPositions: number): LlamaModel {
  const { headDim, ropeTheta, ropeScaling } = config;
  const t = ropeTables(headDim, ropeTheta, ropeScaling, maxPositions);
  const shape = [maxPositions, headDim / 2];
  return {
    config,
    backend,
    weights,
    cos: backend.upload(tensor('f32', shape, t.cos)),
    sin: backend.upload(tensor('f32', shape, t.sin)),
    maxPositions,
  };
}

/** The KV cache of one sequence: per layer [S, Hkv·hd] keys and values. */
export interface KvCache {
  readonly k: readonly Tensor[];
  readonly v: readonly Tensor[];
  readonly rows: number;
}

export function createKvCache(m: LlamaModel, rows: number): KvCache {
  const c = m.config;
  if (rows > m.maxPositions) throw new Error(`KV cache of ${rows} rows exceeds the model's ${m.maxPositions} positions`);
  const shape = [rows, c.nKvHeads * c.headDim];
  const make = (): Tensor[] => Array.from({ length: c.nLayers }, () => m.backend.empty('f32', shape));
  return { k: make(), v: make(), rows };
}

/** Activations for calls of exactly T tokens. */
export interface RunState {
  readonly T: number;
  readonly ids: Tensor; // [T] i32, written by the caller
  readonly x: Tensor; // [T, D] residual stream
  readonly xb: Tensor; // [T, D] normed input of a sublayer
  readonly xo: Tensor; // [T, D] sublayer output
  readonly q: Tensor; // [T, Hq·hd]
  readonly k: Tensor; // [T, Hkv·hd]
  readonly v: Tensor; // [T, Hkv·hd]
  readonly att: Tensor; // [T, Hq·hd]
  readonly gate: Tensor; // [T, F]
  readonly up: Tensor; // [T, F]
  readonly hb: Tensor; // [T, F] silu(gate)·up
  readonly last: Tensor; // [1, D] the final row, for next-token logits
  readonly logits: Tensor; // [T, V] or [1, V] (see `allLogits`)
  readonly allLogits: boolean;
}

/** `allLogits`: logits for every row (perplexity) or only the last (generation). */
export function createRunState(m: LlamaModel, T: number, allLogits: boolean): RunState {
  const c = m.config;
  const b = m.backend;
  const f32 = (...shape: number[]): Tensor => b.empty('f32', shape);
  const Cq = c.nHeads * c.headDim;
  const Ckv = c.nKvHeads * c.headDim;
  return {
    T,
    ids: b.empty('i32', [T]),
    x: f32(T, c.hiddenSize),
    xb: f32(T, c.hiddenSize),
    xo: f32(T, c.hiddenSize),
    q: f32(T, Cq),
    k: f32(T, Ckv),
    v: f32(T, Ckv),
    att: f32(T, Cq),
    gate: f32(T, c.intermediateSize),
    up: f32(T, c.intermediateSize),
    hb: f32(T, c.intermediateSize),
    last: f32(1, c.hiddenSize),
    logits: f32(allLogits ? T : 1, c.vocabSize),
    allLogits,
  };
}

export function freeRunState(b: Backend, s: RunState): void {
  for (const t of [s.ids, s.x, s.xb, s.xo, s.q, s.k, s.v, s.att, s.gate, s.up, s.hb, s.last, s.logits]) b.free(t);
}

export function freeKvCache(b: Backend, kv: KvCache): void {
  for (const t of [...kv.k, ...kv.v]) b.free(t);
}

/**
 * Runs the T tokens in `s.ids` at positions pos0 … pos0+T−1, appending their
 * keys/values to `kv`, and leaves logits in `s.logits` (enqueued; read them
 * with backend.read).
 */
export function forward(m: LlamaModel, s: RunState, kv: KvCache, pos0: number): void {
  const c = m.config;
  const b = m.backend;
  const w = m.weights;
  const T = s.T;
  if (pos0 + T > kv.rows) throw new Error(`positions ${pos0}…${pos0 + T - 1} exceed the KV cache of ${kv.rows}`);
  if (c.slidingWindow !== null && pos0 + T > c.slidingWindow) {
    throw new Error(`sequence of ${pos0 + T} tokens exceeds the sliding window of ${c.slidingWindow}, which lowbit does not implement`);
  }
  const eps = c.rmsNormEps;
  const hd = c.headDim;
  const attn = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0 };

  b.embedding(s.x, w.embed, s.ids); //                        x: [T, D]
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l] as (typeof w.layers)[number];
    // attention sublayer
    b.rmsnorm(s.xb, s.x, L.attnNorm, eps); //                  xb: [T, D]
    b.matmul(s.q, s.xb, L.wq, L.bq); //                         q: [T, Hq·hd]
    b.matmul(s.k, s.xb, L.wk, L.bk); //                         k: [T, Hkv·hd]
    b.matmul(s.v, s.xb, L.wv, L.bv); //                         v: [T, Hkv·hd]
    b.rope(s.q, m.cos, m.sin, pos0, hd);
    b.rope(s.k, m.cos, m.sin, pos0, hd);
    b.copyRows(kv.k[l] as Tensor, pos0, s.k, 0, T); //          cache rows pos0 … pos0+T−1
    b.copyRows(kv.v[l] as Tensor, pos0, s.v, 0, T);
    b.attention(s.att, s.q, kv.k[l] as Tensor, kv.v[l] as Tensor, attn); // att: [T, Hq·hd]
    b.matmul(s.xo, s.att, L.wo, L.bo); //                      xo: [T, D]
    b.add(s.x, s.x, s.xo); //                                   x += xo
    // feed-forward sublayer (SwiGLU)
    b.rmsnorm(s.xb, s.x, L.ffnNorm, eps); //                   xb: [T, D]
    b.matmul(s.gate, s.xb, L.wGate); //                      gate: [T, F]
    b.matmul(s.up, s.xb, L.wUp); //                            up: [T, F]
    b.siluMul(s.hb, s.gate, s.up); //                          hb: [T, F]
    b.matmul(s.xo, s.hb, L.wDown); //                          xo: [T, D]
    b.add(s.x, s.x, s.xo); //                                   x += xo
  }
  b.rmsnorm(s.xb, s.x, w.norm, eps); //                        xb: [T, D]
  if (s.allLogits) {
    b.matmul(s.logits, s.xb, w.lmHead); //                 logits: [T, V]
  } else {
    b.copyRows(s.last, 0, s.xb, T - 1, 1); //                last: [1, D]
    b.matmul(s.logits, s.last, w.lmHead); //               logits: [1, V]
  }
}
