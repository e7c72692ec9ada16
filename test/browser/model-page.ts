/**
 * The browser test's second page (bundled by test/browser.test.ts): the library's browser entry
 * (`loadLowbit`) fetches a .lowbit file and a text from the test server, loads the model onto
 * WebGPU from `navigator.gpu` and onto the CPU backend (WASM SIMD in the page), packed weights,
 * generates greedily and measures perplexity on each, and reports through `window.lowbitResult`
 * for the test to compare with the Node CLI.
 */
import { loadLowbit } from '../../src/browser.js';

const PROMPT = 'The history of the';

/** Loads the model on `backend`, generates greedily and measures perplexity. */
async function run(model: Blob, text: string, backend: 'webgpu' | 'cpu'): Promise<Record<string, unknown>> {
  let uploaded = 0;
  const m = await loadLowbit(model, { backend, maxPositions: 256, onProgress: (done) => (uploaded = done) });
  try {
    const ids: number[] = [];
    let streamed = '';
    for await (const t of m.generate(PROMPT, { maxTokens: 12 })) {
      ids.push(t.id);
      streamed += t.text;
    }
    const { ppl } = await m.perplexity(text, { seqlen: 128, windows: 2 });
    return { ids, streamed, ppl, packed: m.weightStats.packed, uploaded, description: m.backend.description };
  } finally {
    m.dispose();
  }
}

async function main(): Promise<unknown> {
  const [model, text] = await Promise.all([fetch('/model.lowbit').then((r) => r.blob()), fetch('/text.txt').then((r) => r.text())]);
  return { ok: true, webgpu: await run(model, text, 'webgpu'), cpu: await run(model, text, 'cpu') };
}

main().then(
  (r) => ((window as { lowbitResult?: unknown }).lowbitResult = r),
  (e: unknown) => ((window as { lowbitResult?: unknown }).lowbitResult = { ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) }),
);
