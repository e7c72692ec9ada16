/**
 * The text generation hands out: the CLI's stream, its --json text and the library's tokens all
 * give the continuation as it reads after the prompt (SentencePiece's leading space kept), held
 * back while a character is incomplete; and the library's options are checked like the CLI's flags.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as lowbit from '../src/index.js';
import { loadTokenizer } from '../src/io/tokenizer.js';
import { TextStream } from '../src/runtime/text-stream.js';
import { MODELS, runCli, runCliJson } from './helpers.js';

const M = `${MODELS}/lowbit-ref-15m`;
const PROMPT = 'Once upon a time,';

test('generate: --json text, the streamed stdout and the library agree, and keep the space before the first word', async () => {
  const args = ['generate', M, '--prompt', PROMPT, '--max-tokens', '6', '--backend', 'cpu'];
  const j = await runCliJson<{ ids: number[]; text: string }>([...args, '--json']);
  const streamed = await runCli(args);
  assert.equal(streamed.code, 0, streamed.stderr);
  assert.equal(j.ids.length, 6);
  // the first id is a word piece ("▁…"): after the prompt it starts with a space
  assert.match(j.text, /^ \S/, `json text ${JSON.stringify(j.text)}`);
  assert.equal(streamed.stdout, `${PROMPT}${j.text}\n`);
  const m = await lowbit.load(M, { backend: 'cpu', maxPositions: 64 });
  try {
    const pieces: string[] = [];
    const ids: number[] = [];
    for await (const t of m.generate(PROMPT, { maxTokens: 6 })) {
      ids.push(t.id);
      pieces.push(t.text);
    }
    assert.deepEqual(ids, j.ids);
    assert.equal(pieces.join(''), j.text);
  } finally {
    m.dispose();
  }
});

test('generate --max-tokens 0 --json: no ids, empty text', async () => {
  const j = await runCliJson<{ ids: number[]; text: string }>(['generate', M, '--prompt', PROMPT, '--max-tokens', '0', '--backend', 'cpu', '--json']);
  assert.deepEqual(j.ids, []);
  assert.equal(j.text, '');
});

test('TextStream holds back a character split over byte-fallback tokens, and end() gives what is left', async () => {
  const tok = await loadTokenizer(M);
  const prompt = tok.encode('Price:');
  // "€" = E2 82 AC: the Llama-2 vocabulary's byte tokens <0xE2> <0x82> <0xAC>
  const bytes = [0xe2, 0x82, 0xac].map((b) => 3 + b); // <0x00> is id 3
  assert.equal(tok.decode([...prompt, ...bytes]), 'Price:€');
  const s = new TextStream(tok, prompt);
  assert.equal(s.prompt, 'Price:');
  assert.deepEqual(bytes.map((id) => s.push(id)), ['', '', '€']);
  assert.equal(s.end(), '');
  const cut = new TextStream(tok, prompt);
  assert.deepEqual(bytes.slice(0, 2).map((id) => cut.push(id)), ['', '']);
  assert.equal(cut.end(), '\uFFFD');
  assert.equal(cut.text, '\uFFFD');
});

test('library: bad load, generate and perplexity options are InputErrors naming the option', async () => {
  const bad: [Parameters<typeof lowbit.load>[1], RegExp][] = [
    [{ backend: 'tpu' as never }, /^backend: "tpu" is not one of auto, cpu, webgpu$/],
    [{ backend: 'cpu', weights: 'bogus' as never }, /^weights: "bogus" is not one of packed, dequant$/],
    [{ backend: 'cpu', kvCache: 'f8' as never }, /^kvCache: "f8" is not one of f32, f16$/],
    [{ backend: 'cpu', maxPositions: 0 }, /^maxPositions: expects an integer ≥ 1, got 0$/],
    [{ backend: 'cpu', maxPositions: 3000 }, /^maxPositions: 3000 positions exceed the model's max_position_embeddings 1024$/],
  ];
  for (const [o, want] of bad) {
    await assert.rejects(lowbit.load(M, o), (e: Error) => e.name === 'InputError' && want.test(e.message), JSON.stringify(o));
  }
  const m = await lowbit.load(M, { backend: 'cpu', maxPositions: 16 });
  try {
    const run = async (g: Parameters<typeof m.generate>[1]): Promise<number> => {
      const ids: number[] = [];
      for await (const t of m.generate('Hi', g)) ids.push(t.id);
      return ids.length;
    };
    assert.equal(await run({}), 14, 'the default takes as many tokens as fit (16 positions, 2 in the prompt)');
    for (const [g, want] of [
      [{ maxTokens: 15 }, /^maxTokens: the prompt's 2 tokens and 15 new ones exceed maxPositions 16/],
      [{ maxTokens: -1 }, /^maxTokens: expects an integer ≥ 0, got -1$/],
      [{ maxTokens: 2, seed: 2 ** 32 }, /^seed: expects an integer from 0 to 4294967295/],
      [{ maxTokens: 2, topP: 2 }, /^topP: expects a number in \(0, 1\], got 2$/],
      [{ maxTokens: 2, temperature: -1 }, /^temperature: expects a number ≥ 0, got -1$/],
      [{ maxTokens: 2, topK: 1.5 }, /^topK: expects an integer ≥ 0, got 1.5$/],
    ] as const) {
      await assert.rejects(run(g), (e: Error) => e.name === 'InputError' && want.test(e.message), JSON.stringify(g));
    }
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(8);
    assert.ok(Number.isFinite((await m.perplexity(text, { seqlen: 16, windows: 1 })).ppl));
    for (const [p, t, want] of [
      [{ seqlen: 32 }, text, /^seqlen: 32 exceeds maxPositions 16/],
      [{ seqlen: 1 }, text, /^seqlen: expects an integer ≥ 2, got 1$/],
      [{ seqlen: 8.5 }, text, /^seqlen: expects an integer ≥ 2, got 8.5$/],
      [{ seqlen: 16, windows: 0 }, text, /^windows: expects an integer ≥ 1, got 0$/],
      [{ seqlen: 16 }, 'Hi', /^text: has \d+ tokens, fewer than one window of seqlen 16$/],
    ] as const) {
      await assert.rejects(m.perplexity(t, p), (e: Error) => e.name === 'InputError' && want.test(e.message), JSON.stringify(p));
    }
  } finally {
    m.dispose();
  }
  // after dispose: a second dispose does nothing; generate and perplexity say the handle is gone
  m.dispose();
  await assert.rejects(m.generate('Hi', { maxTokens: 1 }).next(), /this model was disposed; load it again/);
  await assert.rejects(m.perplexity('The quick brown fox. '.repeat(8), { seqlen: 16 }), /this model was disposed/);
});
