/**
 * The package's public types as a Node consumer compiles them: strict, `lib: ["es2022"]` without DOM
 * or WebGPU declarations, and `skipLibCheck: false`, so every .d.ts the entry point reaches is checked
 * (BackendKind had pulled in the WebGPU backend's declarations: 48 "Cannot find name 'GPU…'" errors).
 * Also what `generate` promises: an async generator of tokens returning void and taking no `next` value.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url))); // the repository (dist/test/..)

test('dist/src/index.d.ts compiles for a strict Node consumer without DOM or WebGPU types', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-types-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: ['node'], strict: true, skipLibCheck: false, noEmit: true }, files: ['consumer.ts'] }),
    );
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        `import * as lowbit from ${JSON.stringify(join(root, 'dist/src/index.js'))};`,
        `const m = await lowbit.load('model.lowbit', { backend: 'cpu', maxPositions: 64 });`,
        `for await (const t of m.generate('Once upon a time', { maxTokens: 4 })) process.stdout.write(t.text);`,
        `const r = await m.generate('hi').next();`,
        `if (r.done) { const v: void = r.value; void v; } else { const id: number = r.value.id; void id; }`,
        `// @ts-expect-error generate takes no value through next()`,
        `await m.generate('hi').next('bogus');`,
        `const p: number = (await m.perplexity('text', { seqlen: 16 })).ppl;`,
        `void p;`,
        `m.dispose();`,
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
