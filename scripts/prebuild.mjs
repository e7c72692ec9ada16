// Runs every generator in scripts/prebuild/ (in name order) before tsc: each
// turns checked-in sources (WGSL, WAT) into git-ignored TypeScript modules.
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'prebuild');
for (const f of readdirSync(dir).filter((n) => n.endsWith('.mjs')).sort()) {
  await import(pathToFileURL(join(dir, f)).href);
}
