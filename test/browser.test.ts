/**
 * lowbit's WebGPU backend in a browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) loads test/browser/page.ts bundled for the browser by esbuild (no Node
 * built-ins may creep into the backend, model or formats: the bundle would not build), and on
 * `navigator.gpu` — SwiftShader's Vulkan here, a fallback adapter with subgroups of 4 and at most
 * 256 threads a workgroup — runs tiny random int4 and SpQR models: a prefill and recorded decode
 * steps whose logits must equal the CPU reference backend's in the same page within max |Δ| 1e-3
 * (CONVENTIONS §3, model level), and 8 tokens generated on the device, greedy and sampled (seeded
 * draws), the same ids as the CPU's. CI installs chromium (.ci/run); where it is missing the test
 * fails, unless LOWBIT_NO_BROWSER=1 says to skip it (reported as skipped).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.LOWBIT_CHROMIUM ?? '/usr/bin/chromium';
const skip = process.env.LOWBIT_NO_BROWSER === '1' ? 'LOWBIT_NO_BROWSER=1' : false;

interface Ids {
  readonly gpu: number[];
  readonly cpu: number[];
}

interface PageResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly description?: string;
  readonly subgroupSize?: number;
  readonly rows?: readonly { format: string; maxAbs: number; maxLogit: number; greedy: Ids; sampled: Ids }[];
}

// the TypeScript source of the page: this file runs from dist/test, the source lives in test/
const root = fileURLToPath(new URL('../../', import.meta.url));

test('browser: WebGPU (headless Chromium) runs packed int4 and SpQR models equal to the CPU reference', { skip, timeout: 600_000 }, async (t) => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (or LOWBIT_NO_BROWSER=1 to skip)`);
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-browser-'));
  let server: Server | undefined;
  try {
    await build({ entryPoints: [join(root, 'test/browser/page.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: join(dir, 'page.js'), logLevel: 'warning' });
    const files: Record<string, [string, string]> = {
      '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>lowbit</title><script type="module" src="/page.js"></script>'],
      '/page.js': ['text/javascript', readFileSync(join(dir, 'page.js'), 'utf8')],
    };
    server = createServer((req, res) => {
      const f = files[req.url ?? ''];
      res.writeHead(f ? 200 : 404, { 'content-type': f ? f[0] : 'text/plain' }).end(f ? f[1] : 'not found');
    });
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    // browser-webgpu.md recipe A: core WebGPU on SwiftShader; only --enable-unsafe-webgpu matters
    const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: false,
      args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-webgpu-developer-features', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => (window as { lowbitResult?: unknown }).lowbitResult !== undefined, undefined, { timeout: 540_000, polling: 500 });
      const r = (await page.evaluate(() => (window as { lowbitResult?: unknown }).lowbitResult)) as PageResult;
      assert.deepEqual(errors, [], 'page errors');
      assert.ok(r.ok, `page: ${r.error}`);
      t.diagnostic(`${r.description}, subgroup size ${r.subgroupSize}`);
      assert.deepEqual(r.rows?.map((x) => x.format), ['int4', 'spqr']);
      for (const x of r.rows ?? []) {
        t.diagnostic(`${x.format}: max |Δ logits| ${x.maxAbs.toExponential(2)} (max |logit| ${x.maxLogit.toFixed(3)})`);
        assert.ok(x.maxLogit > 0.01, `${x.format}: logits all but zero`);
        assert.ok(x.maxAbs <= 1e-3, `${x.format}: max |Δ| ${x.maxAbs}`);
        t.diagnostic(`${x.format}: greedy ${x.greedy.gpu.join(' ')}; sampled ${x.sampled.gpu.join(' ')}`);
        assert.equal(x.greedy.gpu.length, 8);
        assert.deepEqual(x.greedy.gpu, x.greedy.cpu, `${x.format}: greedy ids`);
        assert.deepEqual(x.sampled.gpu, x.sampled.cpu, `${x.format}: sampled ids`);
        assert.notDeepEqual(x.sampled.gpu, x.greedy.gpu, `${x.format}: sampling drew only the argmax`);
      }
    } finally {
      await ctx.close();
    }
  } finally {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
