/**
 * The T = 1 decode step as the packed runtime records it, on tiny random int4 and SpQR models
 * (3 layers, GQA; the random models keep embedding and lm_head in bf16): its matmuls (4 a layer:
 * q|k|v with the norm folded in, o with the residual add, gate|up with SwiGLU out, down with the
 * residual add; then lm_head with the final norm), which of them write the next RMSNorm's
 * prepared input ("(norm out)": o, down) and which read it ("(prepared)": q|k|v after layer 0,
 * gate|up; the dense lm_head normalizes x itself), so the optimisation cannot silently fall off;
 * and the replayed step's logits against the CPU backend's forward on the same weights
 * (max |Δ| ≤ 1e-3, CONVENTIONS §3 model level).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import type { Backend } from '../src/backend/backend.js';
import type { GpuRecording } from '../src/backend/webgpu/context.js';
import { createKvCache, createModel, createRunState, enqueueForward, forward, freeKvCache, freeRunState, setPosition } from '../src/model/llama.js';
import { freeWeights } from '../src/model/weights.js';
import { RANDOM_FORMATS, randomConfig, uploadRandomModel } from '../src/runtime/random-model.js';
import { tensor } from '../src/tensor/tensor.js';
import { tryWebGpu } from './webgpu-helpers.js';

const { b: gpu, skip } = await tryWebGpu();
after(() => gpu?.dispose());

const config = randomConfig('llama3-8b', { dim: 256, layers: 3, heads: 4, kvHeads: 2, ffn: 384, vocab: 300 });
const L = config.nLayers;
const POS = 5;

/** Logits of one T = 1 step at position POS (after POS steps fill the cache), and, when `labels`, the step's dispatch labels. */
async function step(b: Backend, format: 'int4' | 'spqr', labels: boolean): Promise<{ logits: Float32Array; whats: string[] }> {
  const weights = await uploadRandomModel(config, RANDOM_FORMATS[format]!, b, 'packed', 7);
  const m = createModel(config, b, weights, POS + 2);
  const kv = createKvCache(m, POS + 2);
  const s = createRunState(m, 1, false);
  try {
    for (let p = 0; p < POS; p++) {
      b.write(s.ids, tensor('i32', [1], Int32Array.of((p * 37 + 11) % config.vocabSize)));
      forward(m, s, kv, p);
    }
    b.write(s.ids, tensor('i32', [1], Int32Array.of(123)));
    setPosition(m, s, kv, POS);
    let whats: string[] = [];
    if (labels) {
      const rec = b.record(() => enqueueForward(m, s, kv));
      whats = (rec as GpuRecording).dispatches.map((d) => d.what);
      b.replay(rec);
    } else {
      enqueueForward(m, s, kv);
    }
    return { logits: (await b.read(s.logits)).data as Float32Array, whats };
  } finally {
    freeRunState(b, s);
    freeKvCache(b, kv);
    freeWeights(b, weights);
  }
}

describe('the T = 1 decode step (packed)', { skip }, () => {
  for (const format of ['int4', 'spqr'] as const) {
    test(`${format}: residual adds prepare the next norm's input and the packed matmuls after them read it; logits equal the CPU forward`, async () => {
      const got = await step(gpu as Backend, format, true);
      const mm = got.whats.filter((x) => x.startsWith('matmul'));
      assert.equal(mm.length, 4 * L + 1, `dispatches: ${got.whats.join(' | ')}`);
      for (let l = 0; l < L; l++) {
        const [qkv, o, gu, down] = mm.slice(4 * l, 4 * l + 4) as [string, string, string, string];
        assert.match(qkv, /\(rmsnorm in\)/);
        assert.equal(/\(prepared\)/.test(qkv), l > 0, `layer ${l} q|k|v: ${qkv}`);
        assert.match(o, /\(\+=\) \(norm out\)$/, `layer ${l} o: ${o}`);
        assert.match(gu, /\(rmsnorm in\) \(swiglu out\) \(prepared\)$/, `layer ${l} gate|up: ${gu}`);
        assert.match(down, /\(\+=\) \(norm out\)$/, `layer ${l} down: ${down}`);
      }
      assert.match(mm[4 * L] as string, /bf16\[\d+, \d+\] \(rmsnorm in\)$/, 'lm_head');
      const want = await step(new CpuBackend(), format, false);
      let maxAbs = 0;
      for (let i = 0; i < want.logits.length; i++) maxAbs = Math.max(maxAbs, Math.abs((got.logits[i] as number) - (want.logits[i] as number)));
      const scale = Math.max(...want.logits.map(Math.abs));
      console.log(`${format}: max |Δ logits| ${maxAbs.toExponential(2)} (max |logit| ${scale.toFixed(3)})`);
      assert.ok(maxAbs <= 1e-3, `max |Δ| ${maxAbs}`);
    });
  }
});
