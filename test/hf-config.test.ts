import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { InputError } from '../src/io/errors.js';
import { parseHfConfig } from '../src/io/hf-config.js';
import { parameterCount } from '../src/model/config.js';
import { ropeInvFreq } from '../src/model/rope.js';

const MODELS = '../shared/data/models';
const readConfig = (name: string): Record<string, unknown> => JSON.parse(readFileSync(`${MODELS}/${name}/config.json`, 'utf8')) as Record<string, unknown>;

test('the shared models parse, and their parameter counts equal REFERENCE.json', () => {
  const ref = JSON.parse(readFileSync(`${MODELS}/REFERENCE.json`, 'utf8')) as Record<string, { params: number }>;
  for (const name of ['lowbit-ref-15m', 'lowbit-ref-30m']) {
    const c = parseHfConfig(readConfig(name), name);
    assert.equal(c.architecture, 'LlamaForCausalLM');
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(parameterCount(c), ref[name]?.params);
  }
  const demo = parseHfConfig(readConfig('lowbit-demo'), 'demo');
  assert.deepEqual([demo.nLayers, demo.hiddenSize, demo.nHeads, demo.nKvHeads, demo.headDim, demo.vocabSize], [6, 256, 4, 2, 64, 4096]);
  assert.equal(parameterCount(demo), 5770496);
  assert.equal(demo.ropeTheta, 10000);
  assert.deepEqual(demo.eosTokenIds, [2]);
});

test('rope_theta / rope_scaling (old style) and rope_parameters (transformers ≥ 5) give the same config', () => {
  const base = { architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };
  const llama3 = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  const old = parseHfConfig({ ...base, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', ...llama3 } }, 'old');
  const oldType = parseHfConfig({ ...base, rope_theta: 500000, rope_scaling: { type: 'llama3', ...llama3 } }, 'oldType');
  const neu = parseHfConfig({ ...base, rope_parameters: { rope_type: 'llama3', rope_theta: 500000, ...llama3 } }, 'new');
  assert.deepEqual(old, neu);
  assert.deepEqual(oldType, neu);
  assert.equal(neu.ropeScaling.type, 'llama3');
  assert.equal(neu.nKvHeads, 4); // defaults to num_attention_heads
  assert.equal(neu.headDim, 16);
  const lin = parseHfConfig({ ...base, rope_scaling: { type: 'linear', factor: 4 } }, 'lin');
  assert.deepEqual(lin.ropeScaling, { type: 'linear', factor: 4 });
});

test('llama3 RoPE frequencies follow HF: high frequencies kept, low divided by factor, the middle blended', () => {
  const s = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } as const;
  const d = 128;
  const plain = ropeInvFreq(d, 500000, { type: 'default' });
  const scaled = ropeInvFreq(d, 500000, s);
  for (let i = 0; i < d / 2; i++) {
    const f = plain[i] as number;
    const wavelen = (2 * Math.PI) / f;
    const got = scaled[i] as number;
    if (wavelen < 8192 / 4) assert.equal(got, f);
    else if (wavelen > 8192) assert.equal(got, Math.fround(f / 8));
    else {
      const smooth = (8192 / wavelen - 1) / (4 - 1);
      assert.ok(Math.abs(got - ((1 - smooth) * f) / 8 - smooth * f) <= 1e-7 * f);
      assert.ok(got < f && got > f / 8);
    }
  }
  // inv_freq[0] = 1 and inv_freq[1] = θ^(-2/d) exactly as f32
  assert.equal(plain[0], 1);
  assert.equal(plain[1], Math.fround(1 / Math.fround(500000 ** Math.fround(2 / d))));
});

test('malformed configs: one InputError naming the file and the field', () => {
  const ok = { architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };
  const cases: [Record<string, unknown> | unknown, RegExp][] = [
    [[1, 2], /config must be a JSON object/],
    [{ ...ok, architectures: ['GPT2LMHeadModel'] }, /unsupported architecture "GPT2LMHeadModel"/],
    [{ ...ok, architectures: undefined }, /missing field "architectures"/],
    [{ ...ok, hidden_size: undefined }, /missing field "hidden_size"/],
    [{ ...ok, hidden_size: -64 }, /"hidden_size" must be a positive integer, got -64/],
    [{ ...ok, num_hidden_layers: 2.5 }, /"num_hidden_layers" must be a positive integer/],
    [{ ...ok, num_key_value_heads: 3 }, /not a multiple of num_key_value_heads 3/],
    [{ ...ok, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ ...ok, rope_scaling: { type: 'yarn', factor: 4 } }, /RoPE type "yarn" is not supported/],
    [{ ...ok, rope_parameters: { rope_type: 'llama3', factor: 8 } }, /missing field "rope_parameters.low_freq_factor"/],
    [{ ...ok, tie_word_embeddings: 'yes' }, /"tie_word_embeddings" must be true or false/],
    [{ ...ok, rms_norm_eps: 0 }, /"rms_norm_eps" must be a positive number/],
  ];
  for (const [cfg, msg] of cases) {
    assert.throws(
      () => parseHfConfig(cfg, '/m/config.json'),
      (e: unknown) => e instanceof InputError && e.file === '/m/config.json' && e.message.startsWith('/m/config.json: ') && msg.test(e.message),
      `expected ${msg}`,
    );
  }
});
