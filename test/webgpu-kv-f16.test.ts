/**
 * The f16 KV cache (KvCacheDType 'f16') on WebGPU against the CPU reference: stores round each
 * key and value to the nearest f16 exactly as the host's f32ToF16 (ties to even, subnormals,
 * overflow, NaN), attention reads the widened halves on every path (prefill, short T, one-pass,
 * flash, split-K; hd % 4 != 0), the folded RoPE + append + attention dispatch, and a whole decode
 * step of a packed model. Tolerances per CONVENTIONS §3, with the one rule f16 storage adds: a
 * key computed in f32 (within the f32 rule of the CPU's) may round to the neighbouring f16, so
 * stored keys agree within one f16 unit in the last place; values (copied) agree bit for bit, and
 * attention over the same stored cache by the f32 reduction rule (nMSE ≤ 1e-10).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend, Tensor } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { createKvCache, createModel, createRunState, forward, freeKvCache, freeRunState } from '../src/model/llama.js';
import { freeWeights } from '../src/model/weights.js';
import { RANDOM_FORMATS, randomConfig, uploadRandomModel } from '../src/runtime/random-model.js';
import { f16ArrayToF32, f32ArrayToF16, f32ToF16 } from '../src/tensor/dtype.js';
import { tensor } from '../src/tensor/tensor.js';
import { assertClose, assertNmse, dispatchedFiles, rand, tryWebGpu } from './webgpu-helpers.js';

const { b: gpu, skip } = await tryWebGpu();
// flash-decoding from 16 keys a split above 32 keys, and split-K + combine above 32 keys
const { b: flashGpu } = await tryWebGpu({ attention: { onePassMaxKeys: 0, flashKeys: 16 } });
const { b: splitGpu } = await tryWebGpu({ attention: { onePassMaxKeys: 0, flashKeys: 0 } });

/** The largest distance in f16 units in the last place between two caches' patterns (same sign and class). */
function maxUlps(a: Uint16Array, b: Uint16Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i] as number, b[i] as number];
    if ((x & 0x8000) !== (y & 0x8000)) return Infinity;
    worst = Math.max(worst, Math.abs(x - y));
  }
  return worst;
}

describe('webgpu f16 KV cache vs the CPU reference', { skip }, () => {
  const b = gpu as WebGpuBackend;
  const fb = flashGpu as WebGpuBackend;
  const sb = splitGpu as WebGpuBackend;
  const cpu = new CpuBackend();
  after(() => {
    for (const x of [gpu, flashGpu, splitGpu]) x?.dispose();
  });
  const readU16 = async (on: Backend, t: Tensor): Promise<Uint16Array> => (await on.read(t)).data as Uint16Array;
  /** An f16 cache holding `bits` (empty + write: the CPU backend's upload widens 16-bit tensors to f32). */
  const f16 = (on: Backend, shape: number[], bits: Uint16Array): Tensor => {
    const t = on.empty('f16', shape);
    on.write(t, tensor('f16', shape, bits.slice()));
    return t;
  };

  test('ropeKv stores values rounded as f32ToF16 (ties, subnormals, overflow, NaN) and keys within one f16 ulp', async () => {
    const [T, nH, nKv, hd, P, S] = [3, 2, 2, 16, 5, 9];
    const [Cq, Ckv, half] = [nH * hd, nKv * hd, hd / 2];
    const W = Cq + 2 * Ckv;
    const x = rand(T * W, 17, -3, 3);
    // the value parts of the three rows: every rounding case of f32 → f16
    const special = [
      0, -0, 1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 65504, 65519.99609375, 65520, -70000, 2 ** -14, 2 ** -14 - 2 ** -25, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 3 * 2 ** -25,
      -(2 ** -25), 5 * 2 ** -25, 1e-30, -1e-45, NaN, Infinity, -Infinity, 3.14159, 2 ** -15 + 2 ** -26, 1000.5, 2049, 2051, 0.1, -0.1, 7e-5, 6.0975e-5,
    ];
    for (let i = 0; i < T * Ckv; i++) x[Math.floor(i / Ckv) * W + Cq + Ckv + (i % Ckv)] = special[i % special.length] as number;
    const maxPos = S;
    const cosH = rand(maxPos * half, 4, -1, 1);
    const sinH = rand(maxPos * half, 5, -1, 1);
    const k0 = f32ArrayToF16(rand(S * Ckv, 6, -2, 2));
    const v0 = f32ArrayToF16(rand(S * Ckv, 7, -2, 2));
    const run = async (on: Backend): Promise<{ q: Float32Array; k: Uint16Array; v: Uint16Array }> => {
      const [k, v] = [f16(on, [S, Ckv], k0), f16(on, [S, Ckv], v0)];
      const q = on.empty('f32', [T, Cq]);
      const up = (shape: number[], d: Float32Array): Tensor => on.upload(tensor('f32', shape, d));
      on.ropeKv(q, k, v, up([T, W], x), up([maxPos, half], cosH), up([maxPos, half], sinH), { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos: on.upload(tensor('i32', [1], Int32Array.of(P))) });
      return { q: (await on.read(q)).data as Float32Array, k: await readU16(on, k), v: await readU16(on, v) };
    };
    const want = await run(cpu);
    let pending: ReturnType<typeof run> | undefined;
    const ran = dispatchedFiles(b, () => (pending = run(b))); // run dispatches before its first await
    const got = await (pending as ReturnType<typeof run>);
    assert.deepEqual(ran, [['f16_bits', 'kv_f16', 'kv_store_f16', 'rope_kv']]);
    // the CPU reference: the values' patterns are f32ToF16 of the f32 inputs
    const row = (a: Uint16Array, r0: number, r1: number): Uint16Array => a.subarray(r0 * Ckv, r1 * Ckv);
    for (let i = 0; i < T * Ckv; i++) assert.equal(row(want.v, P, P + T)[i], f32ToF16(Math.fround(special[i % special.length] as number)), `CPU value ${i}`);
    assert.deepEqual(row(got.v, P, P + T), row(want.v, P, P + T), 'values: bit for bit');
    assert.ok(maxUlps(row(got.k, P, P + T), row(want.k, P, P + T)) <= 1, 'keys: within one f16 ulp');
    assertClose(got.q, want.q, 'q');
    assert.deepEqual([row(got.k, 0, P), row(got.k, P + T, S), row(got.v, 0, P), row(got.v, P + T, S)], [row(k0, 0, P), row(k0, P + T, S), row(v0, 0, P), row(v0, P + T, S)], 'other rows untouched');
  });

  test('attention over f16 caches: prefill, short T, one-pass, flash and split-K (GQA, hd 42/48/64) equal the CPU reference', async () => {
    // [T, nHeads, nKvHeads, headDim, P, S, the path on b, fb, sb]
    const cases: [number, number, number, number, number, number, string[]][] = [
      [1, 4, 2, 64, 40, 300, ['attention_flash', 'attention_flash', 'attention+attention_combine']],
      [1, 4, 1, 42, 99, 100, ['attention_decode', 'attention_flash', 'attention+attention_combine']],
      [3, 4, 2, 48, 17, 200, ['attention_decode', 'attention_flash', 'attention+attention_combine']],
      [1, 2, 2, 16, 3, 20, ['attention', 'attention', 'attention']],
      [20, 4, 2, 64, 5, 60, ['attention_prefill', 'attention_prefill', 'attention_prefill']],
      [20, 3, 1, 42, 0, 20, ['attention_prefill', 'attention_prefill', 'attention_prefill']],
    ];
    for (const [T, nH, nKv, hd, P, S, paths] of cases) {
      const [Cq, Ckv] = [nH * hd, nKv * hd];
      const qh = rand(T * Cq, T + hd, -2, 2);
      const kh = f32ArrayToF16(rand(S * Ckv, S, -2, 2));
      const vh = f32ArrayToF16(rand(S * Ckv, S + 1, -2, 2));
      const p = { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0 };
      const tag = `T=${T} heads ${nH}/${nKv}×${hd} P=${P} S=${S}`;
      const want = cpu.empty('f32', [T, Cq]);
      cpu.attention(want, cpu.upload(tensor('f32', [T, Cq], qh)), f16(cpu, [S, Ckv], kh), f16(cpu, [S, Ckv], vh), { ...p, pos: cpu.upload(tensor('i32', [1], Int32Array.of(P))) });
      const ref = (await cpu.read(want)).data as Float32Array;
      // the CPU op is attention over the widened caches
      assert.ok(ref.every(Number.isFinite), `${tag}: finite reference`);
      for (const [i, on] of [b, fb, sb].entries()) {
        const out = on.empty('f32', [T, Cq]);
        const [q, k, v] = [on.upload(tensor('f32', [T, Cq], qh)), f16(on, [S, Ckv], kh), f16(on, [S, Ckv], vh)];
        const ran = dispatchedFiles(on, () => on.attention(out, q, k, v, { ...p, pos: on.upload(tensor('i32', [1], Int32Array.of(P))) }));
        assert.ok(ran.every((f) => (f[0] === 'f16_bits' && f[1] === 'kv_f16') || f[0] === 'attention_combine'), `${tag}: ${ran.map((f) => f.join('+')).join(' | ')}`);
        assert.equal(ran.map((f) => f[f.length - 1]).join('+'), paths[i], `${tag}: path on backend ${i}`);
        assertNmse((await on.read(out)).data as Float32Array, ref, `${tag} on backend ${i}`);
      }
    }
  });

  test('ropeKvAttention with f16 caches (one-pass and flash, folded): row P within one f16 ulp, out equals attention over the stored caches', async () => {
    // [nHeads, nKvHeads, headDim, P, S]: b runs one-pass up to 256 rows (flash beyond), fb flash
    const cases: [number, number, number, number, number][] = [
      [4, 2, 64, 37, 100],
      [2, 2, 64, 300, 320], // MHA, beyond b's one-pass: flash on both
      [4, 2, 42, 63, 90], // hd % 4 != 0: scalar columns
    ];
    for (const [nH, nKv, hd, P, S] of cases) {
      const [Cq, Ckv, half] = [nH * hd, nKv * hd, hd / 2];
      const W = Cq + 2 * Ckv;
      const x = rand(W, hd + P, -2, 2);
      const maxPos = S + 1;
      const cosH = rand(maxPos * half, 4, -1, 1);
      const sinH = rand(maxPos * half, 5, -1, 1);
      const k0 = f32ArrayToF16(rand(S * Ckv, S, -2, 2));
      const v0 = f32ArrayToF16(rand(S * Ckv, S + 1, -2, 2));
      const p = { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0 };
      const call = (on: Backend): { out: Tensor; k: Tensor; v: Tensor; go: () => void } => {
        const [k, v] = [f16(on, [S, Ckv], k0), f16(on, [S, Ckv], v0)];
        const [out, q] = [on.empty('f32', [1, Cq]), on.empty('f32', [1, Cq])];
        const up = (shape: number[], d: Float32Array): Tensor => on.upload(tensor('f32', shape, d));
        const args = [up([1, W], x), up([maxPos, half], cosH), up([maxPos, half], sinH)] as const;
        const pos = on.upload(tensor('i32', [1], Int32Array.of(P)));
        return { out, k, v, go: () => on.ropeKvAttention(out, q, k, v, ...args, { ...p, pos }) };
      };
      const c = call(cpu);
      c.go();
      const [kWant, vWant] = [await readU16(cpu, c.k), await readU16(cpu, c.v)];
      for (const on of [b, fb]) {
        const tag = `heads ${nH}/${nKv}×${hd} P=${P} S=${S} on ${on === b ? 'the default backend' : 'flash from 16 keys'}`;
        const g = call(on);
        const ran = dispatchedFiles(on, g.go);
        assert.equal(ran.length, 1, `${tag}: one dispatch`);
        assert.deepEqual(ran[0]?.slice(0, 4), ['f16_bits', 'kv_f16', 'kv_store_f16', 'attention_decode_rope'], tag);
        const [kGot, vGot] = [await readU16(on, g.k), await readU16(on, g.v)];
        assert.deepEqual(vGot, vWant, `${tag}: value cache bit for bit`);
        assert.ok(maxUlps(kGot, kWant) <= 1, `${tag}: key cache within one f16 ulp`);
        // the reference over the caches the GPU stored (the new key is read as stored)
        const want = cpu.empty('f32', [1, Cq]);
        const q = cpu.empty('f32', [1, Cq]);
        const [ck, cv] = [f16(cpu, [S, Ckv], kGot), f16(cpu, [S, Ckv], vGot)];
        const up = (shape: number[], d: Float32Array): Tensor => cpu.upload(tensor('f32', shape, d));
        cpu.ropeKv(q, cpu.empty('f16', [S, Ckv]), cpu.empty('f16', [S, Ckv]), up([1, W], x), up([maxPos, half], cosH), up([maxPos, half], sinH), { ...p, pos0: P });
        cpu.attention(want, q, ck, cv, { ...p, pos0: P });
        assertNmse((await on.read(g.out)).data as Float32Array, (await cpu.read(want)).data as Float32Array, `${tag}: out`);
      }
    }
  });

  test('a packed int4 decode step with an f16 KV cache: logits equal the CPU forward (max |Δ| ≤ 1e-3), the cache half the bytes', async () => {
    const config = randomConfig('llama3-8b', { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 384, vocab: 300 });
    const POS = 6;
    const run = async (on: Backend): Promise<{ logits: Float32Array; k: Float32Array }> => {
      const weights = await uploadRandomModel(config, RANDOM_FORMATS.int4!, on, 'packed', 3);
      const m = createModel(config, on, weights, POS + 2, 'f16');
      const kv = createKvCache(m, POS + 2);
      const s = createRunState(m, 1, false);
      try {
        assert.ok(kv.k.every((t) => t.dtype === 'f16') && kv.v.every((t) => t.dtype === 'f16'));
        for (let p = 0; p <= POS; p++) {
          on.write(s.ids, tensor('i32', [1], Int32Array.of((p * 37 + 11) % config.vocabSize)));
          forward(m, s, kv, p);
        }
        return { logits: (await on.read(s.logits)).data as Float32Array, k: f16ArrayToF32((await on.read(kv.k[1] as Tensor)).data as Uint16Array) };
      } finally {
        freeRunState(on, s);
        freeKvCache(on, kv);
        freeWeights(on, weights);
      }
    };
    const [got, want] = [await run(b), await run(cpu)];
    let maxAbs = 0;
    for (let i = 0; i < want.logits.length; i++) maxAbs = Math.max(maxAbs, Math.abs((got.logits[i] as number) - (want.logits[i] as number)));
    console.log(`f16 KV decode step: max |Δ logits| ${maxAbs.toExponential(2)}`);
    assert.ok(maxAbs <= 1e-3, `max |Δ| ${maxAbs}`);
    assert.ok(want.k.some((x) => x !== 0), 'the cache holds keys');
  });
});
