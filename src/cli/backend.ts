/** Backend choice for the CLI: `--backend auto|cpu|webgpu`. */
import type { Backend } from '../backend/backend.js';
import { selectNodeBackend } from '../backend/node-select.js';
import type { BackendKind } from '../backend/select.js';
import { InputError } from '../io/errors.js';
import { KV_CACHE_DTYPES, type KvCacheDType } from '../model/llama.js';
import type { WeightMode, WeightStats } from '../model/weights.js';

export const BACKEND_KINDS = ['auto', 'cpu', 'webgpu'] as const satisfies readonly BackendKind[];
export type { BackendKind };

export function parseBackendKind(v: string): BackendKind {
  if (!(BACKEND_KINDS as readonly string[]).includes(v)) {
    throw new InputError('--backend', `"${v}" is not one of ${BACKEND_KINDS.join(', ')}`);
  }
  return v as BackendKind;
}

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

export const WEIGHT_MODES = ['packed', 'dequant'] as const satisfies readonly WeightMode[];

export function parseWeightMode(v: string): WeightMode {
  if (!(WEIGHT_MODES as readonly string[]).includes(v)) throw new InputError('--weights', `"${v}" is not one of ${WEIGHT_MODES.join(', ')}`);
  return v as WeightMode;
}

export function parseKvCache(v: string): KvCacheDType {
  if (!(KV_CACHE_DTYPES as readonly string[]).includes(v)) throw new InputError('--kv-cache', `"${v}" is not one of ${KV_CACHE_DTYPES.join(', ')}`);
  return v as KvCacheDType;
}

/** The --kv-cache option's help. */
export const KV_CACHE_HELP = 'KV cache element type: f32 | f16 (half the cache memory; keys and values rounded to f16 as stored)';

/** One stderr line: what was uploaded packed and what was dequantized. */
export function weightLine(s: WeightStats): string {
  const packed = Object.entries(s.packed).map(([f, n]) => `${n} ${f}`).join(', ');
  return `weights: ${packed ? `${packed} packed` : 'none packed'}, ${s.dequantized} dequantized at load; ${(s.bytes / 2 ** 20).toFixed(1)} MiB on the backend (bf16: ${(s.bf16Bytes / 2 ** 20).toFixed(1)} MiB)`;
}
