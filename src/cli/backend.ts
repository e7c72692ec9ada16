/** Backend choice for the CLI: `--backend auto|cpu|webgpu`. */
import type { Backend } from '../backend/backend.js';
import { createCpuBackend } from '../backend/cpu/node-cpu.js';
import { InputError } from '../io/errors.js';

export const BACKEND_KINDS = ['auto', 'cpu'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

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

export async function openBackend(kind: BackendKind): Promise<ChosenBackend> {
  const backend = createCpuBackend();
  return Promise.resolve({ backend, reason: kind === 'cpu' ? 'requested' : 'no WebGPU support built in yet' });
}
