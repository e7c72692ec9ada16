/** Paths inside the installed lowbit package (the embedded demo model). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding lowbit's package.json, found by walking up from this file. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lowbit') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the lowbit package root');
    dir = up;
  }
}

/** The embedded default model, shipped in the package. */
export const defaultModelDir = (): string => join(packageRoot(), 'models', 'lowbit-demo');
