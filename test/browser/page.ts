/**
 * The browser smoke test's page script (bundled for the browser by test/browser.test.ts): the
 * WebGPU backend from `navigator.gpu` runs tiny random int4 and SpQR models — a 6-token prefill
 * and 3 recorded-and-replayed decode steps, then 8 tokens generated on the device (greedy:
 * argmax, and sampled: top-k 40, top-p 0.95, seeded draws) — and the same models on the CPU
 * reference backend give the logits and ids to compare; `int4-flash` runs the int4 model with
 * flash-decoding attention from 4 keys a split in an 80-row cache (splits merged through atomics
 * in the dispatch), and `int4-flash-f16kv` the same with the KV cache in f16 (both backends round
 * each stored key and value to f16). Reports through `window.lowbitResult`.
 */
import { CpuBackend } from '../../src/backend/cpu/cpu.js';
import type { Backend } from '../../src/backend/backend.js';
import { WebGpuBackend } from '../../src/backend/webgpu/webgpu.js';
import { attentionPath } from '../../src/backend/webgpu/kernels/attention.js';
import { createKvCache, createModel, createRunState, enqueueForward, forward, freeKvCache, freeRunState, setPosition, type KvCache, type LlamaModel, type RunState } from '../../src/model/llama.js';
import { freeWeights } from '../../src/model/weights.js';
import { decodeOnDevice, drain } from '../../src/runtime/decode.js';
import { RANDOM_FORMATS, randomConfig, uploadRandomModel } from '../../src/runtime/random-model.js';
import { Sampler } from '../../src/runtime/sampler.js';
import { tensor } from '../../src/tensor/tensor.js';

interface Row {
  readonly format: string;
  readonly maxAbs: number;
  readonly maxLogit: number;
  readonly greedy: { readonly gpu: number[]; readonly cpu: number[] };
  readonly sampled: { readonly gpu: number[]; readonly cpu: number[] };
}

const config = randomConfig('llama3-8b', { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 384, vocab: 300 });
const PROMPT = [5, 77, 123, 9, 250, 31];
const STEPS = 3;
const GEN = 8;

const FILTER = { temperature: 0.8, topK: 40, topP: 0.95 };

/** `fn` on the random `format` model uploaded to `b`, with a KV cache, a run state of `prefill` rows and a T = 1 one; all freed after. */
async function withModel<T>(b: Backend, format: string, prefill: number, fn: (m: LlamaModel, kv: KvCache, pre: RunState, dec: RunState) => Promise<T>): Promise<T> {
  const weights = await uploadRandomModel(config, RANDOM_FORMATS[format.replace(/-flash.*$/, '')]!, b, 'packed', 3);
  const rows = format.includes('-flash') ? 80 : PROMPT.length + Math.max(STEPS, GEN);
  const m = createModel(config, b, weights, rows, format.endsWith('-f16kv') ? 'f16' : 'f32');
  const kv = createKvCache(m, rows);
  const pre = createRunState(m, prefill, false);
  const dec = createRunState(m, 1, false);
  try {
    return await fn(m, kv, pre, dec);
  } finally {
    freeRunState(b, pre);
    freeRunState(b, dec);
    freeKvCache(b, kv);
    freeWeights(b, weights);
  }
}

/** Prefill PROMPT, then STEPS decode steps (recorded once and replayed on `record` backends); every step's logits. */
function run(b: Backend, format: string, record: boolean): Promise<Float32Array[]> {
  return withModel(b, format, PROMPT.length, async (m, kv, pre, dec) => {
    b.write(pre.ids, tensor('i32', [PROMPT.length], Int32Array.from(PROMPT)));
    forward(m, pre, kv, 0);
    const out = [(await b.read(pre.logits)).data as Float32Array];
    for (let i = 0; i < STEPS; i++) {
      b.write(dec.ids, tensor('i32', [1], Int32Array.of((i * 41 + 7) % config.vocabSize)));
      setPosition(m, dec, kv, PROMPT.length + i);
      if (record) b.replay(b.record(() => enqueueForward(m, dec, kv)));
      else enqueueForward(m, dec, kv);
      out.push((await b.read(dec.logits)).data as Float32Array);
    }
    return out;
  });
}

/** GEN tokens after PROMPT generated on the device, greedy or sampled with seeded draws. */
function generate(b: Backend, format: string, sample: boolean): Promise<number[]> {
  return withModel(b, format, PROMPT.length - 1, async (m, kv, pre, dec) => {
    const sampler = new Sampler({ ...FILTER, seed: 5 });
    const uniforms = b.upload(tensor('f32', [kv.rows + 1], Float32Array.from({ length: kv.rows + 1 }, () => sampler.uniform())));
    try {
      b.write(pre.ids, tensor('i32', [PROMPT.length - 1], Int32Array.from(PROMPT.slice(0, -1))));
      forward(m, pre, kv, 0);
      b.write(dec.ids, tensor('i32', [1], Int32Array.of(PROMPT[PROMPT.length - 1] as number)));
      const o = sample ? { sample: { ...FILTER, uniforms } } : {};
      return await drain(decodeOnDevice(m, dec, kv, PROMPT.length - 1, GEN, { ...o, chunk: 3 }));
    } finally {
      b.free(uniforms);
    }
  });
}

async function main(): Promise<unknown> {
  if (!navigator.gpu) throw new Error('navigator.gpu is missing');
  const gpu = await WebGpuBackend.create(navigator.gpu);
  const flash = await WebGpuBackend.create(navigator.gpu, { attention: { onePassMaxKeys: 0, flashKeys: 4 } });
  const rows: Row[] = [];
  try {
    for (const format of ['int4', 'spqr', 'int4-flash', 'int4-flash-f16kv']) {
      const on = format.includes('-flash') ? flash : gpu;
      const got = await run(on, format, true);
      const want = await run(new CpuBackend(), format, false);
      let maxAbs = 0;
      let maxLogit = 0;
      want.forEach((w, s) => {
        for (let i = 0; i < w.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs((got[s]![i] as number) - (w[i] as number)));
          maxLogit = Math.max(maxLogit, Math.abs(w[i] as number));
        }
      });
      const cpu = new CpuBackend();
      const greedy = { gpu: await generate(on, format, false), cpu: await generate(cpu, format, false) };
      const sampled = { gpu: await generate(on, format, true), cpu: await generate(cpu, format, true) };
      rows.push({ format, maxAbs, maxLogit, greedy, sampled });
    }
    // the decode steps' attention on `flash` (T = 1 over the 80-row cache with a device position)
    const flashPath = attentionPath(1, 80, config.headDim, flash.attentionTuning);
    return { ok: true, description: gpu.description, subgroupSize: gpu.subgroupSize, f16Subnormals: gpu.f16Subnormals, flashPath, rows };
  } finally {
    gpu.dispose();
    flash.dispose();
  }
}

declare global {
  interface Window {
    lowbitResult?: unknown;
  }
}
main().then(
  (r) => (window.lowbitResult = r),
  (e: unknown) => (window.lowbitResult = { ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) }),
);
