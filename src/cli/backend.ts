/** Backend choice for the CLI: `--backend auto|cpu|webgpu`. */
import type { Backend } from '../backend/backend.js';
import { selectNodeBackend } from '../backend/node-select.js';
import type { BackendKind } from '../backend/select.js';
import { InputError } from '../io/errors.js';

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
