/**
 * DeviceDecoder (runtime/decode.ts): the recorded decode step kept across runs. On a tiny random int4
 * model, on the CPU backend and on WebGPU: greedy ids equal a host loop (forward, read the logits,
 * argmax) token for token; a decoder's second and third runs (the recording replayed from their first
 * token, one of them after a run cut short by a stop id) yield the same ids as its first and as a
 * fresh decodeOnDevice; a sampled decoder's runs agree with each other; the recording's host time is
 * reported, and made once for all the runs; a run after dispose is an error.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import type { Backend } from '../src/backend/backend.js';
import { createKvCache, createModel, createRunState, forward, freeKvCache, freeRunState } from '../src/model/llama.js';
import { freeWeights } from '../src/model/weights.js';
import { decodeOnDevice, DeviceDecoder, drain } from '../src/runtime/decode.js';
import { RANDOM_FORMATS, randomConfig, uploadRandomModel } from '../src/runtime/random-model.js';
import { argmax } from '../src/runtime/sampler.js';
import { tensor } from '../src/tensor/tensor.js';
import { tryWebGpu } from './webgpu-helpers.js';

const { b: gpu, skip } = await tryWebGpu();
after(() => gpu?.dispose());

const config = randomConfig('llama3-8b', { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 200 });
const P = 6; // prompt positions 0 … P − 1 filled by forward; the token at P is START
const N = 12;
const START = 17;

async function check(b: Backend): Promise<void> {
  const weights = await uploadRandomModel(config, RANDOM_FORMATS.int4!, b, 'packed', 5);
  const m = createModel(config, b, weights, P + N + 1);
  const kv = createKvCache(m, P + N + 1);
  const s = createRunState(m, 1, false);
  const start = (): void => b.write(s.ids, tensor('i32', [1], Int32Array.of(START)));
  try {
    for (let p = 0; p < P; p++) {
      b.write(s.ids, tensor('i32', [1], Int32Array.of((p * 31 + 3) % config.vocabSize)));
      forward(m, s, kv, p);
    }
    // the host loop: forward at position q, read, argmax
    const host: number[] = [];
    let id = START;
    for (let q = P; q < P + N; q++) {
      b.write(s.ids, tensor('i32', [1], Int32Array.of(id)));
      forward(m, s, kv, q);
      id = argmax((await b.read(s.logits)).data as Float32Array);
      host.push(id);
    }
    start();
    const fresh = await drain(decodeOnDevice(m, s, kv, P, N));
    assert.deepEqual(fresh, host, 'decodeOnDevice vs the host loop');

    // count the recordings: the decoder's three runs must make one
    const record = b.record.bind(b);
    let recordings = 0;
    b.record = (fn) => {
      recordings++;
      return record(fn);
    };
    const d = new DeviceDecoder(m, s, kv);
    try {
      assert.equal(d.recordMs, null);
      start();
      assert.deepEqual(await drain(d.run(P, N, { chunk: 5 })), host, 'first run');
      assert.ok(d.recordMs !== null && d.recordMs > 0 && Number.isFinite(d.recordMs), `recordMs ${d.recordMs}`);
      const stop = host[3] as number;
      start();
      const cut = await drain(d.run(P, N, { chunk: 2, stopIds: [stop] }));
      assert.deepEqual(cut, host.slice(0, host.indexOf(stop) + 1), 'a run cut short by a stop id');
      start();
      assert.deepEqual(await drain(d.run(P, N, { chunk: 16 })), host, 'the recording replayed after a cut run');
      assert.equal(recordings, 1, 'three runs, one recording');
    } finally {
      d.dispose();
      b.record = record;
    }
    await assert.rejects(drain(d.run(P, N)), /run after dispose/);

    const u = new Float32Array(kv.rows + 1).map((_, i) => ((i * 0.6180339887) % 1) as number);
    const uniforms = b.upload(tensor('f32', [u.length], u));
    const ds = new DeviceDecoder(m, s, kv, { temperature: 0.9, topK: 20, topP: 0.9, uniforms });
    try {
      start();
      const a = await drain(ds.run(P, N));
      start();
      const c = await drain(ds.run(P, N, { chunk: 3 }));
      assert.equal(a.length, N);
      assert.deepEqual(c, a, 'sampled runs of one decoder');
      start();
      assert.deepEqual(await drain(decodeOnDevice(m, s, kv, P, N, { sample: { temperature: 0.9, topK: 20, topP: 0.9, uniforms } })), a, 'sampled, fresh');
    } finally {
      ds.dispose();
      b.free(uniforms);
    }
  } finally {
    freeRunState(b, s);
    freeKvCache(b, kv);
    freeWeights(b, weights);
  }
}

describe('DeviceDecoder: one recording, many runs', () => {
  test('CPU backend', async () => {
    await check(new CpuBackend());
  });
  test('WebGPU', { skip }, async () => {
    await check(gpu as Backend);
  });
});
