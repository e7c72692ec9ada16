/**
 * Checks of the runtime's options (browser-safe), shared by the CLI's flags and the library's
 * `load` / `generate` options: each bad value is an InputError naming the option.
 */
import type { BackendKind } from '../backend/kind.js';
import { InputError } from '../io/errors.js';
import type { LlamaConfig } from '../model/config.js';
import { KV_CACHE_DTYPES, type KvCacheDType } from '../model/llama.js';
import type { WeightMode } from '../model/weights.js';

export const BACKEND_KINDS = ['auto', 'cpu', 'webgpu'] as const satisfies readonly BackendKind[];
export const WEIGHT_MODES = ['packed', 'dequant'] as const satisfies readonly WeightMode[];
export { KV_CACHE_DTYPES };
/** Seeds are 32-bit (the sampler's generator state): 0 … 2^32 − 1. */
export const MAX_SEED = 2 ** 32 - 1;

/** `v` when it is one of `choices`, else an InputError naming `what`. */
export function oneOf<T extends string>(what: string, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new InputError(what, `${JSON.stringify(v)} is not one of ${choices.join(', ')}`);
  }
  return v as T;
}

/** `v` when it is an integer in [min, max], else an InputError naming `what`. */
export function intIn(what: string, v: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InputError(what, `expects an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}, got ${String(v)}`);
  }
  return v;
}

/**
 * Positions a run needs (`need`, as `what` asked for them) against the model's
 * max_position_embeddings: RoPE and the KV cache are sized for at most that many.
 */
export function checkPositions(what: string, need: number, config: LlamaConfig, detail = ''): void {
  if (need > config.maxPositionEmbeddings) {
    throw new InputError(what, `${detail}${need} positions exceed the model's max_position_embeddings ${config.maxPositionEmbeddings}`);
  }
}

export interface RuntimeLoadOptions {
  readonly weights?: WeightMode;
  readonly maxPositions?: number;
  readonly kvCache?: KvCacheDType;
}

/** The library's load options, checked; maxPositions defaults to min(4096, the model's max positions). */
export function checkLoadOptions(o: RuntimeLoadOptions, config: LlamaConfig): { weights: WeightMode; maxPositions: number; kvCache: KvCacheDType } {
  const weights = oneOf('weights', o.weights ?? 'packed', WEIGHT_MODES);
  const kvCache = oneOf('kvCache', o.kvCache ?? 'f32', KV_CACHE_DTYPES);
  const maxPositions = intIn('maxPositions', o.maxPositions ?? Math.min(4096, config.maxPositionEmbeddings), 1);
  checkPositions('maxPositions', maxPositions, config);
  return { weights, maxPositions, kvCache };
}
