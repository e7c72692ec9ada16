/**
 * End to end on WebGPU through the CLI: WikiText-2 perplexity (seqlen 512,
 * first 8 windows) equals the CPU backend's within 0.01 % (both computed here,
 * side by side), greedy generation reproduces HF's ids from REFERENCE.json, and
 * sampled generation (on the device) draws the CPU backend's tokens for a seed.
 * Skipped by name when no WebGPU adapter exists.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MODELS, reference, relErr, runCliJson, WIKITEXT } from './helpers.js';
import { tryWebGpu } from './webgpu-helpers.js';

interface EvalJson {
  ppl: number;
  tokens: number;
  windows: number;
  backend: string;
  seconds: number;
}

const { b: probe, skip } = await tryWebGpu();
probe?.dispose();

describe('webgpu end to end', { skip }, () => {
  for (const model of ['lowbit-ref-15m', 'lowbit-ref-30m'] as const) {
    test(`${model}: WikiText-2 ppl (seqlen 512, 8 windows) on webgpu equals cpu within 0.01 %`, async () => {
      const args = (backend: string): string[] => ['eval', `${MODELS}/${model}`, '--data', WIKITEXT, '--seqlen', '512', '--windows', '8', '--backend', backend];
      const [gpu, cpu] = await Promise.all([runCliJson<EvalJson>(args('webgpu')), runCliJson<EvalJson>(args('cpu'))]);
      assert.equal(gpu.backend, 'webgpu');
      assert.equal(cpu.backend, 'cpu');
      assert.equal(gpu.tokens, 8 * 511);
      console.log(`${model}: ppl webgpu ${gpu.ppl} (${gpu.seconds.toFixed(1)} s), cpu ${cpu.ppl} (${cpu.seconds.toFixed(1)} s), HF ${reference(model).wikitext2_ppl_seq512_first8}`);
      assert.ok(relErr(gpu.ppl, cpu.ppl) < 1e-4, `webgpu ${gpu.ppl} vs cpu ${cpu.ppl} (${(100 * relErr(gpu.ppl, cpu.ppl)).toFixed(5)} %)`);
    });

    test(`${model}: greedy generation on webgpu reproduces HF's ids`, async () => {
      const ref = reference(model);
      const gen = ref.greedy_ids.length - 5;
      const r = await runCliJson<{ prompt_ids: number[]; ids: number[]; backend: string }>([
        'generate', `${MODELS}/${model}`, '--prompt', ref.greedy_prompt, '--max-tokens', String(gen), '--backend', 'webgpu',
      ]);
      assert.equal(r.backend, 'webgpu');
      assert.deepEqual([...r.prompt_ids, ...r.ids], ref.greedy_ids);
    });
  }

  test('lowbit-ref-15m: sampled generation on webgpu (Backend.sample on the device) draws the cpu backend\'s tokens for a seed', async () => {
    const ref = reference('lowbit-ref-15m');
    const args = (backend: string, seed: number): string[] => [
      'generate', `${MODELS}/lowbit-ref-15m`, '--prompt', ref.greedy_prompt, '--max-tokens', '24', '--temperature', '0.8', '--top-k', '40', '--top-p', '0.95', '--seed', String(seed), '--backend', backend,
    ];
    type Gen = { prompt_ids: number[]; ids: number[]; backend: string };
    const [gpu, cpu, other] = await Promise.all([runCliJson<Gen>(args('webgpu', 7)), runCliJson<Gen>(args('cpu', 7)), runCliJson<Gen>(args('webgpu', 8))]);
    assert.equal(gpu.backend, 'webgpu');
    assert.equal(gpu.ids.length, 24);
    assert.deepEqual(gpu.ids, cpu.ids, 'seed 7: webgpu vs cpu');
    assert.notDeepEqual(gpu.ids, other.ids, 'seeds 7 and 8 draw different tokens');
    // HF's greedy continuation of the same prompt (as far as REFERENCE.json holds it)
    const greedy = ref.greedy_ids.slice(gpu.prompt_ids.length);
    assert.ok(greedy.length >= 8, `reference continuation of ${greedy.length} ids`);
    assert.notDeepEqual(gpu.ids.slice(0, greedy.length), greedy.slice(0, gpu.ids.length), 'sampled, not greedy');
  });
});
