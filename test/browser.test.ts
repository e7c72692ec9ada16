/**
 * lowbit in a browser: headless Chromium (Debian's `chromium`, driven by playwright-core) loads
 * pages bundled for the browser by esbuild (a Node built-in in the backend, model, formats, the
 * .lowbit reader or the browser entry would break the build), on `navigator.gpu`: SwiftShader's
 * Vulkan here, a fallback adapter with subgroups of 4 and at most 256 threads a workgroup.
 *
 * 1. test/browser/page.ts: tiny random int4 and SpQR models, a prefill and recorded decode steps
 *    whose logits must equal the CPU reference backend's in the same page within max |Δ| 1e-3
 *    (CONVENTIONS §3, model level), and 8 tokens generated on the device, greedy and sampled
 *    (seeded draws), the same ids as the CPU's.
 * 2. test/browser/model-page.ts: `loadLowbit` (src/browser.ts) on lowbit-ref-15m quantized by the
 *    CLI (RTN int4 g64), fetched as a Blob, on WebGPU and on the CPU backend (WASM SIMD in the
 *    page): greedy tokens equal to `lowbit generate`'s in Node and perplexity to `lowbit eval`'s
 *    within 0.01 % (the packed-vs-dequant rule of packed-e2e).
 *
 * CI installs chromium (.ci/run); where it is missing these tests fail, unless LOWBIT_NO_BROWSER=1
 * says to skip them (reported as skipped).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { DATA, MODELS, relErr, runCli, runCliJson, WIKITEXT } from './helpers.js';

const CHROMIUM = process.env.LOWBIT_CHROMIUM ?? '/usr/bin/chromium';
const skip = process.env.LOWBIT_NO_BROWSER === '1' ? 'LOWBIT_NO_BROWSER=1' : false;

// the TypeScript sources of the pages: this file runs from dist/test, the sources live in test/
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Bundles `entry` for the browser, serves it with `files` on 127.0.0.1, and returns what the page leaves in window.lowbitResult. */
async function inBrowser<T>(dir: string, entry: string, files: Record<string, [string, string | Uint8Array]>): Promise<T> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (or LOWBIT_NO_BROWSER=1 to skip)`);
  const js = join(dir, `${entry}.js`);
  await build({ entryPoints: [join(root, `test/browser/${entry}.ts`)], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: js, logLevel: 'warning' });
  const served: Record<string, [string, string | Uint8Array]> = {
    ...files,
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>lowbit</title><script type="module" src="/page.js"></script>'],
    '/page.js': ['text/javascript', readFileSync(js, 'utf8')],
  };
  const server: Server = createServer((req, res) => {
    const f = served[req.url ?? ''];
    res.writeHead(f ? 200 : 404, { 'content-type': f ? f[0] : 'text/plain' }).end(f ? f[1] : 'not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    // browser-webgpu.md recipe A: core WebGPU on SwiftShader; only --enable-unsafe-webgpu matters
    const ctx = await chromium.launchPersistentContext(join(dir, `profile-${entry}`), {
      executablePath: CHROMIUM,
      headless: false,
      args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-webgpu-developer-features', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => (window as { lowbitResult?: unknown }).lowbitResult !== undefined, undefined, { timeout: 540_000, polling: 500 });
      const r = (await page.evaluate(() => (window as { lowbitResult?: unknown }).lowbitResult)) as { ok: boolean; error?: string } & T;
      assert.deepEqual(errors, [], 'page errors');
      assert.ok(r.ok, `page: ${r.error}`);
      return r;
    } finally {
      await ctx.close();
    }
  } finally {
    server.close();
  }
}

interface Ids {
  readonly gpu: number[];
  readonly cpu: number[];
}

describe('browser (headless Chromium, WebGPU on SwiftShader)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-browser-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the WebGPU backend runs packed int4 and SpQR models equal to the CPU reference (int4 with flash-decoding too, and with an f16 KV cache)', { timeout: 600_000 }, async (t) => {
    const r = await inBrowser<{ description: string; subgroupSize: number; flashPath: string; rows: { format: string; maxAbs: number; maxLogit: number; greedy: Ids; sampled: Ids }[] }>(dir, 'page', {});
    t.diagnostic(`${r.description}, subgroup size ${r.subgroupSize}`);
    assert.equal(r.flashPath, 'flash', 'int4-flash decodes through attention_flash');
    assert.deepEqual(
      r.rows.map((x) => x.format),
      ['int4', 'spqr', 'int4-flash', 'int4-flash-f16kv'],
    );
    for (const x of r.rows) {
      t.diagnostic(`${x.format}: max |Δ logits| ${x.maxAbs.toExponential(2)} (max |logit| ${x.maxLogit.toFixed(3)})`);
      assert.ok(x.maxLogit > 0.01, `${x.format}: logits all but zero`);
      assert.ok(x.maxAbs <= 1e-3, `${x.format}: max |Δ| ${x.maxAbs}`);
      t.diagnostic(`${x.format}: greedy ${x.greedy.gpu.join(' ')}; sampled ${x.sampled.gpu.join(' ')}`);
      assert.equal(x.greedy.gpu.length, 8);
      assert.deepEqual(x.greedy.gpu, x.greedy.cpu, `${x.format}: greedy ids`);
      assert.deepEqual(x.sampled.gpu, x.sampled.cpu, `${x.format}: sampled ids`);
      assert.notDeepEqual(x.sampled.gpu, x.greedy.gpu, `${x.format}: sampling drew only the argmax`);
    }
  });

  describe('loadLowbit (src/browser.ts) on a quantized lowbit-ref-15m', () => {
    const file = join(dir, 'rtn.lowbit');
    const text = join(dir, 'text.txt');
    before(async () => {
      writeFileSync(text, readFileSync(WIKITEXT, 'utf8').slice(0, 6000));
      const q = await runCli(['quantize', `${MODELS}/lowbit-ref-15m`, '--method', 'rtn', '--bits', '4', '--group-size', '64', '--calib', `${DATA}/corpus/train.txt`, '--calib-samples', '4', '--calib-seqlen', '128', '--backend', 'cpu', '--out', file]);
      if (q.code !== 0) throw new Error(`quantize: ${q.stderr}`);
    });

    test('fetched as a Blob, on WebGPU and the CPU backend: the same greedy tokens as `lowbit generate` and perplexity as `lowbit eval` (Node, CPU) within 0.01 %', { timeout: 600_000 }, async (t) => {
      const [gen, ev] = await Promise.all([
        runCliJson<{ ids: number[]; text: string }>(['generate', file, '--prompt', 'The history of the', '--max-tokens', '12', '--backend', 'cpu']),
        runCliJson<{ ppl: number }>(['eval', file, '--data', text, '--seqlen', '128', '--windows', '2', '--backend', 'cpu']),
      ]);
      type Run = { ids: number[]; streamed: string; ppl: number; packed: Record<string, number>; uploaded: number; description: string };
      const r = await inBrowser<{ webgpu: Run; cpu: Run }>(dir, 'model-page', {
        '/model.lowbit': ['application/octet-stream', readFileSync(file)],
        '/text.txt': ['text/plain; charset=utf-8', readFileSync(text, 'utf8')],
      });
      for (const [name, x] of Object.entries(r)) {
        if (name === 'ok') continue;
        const run = x as Run;
        t.diagnostic(`${name} (${run.description}): "${run.streamed}" ppl ${run.ppl} (node ${ev.ppl}); packed ${JSON.stringify(run.packed)}`);
        assert.deepEqual(run.packed, { int4: 56 }, `${name}: every projection of the 8 layers runs packed`);
        assert.ok(run.uploaded > 56, `${name}: progress reported ${run.uploaded} tensors`);
        assert.deepEqual(run.ids, gen.ids, `${name}: greedy ids`);
        assert.equal(run.streamed, gen.text, `${name}: streamed text`);
        assert.ok(relErr(run.ppl, ev.ppl) < 1e-4, `${name}: ppl ${run.ppl} vs node ${ev.ppl}`);
      }
      assert.match(r.webgpu.description, /^WebGPU/);
      assert.match(r.cpu.description, /^CPU/);
    });
  });
});
