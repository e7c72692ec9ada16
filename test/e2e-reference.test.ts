/**
 * End to end against HF transformers' numbers (REFERENCE.json): perplexity of
 * the shared models within 0.1 %, and greedy token ids exactly, through the CLI.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DATA, demoReference, MODELS, reference, relErr, runCli, runCliJson, WIKITEXT } from './helpers.js';

interface EvalJson {
  ppl: number;
  nll: number;
  tokens: number;
  windows: number;
  seqlen: number;
  backend: string;
  seconds: number;
}

interface GenerateJson {
  prompt_ids: number[];
  ids: number[];
  text: string;
}

for (const model of ['lowbit-ref-15m', 'lowbit-ref-30m'] as const) {
  for (const seqlen of [512, 256] as const) {
    test(`${model}: WikiText-2 perplexity, seqlen ${seqlen}, first 8 windows, equals HF within 0.1 %`, async () => {
      const ref = reference(model);
      const want = seqlen === 512 ? ref.wikitext2_ppl_seq512_first8 : ref.wikitext2_ppl_seq256_first8;
      const r = await runCliJson<EvalJson>(['eval', `${MODELS}/${model}`, '--data', WIKITEXT, '--seqlen', String(seqlen), '--windows', '8', '--backend', 'cpu']);
      assert.equal(r.windows, 8);
      assert.equal(r.tokens, 8 * (seqlen - 1));
      assert.equal(r.backend, 'cpu');
      assert.ok(relErr(r.ppl, want) < 1e-3, `ppl ${r.ppl} vs HF ${want} (${(100 * relErr(r.ppl, want)).toFixed(4)} %)`);
    });
  }

  test(`${model}: greedy generation from "Once upon a time" reproduces HF's ids`, async () => {
    const ref = reference(model);
    const gen = ref.greedy_ids.length - 5;
    const r = await runCliJson<GenerateJson>(['generate', `${MODELS}/${model}`, '--prompt', ref.greedy_prompt, '--max-tokens', String(gen), '--backend', 'cpu']);
    assert.deepEqual([...r.prompt_ids, ...r.ids], ref.greedy_ids);
  });
}

test('lowbit-demo: valid.txt perplexity at seqlen 256, first 8 windows, and greedy ids equal its REFERENCE.json', async () => {
  const ref = demoReference();
  const r = await runCliJson<EvalJson>(['eval', `${MODELS}/lowbit-demo`, '--data', `${MODELS}/lowbit-demo/valid.txt`, '--seqlen', '256', '--windows', '8', '--backend', 'cpu']);
  assert.ok(relErr(r.ppl, ref.valid_ppl_seq256_first8) < 1e-3, `ppl ${r.ppl} vs HF ${ref.valid_ppl_seq256_first8}`);
  // the embedded copy (the default model) generates the reference continuation
  const g = await runCliJson<GenerateJson>(['generate', '--prompt', ref.greedy_prompt, '--max-tokens', String(ref.greedy_ids.length - 6), '--backend', 'cpu']);
  assert.deepEqual([...g.prompt_ids, ...g.ids], ref.greedy_ids);
});

test('lowbit-demo with --kv-cache f16: valid.txt perplexity still equals HF within 0.1 % (the model-level rule), greedy ids equal the reference', async () => {
  const ref = demoReference();
  const args = ['eval', `${MODELS}/lowbit-demo`, '--data', `${MODELS}/lowbit-demo/valid.txt`, '--seqlen', '256', '--windows', '8', '--backend', 'cpu'];
  const [f32, f16] = [await runCliJson<EvalJson & { kv_cache: string }>(args), await runCliJson<EvalJson & { kv_cache: string }>([...args, '--kv-cache', 'f16'])];
  assert.deepEqual([f32.kv_cache, f16.kv_cache], ['f32', 'f16']);
  assert.notEqual(f16.nll, f32.nll, 'the f16 cache rounds keys and values: the NLL moves');
  assert.ok(relErr(f16.ppl, ref.valid_ppl_seq256_first8) < 1e-3, `ppl ${f16.ppl} vs HF ${ref.valid_ppl_seq256_first8}`);
  const g = await runCliJson<GenerateJson>(['generate', '--prompt', ref.greedy_prompt, '--max-tokens', String(ref.greedy_ids.length - 6), '--backend', 'cpu', '--kv-cache', 'f16']);
  assert.deepEqual([...g.prompt_ids, ...g.ids], ref.greedy_ids);
});

test('the main command alone evaluates the embedded model on the held-out State of the Union text', async () => {
  const r = await runCliJson<EvalJson>(['eval', '--windows', '2', '--seqlen', '256']);
  assert.equal(r.windows, 2);
  // a real perplexity of the demo model on in-domain held-out speeches (its valid.txt gives 35–56)
  assert.ok(r.ppl > 10 && r.ppl < 200, `ppl ${r.ppl}`);
});

test('stories260K converted from llama2.c generates llama2.c\'s greedy 200 tokens from BOS', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-s260-'));
  try {
    const out = join(dir, 'model');
    const c = await runCli(['convert', 'llama2c', `${DATA}/stories260K/stories260K_v1.bin`, '--tokenizer', `${DATA}/stories260K/tok512.bin`, '--out', out]);
    assert.equal(c.code, 0, c.stderr);
    const g = await runCli(['generate', out, '--prompt', '', '--max-tokens', '200', '--backend', 'cpu']);
    assert.equal(g.code, 0, g.stderr);
    const expected = readFileSync(`${DATA}/stories260K/expected_greedy_200.txt`, 'utf8');
    assert.equal(g.stdout.trimEnd(), expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
