/**
 * Atomic file output: data goes to a temp file beside the target
 * (`<target>.tmp-<pid>-<random>`, same directory so the rename stays on one
 * file system), is synced, and is renamed into place only when complete. On
 * any error the temp file is removed, so no partial output is ever visible
 * under the target name.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';

/** A complete, synced temp file waiting to be renamed into place. */
export interface TempFile {
  readonly tmpPath: string;
  /** Renames the temp file to `path` (replacing any file there). */
  moveTo(path: string): Promise<void>;
  /** Removes the temp file; a no-op once it has been moved or removed. */
  remove(): Promise<void>;
}

/**
 * Creates a temp file named after `nearPath`, lets `fill` write it, syncs and
 * closes it. If `fill` (or the sync) throws, the temp file is removed and the
 * error rethrown.
 */
export async function writeTempFile(nearPath: string, fill: (fh: FileHandle) => Promise<void>): Promise<TempFile> {
  const tmpPath = `${nearPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmpPath, 'wx');
  try {
    await fill(fh);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined); // the fill's error is the one to report
    await rm(tmpPath, { force: true });
    throw e;
  }
  try {
    await fh.close();
  } catch (e) {
    await rm(tmpPath, { force: true });
    throw e;
  }
  let pending = true;
  return {
    tmpPath,
    async moveTo(path) {
      await rename(tmpPath, path);
      pending = false;
    },
    async remove() {
      if (pending) await rm(tmpPath, { force: true });
      pending = false;
    },
  };
}

/** Writes `path` atomically through a temp file (see the module comment). */
export async function writeFileAtomic(path: string, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = await writeTempFile(path, fill);
  try {
    await tmp.moveTo(path);
  } catch (e) {
    await tmp.remove();
    throw e;
  }
}
