/**
 * Positioned file I/O on `fs/promises` handles: full reads and writes of a
 * byte range (the OS may move fewer bytes per call than asked), and the
 * translation of system errors into InputErrors that name the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endedEarly, InputError } from './errors.js';

/** Largest single read/write; Node caps one call below 2 GiB. */
const CHUNK_BYTES = 1 << 30;

/** Fills `dst` with the file's bytes from `position`; a short file is an InputError naming `what`. */
export async function readFullyAt(fh: FileHandle, file: string, what: string, dst: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < dst.length) {
    const length = Math.min(CHUNK_BYTES, dst.length - done);
    const { bytesRead } = await fh.read(dst, done, length, position + done);
    if (bytesRead === 0) {
      throw endedEarly(file, what, done, dst.length);
    }
    done += bytesRead;
  }
}

/** Writes all of `src` at `position`. */
export async function writeFullyAt(fh: FileHandle, src: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < src.length) {
    const length = Math.min(CHUNK_BYTES, src.length - done);
    const { bytesWritten } = await fh.write(src, done, length, position + done);
    done += bytesWritten;
  }
}

/** System errors (ENOENT, EACCES, …) become InputErrors naming `file`; anything else is rethrown as is. */
export function asInputError(file: string, e: unknown): unknown {
  if (e instanceof InputError || !(e instanceof Error) || typeof (e as NodeJS.ErrnoException).code !== 'string') return e;
  const code = (e as NodeJS.ErrnoException).code;
  const problem = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : e.message;
  return new InputError(file, problem, { cause: e });
}

/**
 * Opens `path` (a regular file) for reading and lets `parse` validate it with
 * the handle and the file size. If anything fails the handle is closed and the
 * parse error (system errors as InputErrors naming the file) is thrown; on
 * success `parse`'s result owns the handle.
 */
export async function openValidated<T>(path: string, parse: (fh: FileHandle, size: number) => Promise<T>): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw asInputError(path, e);
  }
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) throw new InputError(path, 'not a regular file');
    return await parse(fh, stat.size);
  } catch (e) {
    await fh.close().catch(() => undefined); // report the parse problem, not a close failure
    throw asInputError(path, e);
  }
}
