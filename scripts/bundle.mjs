// Bundles lowbit's Node entry points into self-contained ES modules with
// esbuild, for machines that get no node_modules (the GPU machine): only the
// native `webgpu` package stays external. The build's commit (`git rev-parse --short HEAD`, with
// `-dirty` when the work tree differs from it, e.g. a variant with a diff applied) is baked in as
// process.env.LOWBIT_BUILD_COMMIT, which results files record when $LOWBIT_COMMIT is not set.
//
//   node scripts/bundle.mjs <outdir> [entry.ts ...]
//   node scripts/bundle.mjs <outdir> --only entry.ts ...   (just these: a ~0.5 MiB variant for A/B runs)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Files under `dir` (recursively) whose name matches `re` (Node 20 has no fs.globSync). */
const find = (dir, re) =>
  !existsSync(dir)
    ? []
    : readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? find(join(dir, e.name), re) : re.test(e.name) ? [join(dir, e.name)] : [],
      );

const [outdir, ...extra] = process.argv.slice(2);
if (!outdir) throw new Error('usage: node scripts/bundle.mjs <outdir> [--only] [entry.ts ...]');
const only = extra[0] === '--only';
const entryPoints = only
  ? extra.slice(1)
  : ['src/cli/main.ts', ...find('src', /-worker\.ts$/), ...find('tools/parity', /\.ts$/), ...find('bench', /\.ts$/), ...extra];
if (entryPoints.length === 0) throw new Error('bundle.mjs: --only needs at least one entry point');
const git = (...args) => {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};
const head = git('rev-parse', '--short', 'HEAD');
const buildCommit = head === null ? 'unknown' : `${head}${git('status', '--porcelain', '--untracked-files=no') ? '-dirty' : ''}`;
await build({
  entryPoints,
  outdir,
  outbase: '.',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  define: { 'process.env.LOWBIT_BUILD_COMMIT': JSON.stringify(buildCommit) },
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
console.log(`bundled ${entryPoints.length} entry points into ${outdir} (${buildCommit})`);
