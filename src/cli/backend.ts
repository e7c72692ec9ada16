/** Backend choice for the CLI: `--backend auto|cpu|webgpu`. */
import type { Backend } from '../backend/backend.js';
import { selectNodeBackend } from '../backend/node-select.js';
import type { BackendKind } from '../backend/select.js';
import { InputError } from '../io/errors.js';
import type { KvCacheDType } from '../model/llama.js';
import type { WeightMode, WeightStats } from '../model/weights.js';
import { BACKEND_KINDS, KV_CACHE_DTYPES, WEIGHT_MODES, oneOf } from '../runtime/options.js';

export type { BackendKind };

export const parseBackendKind = (v: string): BackendKind => oneOf('--backend', v, BACKEND_KINDS);

export interface ChosenBackend {
  readonly backend: Backend;
  /** Why this backend was chosen, printed on stderr. */
  readonly reason: string;
}

/** Opens the backend; commands print `backend: <name> (<why>)` on stderr. */
export async function openBackend(kind: BackendKind): Promise<ChosenBackend> {
  try {
    // One error scope per submit (fewer CPU cycles per dispatch); --debug scopes every op, so errors name it.
    const s = await selectNodeBackend(kind, { errorScopes: process.argv.includes('--debug') ? 'op' : 'submit' });
    return { backend: s.backend, reason: s.reason };
  } catch (e) {
    throw new InputError('--backend', (e as Error).message);
  }
}

export const parseWeightMode = (v: string): WeightMode => oneOf('--weights', v, WEIGHT_MODES);

export const parseKvCache = (v: string): KvCacheDType => oneOf('--kv-cache', v, KV_CACHE_DTYPES);

/** The --kv-cache option's help. */
export const KV_CACHE_HELP = 'KV cache element type: f32 | f16 (half the cache memory; keys and values rounded to f16 as stored)';

/** One stderr line: what was uploaded packed and what was dequantized. */
export function weightLine(s: WeightStats): string {
  const packed = Object.entries(s.packed).map(([f, n]) => `${n} ${f}`).join(', ');
  return `weights: ${packed ? `${packed} packed` : 'none packed'}, ${s.dequantized} dequantized at load; ${(s.bytes / 2 ** 20).toFixed(1)} MiB on the backend (bf16: ${(s.bf16Bytes / 2 ** 20).toFixed(1)} MiB)`;
}
