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
import { freeWeights, type LlamaWeights } from './weights.js';

export interface LlamaModel {
  readonly config: LlamaConfig;
  readonly backend: Backend;
  readonly weights: LlamaWeights;
  /** RoPE tables [maxPositions, hd/2]. */
  readonly cos: Tensor;
  readonly sin: Tensor;
  readonly maxPositions: number;
  /** The element type of the KV caches `createKvCache` makes. */
  readonly kvCache: KvCacheDType;
}

/**
 * A KV cache's element type: f32 (the default: attention reads the keys and values the projections
 * computed) or f16 (half the cache's bytes and memory; each key and value rounded to the nearest
 * f16 as it is stored, as llama.cpp's default cache does).
 */
export type KvCacheDType = 'f32' | 'f16';
export const KV_CACHE_DTYPES: readonly KvCacheDType[] = ['f32', 'f16'];

/** Builds the model record and its RoPE tables for up to `maxPositions` positions. */
export function createModel(config: LlamaConfig, backend: Backend, weights: LlamaWeights, maxPositions: number, kvCache: KvCacheDType = 'f32'): LlamaModel {
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
    kvCache,
  };
}

/** Frees the model's weights and RoPE tables (the backend stays). */
export function freeModel(m: LlamaModel): void {
  freeWeights(m.backend, m.weights);
  m.backend.free(m.cos);
  m.backend.free(m.sin);
}

/** The KV cache of one sequence: per layer [S, Hkv·hd] keys and values (of the model's kvCache type). */
export interface KvCache {
  readonly k: readonly Tensor[];
  readonly v: readonly Tensor[];
  readonly rows: number;
}

export function createKvCache(m: LlamaModel, rows: number): KvCache {
  const c = m.config;
  if (rows > m.maxPositions) throw new Error(`KV cache of ${rows} rows exceeds the model's ${m.maxPositions} positions`);
  const shape = [rows, c.nKvHeads * c.headDim];
  const make = (): Tensor[] => Array.from({ length: c.nLayers }, () => m.backend.empty(m.kvCache, shape));
  return { k: make(), v: make(), rows };
}

/** Bytes of a KV cache of `rows` rows for the model (keys and values, every layer). */
export function kvCacheBytes(m: LlamaModel, rows: number): number {
  const c = m.config;
  return 2 * c.nLayers * rows * c.nKvHeads * c.headDim * (m.kvCache === 'f16' ? 2 : 4);
}

/** Activations for calls of exactly T tokens. */
export interface RunState {
  readonly T: number;
  readonly ids: Tensor; // [T] i32, written by the caller
  /** [1] i32: the position of row 0, read by the position-dependent ops on the device (`setPosition`). */
  readonly pos: Tensor;
  readonly x: Tensor; // [T, D] residual stream
  readonly qkv: Tensor; // [T, Hq·hd + 2·Hkv·hd] the q|k|v projections
  readonly q: Tensor; // [T, Hq·hd] rotated queries
  readonly att: Tensor; // [T, Hq·hd]
  readonly gu: Tensor; // [T, 2F] the gate|up projections (when gate and up are separate weights)
  readonly h: Tensor; // [T, F] silu(gate)·up
  /** [1, 2D] at T = 1: the next RMSNorm's input as the last residual add prepared it (MatmulOptions.normOut). */
  readonly xn: Tensor | null;
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
    pos: b.empty('i32', [1]),
    x: f32(T, c.hiddenSize),
    qkv: f32(T, Cq + 2 * Ckv),
    q: f32(T, Cq),
    att: f32(T, Cq),
    gu: f32(T, 2 * c.intermediateSize),
    h: f32(T, c.intermediateSize),
    xn: T === 1 ? f32(1, 2 * c.hiddenSize) : null,
    last: f32(1, c.hiddenSize),
    logits: f32(allLogits ? T : 1, c.vocabSize),
    allLogits,
  };
}

export function freeRunState(b: Backend, s: RunState): void {
  for (const t of [s.ids, s.pos, s.x, s.qkv, s.q, s.att, s.gu, s.h, s.last, s.logits, s.xn]) if (t) b.free(t);
}

export function freeKvCache(b: Backend, kv: KvCache): void {
  for (const t of [...kv.k, ...kv.v]) b.free(t);
}

/** Checks that positions pos0 … pos0+T−1 fit `kv` and the model, and writes pos0 to `s.pos`. */
export function setPosition(m: LlamaModel, s: RunState, kv: KvCache, pos0: number): void {
  checkPositions(m, kv, pos0, s.T);
  m.backend.write(s.pos, tensor('i32', [1], Int32Array.of(pos0)));
}

/** Throws unless positions pos0 … pos0 + T − 1 fit the KV cache (and the model's sliding window). */
export function checkPositions(m: LlamaModel, kv: KvCache, pos0: number, T: number): void {
  if (pos0 + T > kv.rows) throw new Error(`positions ${pos0}…${pos0 + T - 1} exceed the KV cache of ${kv.rows}`);
  const w = m.config.slidingWindow;
  if (w !== null && pos0 + T > w) {
    throw new Error(`sequence of ${pos0 + T} tokens exceeds the sliding window of ${w}, which lowbit does not implement`);
  }
}

/**
 * Runs the T tokens in `s.ids` at positions pos0 … pos0+T−1, appending their
 * keys/values to `kv`, and leaves logits in `s.logits` (enqueued; read them
 * with backend.read).
 */
export function forward(m: LlamaModel, s: RunState, kv: KvCache, pos0: number): void {
  setPosition(m, s, kv, pos0);
  enqueueForward(m, s, kv);
}

/**
 * The ops of `forward` at the position already in `s.pos` (setPosition). None
 * depends on the position on the host, so a decode step can be recorded once
 * (Backend.record) and replayed at every later position.
 * Each sublayer's RMSNorm is folded into its projections, and its residual
 * add into its output projection (MatmulOptions); at T = 1 each residual add
 * also prepares the next norm's input (normOut → norm.prepared).
 */
export function enqueueForward(m: LlamaModel, s: RunState, kv: KvCache): void {
  const c = m.config;
  const b = m.backend;
  const w = m.weights;
  const T = s.T;
  const eps = c.rmsNormEps;
  const heads = { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, pos0: 0, pos: s.pos };

  // the residual add prepares the next norm's input in s.xn (T = 1); its consumer reads it, or x
  const normOut = (weight: Tensor): { normOut?: { weight: Tensor; into: Tensor } } => (s.xn ? { normOut: { weight, into: s.xn } } : {});
  const norm = (weight: Tensor, prepared: boolean): { norm: { weight: Tensor; eps: number; prepared?: Tensor } } => ({ norm: { weight, eps, ...(prepared && s.xn && { prepared: s.xn }) } });
  b.embedding(s.x, w.embed, s.ids); //                           x: [T, D]
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l] as (typeof w.layers)[number];
    const next = w.layers[l + 1];
    const k = kv.k[l] as Tensor;
    const v = kv.v[l] as Tensor;
    // attention sublayer
    for (const p of L.qkv.parts) b.matmul(s.qkv, s.x, p.w, p.bias, { ...norm(L.attnNorm, l > 0), col0: p.col0 }); // qkv: [T, Cq + 2·Ckv]
    b.ropeKvAttention(s.att, s.q, k, v, s.qkv, m.cos, m.sin, heads); // cache rows pos … pos+T−1; att: [T, Cq]
    b.matmul(s.x, s.att, L.wo, L.bo, { accumulate: true, ...normOut(L.ffnNorm) }); // x += att·Woᵀ
    // feed-forward sublayer (SwiGLU)
    const ffnIn = norm(L.ffnNorm, true);
    const downOut = { accumulate: true, ...normOut(next ? next.attnNorm : w.norm) };
    const [gu] = L.gateUp.parts;
    // (gate | up) in one tensor (dense, or packed parts concatenated): SwiGLU in the product's
    // epilogue; parts kept apart: SwiGLU in the down projection's input
    if (L.gateUp.parts.length === 1 && gu) {
      b.matmul(s.h, s.x, gu.w, gu.bias, { ...ffnIn, glu: true }); //       h: [T, F] = silu(g)·u
      b.matmul(s.x, s.h, L.wDown, undefined, downOut); //           x += h·Wdᵀ
    } else {
      for (const p of L.gateUp.parts) b.matmul(s.gu, s.x, p.w, p.bias, { ...ffnIn, col0: p.col0 }); // gu: [T, 2F]
      b.matmul(s.x, s.gu, L.wDown, undefined, { gated: true, ...downOut }); // x += (silu(g)·u)·Wdᵀ
    }
  }
  const head = norm(w.norm, c.nLayers > 0);
  if (s.allLogits || T === 1) {
    b.matmul(s.logits, s.x, w.lmHead, undefined, head); //   logits: [T, V]
  } else {
    b.copyRows(s.last, 0, s.x, T - 1, 1); //                   last: [1, D]
    b.matmul(s.logits, s.last, w.lmHead, undefined, head); // logits: [1, V]
  }
}
