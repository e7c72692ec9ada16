/**
 * Errors about the user's input (files, flags, data): the CLI prints them as
 * one line naming the file and the problem, without a stack, and exits with 2.
 * Anything else that escapes is a bug in lowbit and keeps its stack.
 */
export class InputError extends Error {
  /** The file (or flag) the problem is in, when there is one. */
  readonly file: string | undefined;

  constructor(file: string | undefined, problem: string, options?: { cause?: unknown }) {
    super(file === undefined ? problem : `${file}: ${problem}`, options);
    this.name = 'InputError';
    this.file = file;
  }
}

/** A read that ran past the end of `file`: `got` of the `want` bytes `what` needed. */
export function endedEarly(file: string, what: string, got: number, want: number): InputError {
  return new InputError(file, `${what}: the file ended after ${got} of ${want} bytes (was it truncated?)`);
}

export const isInputError = (e: unknown): e is InputError => e instanceof InputError;

/** The InputError for an output `path` the file system refused (stat, mkdir): its error in words. */
export function cannotWrite(path: string, e: { readonly code?: string; readonly message: string }): InputError {
  return new InputError(path, `cannot be written: ${e.code === 'ENOTDIR' ? 'a parent of it is not a directory' : (e.code ?? e.message)}`, { cause: e });
}

/**
 * `alloc()`, or an InputError naming `file` and `what` when the engine cannot make an array that
 * large (a RangeError: past the largest typed array, or out of memory), instead of an internal error.
 */
export function allocFor<T>(file: string, what: string, bytes: number, alloc: () => T): T {
  try {
    return alloc();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new InputError(file, `${what}: cannot allocate ${bytes} bytes for it (${e.message})`, { cause: e });
  }
}
