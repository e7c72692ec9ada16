/**
 * Next-token sampling: greedy at temperature 0, otherwise softmax(logits/T)
 * restricted to the top-k tokens and to the smallest nucleus whose mass
 * reaches top-p, drawn with a seeded generator so runs are reproducible.
 * The draw itself is ops.sampleRow, which Backend.sample runs on the device.
 */
import { sampleRow } from '../backend/cpu/ops.js';

/** The largest f32 below 1. */
const ONE_BELOW = 1 - 2 ** -24;

export interface SampleOptions {
  /** 0 = greedy (argmax, first index on ties). */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 keeps every token. */
  readonly topP: number;
  /** Keep only the k most likely tokens; 0 keeps all. */
  readonly topK: number;
  readonly seed: number;
}

/** mulberry32: a small, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if ((logits[i] as number) > (logits[best] as number)) best = i;
  return best;
}

export class Sampler {
  private readonly o: SampleOptions;
  private readonly random: () => number;

  constructor(o: SampleOptions) {
    if (!(o.temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${o.temperature}`);
    if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${o.topP}`);
    if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`top-k must be a non-negative integer, got ${o.topK}`);
    this.o = o;
    this.random = rng(o.seed);
  }

  /**
   * The next draw in [0, 1) as an f32 (what a device sampler reads; below 1 after rounding), one
   * per sampled token: `sample` and a device loop fed by `uniform` pick the same tokens.
   */
  uniform(): number {
    return Math.min(Math.fround(this.random()), ONE_BELOW);
  }

  /** Picks the next token from one row of logits [V] (ops.sampleRow, the device sampler's reference). */
  sample(logits: Float32Array): number {
    const { temperature, topP, topK } = this.o;
    if (temperature === 0) return argmax(logits);
    return sampleRow(logits, 0, logits.length, { temperature, topK, topP }, this.uniform());
  }
}
