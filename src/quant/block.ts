/**
 * One decoder block run over calibration windows, stopping where a group of
 * linear layers takes its input, so the sequential pipeline can accumulate
 * that group's Hessian and re-run the block after each group is quantized.
 *
 * Every window is a fresh sequence at positions 0 … T−1, so the block's own
 * k/v rows are the whole KV cache (no copy). Shapes as in model/llama.ts.
 */
import type { Backend, Tensor } from '../backend/backend.js';
import type { LlamaConfig } from '../model/config.js';
import type { LayerWeights } from '../model/weights.js';

/** Linear layers that share one input, hence one Hessian (GPTQ's sequential groups), in quantization order. */
export const GROUPS = [
  { id: 'qkv', layers: ['wq', 'wk', 'wv'] },
  { id: 'o', layers: ['wo'] },
  { id: 'gateUp', layers: ['wGate', 'wUp'] },
  { id: 'down', layers: ['wDown'] },
] as const satisfies readonly { id: string; layers: readonly (keyof LayerWeights)[] }[];

export type GroupId = (typeof GROUPS)[number]['id'];
export type LinearName = (typeof GROUPS)[number]['layers'][number];

/** Activations of one block for windows of T tokens. */
export interface BlockState {
  readonly T: number;
  readonly x: Tensor; // [T, D] block input, then output (in place)
  readonly xb: Tensor; // [T, D] normed input: qkv's and gate/up's input
  readonly xo: Tensor; // [T, D]
  readonly q: Tensor; // [T, Hq·hd]
  readonly k: Tensor; // [T, Hkv·hd]
  readonly v: Tensor; // [T, Hkv·hd]
  readonly att: Tensor; // [T, Hq·hd] o's input
  readonly gate: Tensor; // [T, F]
  readonly up: Tensor; // [T, F]
  readonly hb: Tensor; // [T, F] down's input
}

export function createBlockState(b: Backend, c: LlamaConfig, T: number): BlockState {
  const f32 = (...shape: number[]): Tensor => b.empty('f32', shape);
  const Cq = c.nHeads * c.headDim;
  const Ckv = c.nKvHeads * c.headDim;
  const F = c.intermediateSize;
  const D = c.hiddenSize;
  return { T, x: f32(T, D), xb: f32(T, D), xo: f32(T, D), q: f32(T, Cq), k: f32(T, Ckv), v: f32(T, Ckv), att: f32(T, Cq), gate: f32(T, F), up: f32(T, F), hb: f32(T, F) };
}

export function freeBlockState(b: Backend, s: BlockState): void {
  for (const t of [s.x, s.xb, s.xo, s.q, s.k, s.v, s.att, s.gate, s.up, s.hb]) b.free(t);
}

export interface BlockContext {
  readonly backend: Backend;
  readonly config: LlamaConfig;
  /** RoPE tables [≥ T, hd/2]. */
  readonly cos: Tensor;
  readonly sin: Tensor;
}

/**
 * Runs block `L` on `s.x`. With `until`, stops as soon as that group's input
 * is computed and returns it (s.x is then not the block output); without,
 * runs the whole block, leaves its output in `s.x` and returns it.
 */
export function runBlock(ctx: BlockContext, L: LayerWeights, s: BlockState, until?: GroupId): Tensor {
  const b = ctx.backend;
  const c = ctx.config;
  const hd = c.headDim;
  const eps = c.rmsNormEps;
  b.rmsnorm(s.xb, s.x, L.attnNorm, eps); //                    xb: [T, D]
  if (until === 'qkv') return s.xb;
  b.matmul(s.q, s.xb, L.wq, L.bq); //                           q: [T, Hq·hd]
  b.matmul(s.k, s.xb, L.wk, L.bk); //                           k: [T, Hkv·hd]
  b.matmul(s.v, s.xb, L.wv, L.bv); //                           v: [T, Hkv·hd]
  b.rope(s.q, ctx.cos, ctx.sin, 0, hd);
  b.rope(s.k, ctx.cos, ctx.sin, 0, hd);
  b.attention(s.att, s.q, s.k, s.v, { nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: hd, pos0: 0 }); // att: [T, Hq·hd]
  if (until === 'o') return s.att;
  b.matmul(s.xo, s.att, L.wo, L.bo); //                        xo: [T, D]
  b.add(s.x, s.x, s.xo); //                                     x += xo
  b.rmsnorm(s.xb, s.x, L.ffnNorm, eps); //                     xb: [T, D]
  if (until === 'gateUp') return s.xb;
  b.matmul(s.gate, s.xb, L.wGate); //                        gate: [T, F]
  b.matmul(s.up, s.xb, L.wUp); //                              up: [T, F]
  b.siluMul(s.hb, s.gate, s.up); //                            hb: [T, F]
  if (until === 'down') return s.hb;
  b.matmul(s.xo, s.hb, L.wDown); //                            xo: [T, D]
  b.add(s.x, s.x, s.xo); //                                     x += xo
  return s.x;
}
