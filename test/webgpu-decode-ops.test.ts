/**
 * The decode-step ops on WebGPU against the CPU reference (src/backend/cpu/ops.ts):
 * attention with a device position (prefill, short T, the one-pass decode kernel, flash-decoding
 * (splits merged in the dispatch) and split-K over caches of 1000+ rows with empty splits), ropeKv,
 * ropeKvAttention (RoPE and the cache append folded into the one-pass or flash kernel; their
 * reductions by subgroups and, on backends without, by the shared-memory tree), argmax. Tolerances per CONVENTIONS §3:
 * attention (a reduction) by normalized MSE ≤ 1e-10, ropeKv (elementwise f32) by
 * |Δ| ≤ 1e-6 + 1e-5·|ref|, copies and argmax exactly.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Tensor } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import * as ops from '../src/backend/cpu/ops.js';
import { attentionPath, attentionSplits, flashSplitKeys, ONE_PASS_MAXK } from '../src/backend/webgpu/kernels/attention.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { rng } from '../src/runtime/sampler.js';
import { tensor } from '../src/tensor/tensor.js';
import { assertClose, assertNmse, dispatchedFiles, rand, tryWebGpu } from './webgpu-helpers.js';
import { sampleWorkgroupFor, sampleWorkgroupSize } from '../src/backend/webgpu/kernels/decode.js';

const { b: gpu, skip } = await tryWebGpu();
// backends that run the one-pass decode attention up to the most keys it holds, and never (split-K + combine above 32 keys)
const { b: wideGpu } = await tryWebGpu({ attention: { onePassMaxKeys: ONE_PASS_MAXK } });
const { b: splitGpu } = await tryWebGpu({ attention: { onePassMaxKeys: 0, flashKeys: 0 } });
// flash-decoding above 32 keys, from 16 keys a split (so small caches split many times), with and without subgroups
const { b: flashGpu } = await tryWebGpu({ attention: { onePassMaxKeys: 0, flashKeys: 16 } });
const { b: flashNoSg } = await tryWebGpu({ attention: { onePassMaxKeys: 0, flashKeys: 16 }, subgroups: false });
// the one-pass kernel's block_reduce without subgroups (the shared-memory tree), one-pass to 2048 keys and by default
const { b: wideNoSg } = await tryWebGpu({ attention: { onePassMaxKeys: ONE_PASS_MAXK }, subgroups: false });
const { b: noSg } = await tryWebGpu({ subgroups: false });
const { b: sample64 } = await tryWebGpu({ sampleWorkgroup: 64 });

/**
 * A dispatch's kernel files joined by '+', attention_decode's block_reduce file and the KV cache's
 * accessor files left out after checking that they are the ones the backend's subgroups and the
 * f32 caches call for.
 */
function kernelName(on: WebGpuBackend, files: readonly string[]): string {
  if (files.includes('attention_decode') || files.includes('attention_flash')) {
    const want = on.subgroupSize > 0 ? 'attention_reduce_subgroup' : 'attention_reduce_shared';
    assert.ok(files.includes(want), `${files.join('+')}: want ${want} (subgroup size ${on.subgroupSize})`);
  }
  // the KV cache's accessors: f32 caches here (test/webgpu-kv-f16.test.ts checks the f16 ones)
  if (files.some((f) => (f.startsWith('attention') && f !== 'attention_combine') || f === 'rope_kv')) assert.equal(files[0], 'kv_f32', files.join('+'));
  return files.filter((f) => !f.startsWith('attention_reduce_') && !f.startsWith('kv_')).join('+');
}

/** Host slice of columns [c0, c1) of a [T, W] matrix. */
function cols(x: Float32Array, T: number, W: number, c0: number, c1: number): Float32Array {
  const out = new Float32Array(T * (c1 - c0));
  for (let t = 0; t < T; t++) out.set(x.subarray(t * W + c0, t * W + c1), t * (c1 - c0));
  return out;
}

describe('webgpu decode ops vs the CPU reference', { skip }, () => {
  const b = gpu as NonNullable<typeof gpu>;
  const wb = wideGpu as NonNullable<typeof wideGpu>;
  const sb = splitGpu as NonNullable<typeof splitGpu>;
  const fb = flashGpu as NonNullable<typeof flashGpu>;
  const fbNoSg = flashNoSg as NonNullable<typeof flashNoSg>;
  after(() => {
    for (const x of [gpu, wideGpu, splitGpu, flashGpu, flashNoSg, wideNoSg, noSg, sample64]) x?.dispose();
  });
  const f32 = (shape: number[], data: Float32Array, on = b): Tensor => on.upload(tensor('f32', shape, data));
  const i32 = (data: number[], on = b): Tensor => on.upload(tensor('i32', [data.length], Int32Array.from(data)));
  const readF32 = async (t: Tensor, on = b): Promise<Float32Array> => (await on.read(t)).data as Float32Array;
  /** The kernels and key splits of a call whose rows see at most n keys: equal plans sum in the same order. */
  const plan = (on: WebGpuBackend, T: number, n: number, hd: number, nH: number): string => {
    const path = attentionPath(T, n, hd, on.attentionTuning);
    if (path === 'flash') return `flash ${flashSplitKeys(T, nH, n, on.attentionTuning.flashKeys)}`;
    return path === 'split-K' ? `split-K ×${attentionSplits(T, n)}` : path;
  };
  /** Runs fn, returning the kernel files of the dispatches it recorded on `on`. */
  const kernelsOf = (on: WebGpuBackend, fn: () => void): string[] => dispatchedFiles(on, fn).map((f) => kernelName(on, f));

  test('attention with pos: prefill, short T, one-pass, flash and split-K over 1000+ rows (empty splits), GQA, hd 48/64/80', async () => {
    // [T, nHeads, nKvHeads, headDim, P, S]; the split counts are those of sb (wb runs one-pass up to 2048 keys, b up to its
    // default and flash beyond, fb flash from 16 keys a split)
    const cases: [number, number, number, number, number, number][] = [
      [1, 4, 2, 64, 0, 1100], // split-K by the cache: 35 splits, 34 empty (the combine reads only the first)
      [1, 2, 1, 16, 9000, 9100], // 285 splits, 282 seen by the query: the combine's weights in two passes of 256 (both backends)
      [1, 6, 2, 48, 5, 1100],
      [1, 4, 1, 80, 1099, 1100], // the last cache row: no empty split
      [3, 4, 2, 64, 700, 1030],
      [3, 3, 3, 48, 1027, 1030], // P + T = S
      [3, 4, 2, 80, 2, 300], // short T, one split either way
      [70, 4, 2, 64, 0, 1100], // prefill
      [70, 6, 2, 48, 930, 1000],
      [70, 5, 1, 80, 200, 1030],
    ];
    for (const on of [b, wb, sb, fb]) {
      for (const [T, nH, nKv, hd, P, S] of cases) {
        const [Cq, Ckv] = [nH * hd, nKv * hd];
        const qh = rand(T * Cq, T + hd, -2, 2);
        const kh = rand(S * Ckv, S, -2, 2);
        const vh = rand(S * Ckv, S + 1);
        const ref = new Float32Array(T * Cq);
        ops.attention(ref, qh, kh, vh, T, nH, nKv, hd, P);
        const [q, k, v] = [f32([T, Cq], qh, on), f32([S, Ckv], kh, on), f32([S, Ckv], vh, on)];
        const p = { nHeads: nH, nKvHeads: nKv, headDim: hd };
        const tag = `onePassMaxKeys ${on.attentionTuning.onePassMaxKeys} T=${T} heads ${nH}/${nKv}×${hd} P=${P} S=${S}`;
        const byPos0 = on.empty('f32', [T, Cq]);
        on.attention(byPos0, q, k, v, { ...p, pos0: P });
        const got0 = await readF32(byPos0, on);
        assertNmse(got0, ref, `${tag} pos0`);
        for (const where of [{ pos0: 0, pos: i32([P], on) }, { pos0: Math.min(P, 2), pos: i32([P - Math.min(P, 2)], on) }]) {
          const out = on.empty('f32', [T, Cq]);
          on.attention(out, q, k, v, { ...p, ...where });
          const got = await readF32(out, on);
          assertNmse(got, ref, `${tag} pos0 ${where.pos0} + pos`);
          // the same kernels over the same key splits compute the same sums: bit for bit; else both within the rule above
          if (plan(on, T, S, hd, nH) === plan(on, T, P + T, hd, nH)) assert.deepEqual(got, got0, `${tag}: pos vs pos0`);
        }
      }
    }
  });

  test('with pos the dispatches (kernel, uniforms, grid, buffers) do not depend on the position; results follow a write of pos', async () => {
    const [nH, nKv, hd, S, V] = [4, 2, 64, 1030, 1001];
    const [Cq, Ckv] = [nH * hd, nKv * hd];
    const kh = rand(S * Ckv, 7, -2, 2);
    const vh = rand(S * Ckv, 8);
    // wb: one-pass decode attention, sb: split-K + combine, b: flash (the default above 256 keys)
    for (const on of [wb, sb, b]) {
      const [k, v] = [f32([S, Ckv], kh, on), f32([S, Ckv], vh, on)];
      const cs = f32([S, hd / 2], rand(S * hd / 2, 9), on);
      const logits = f32([1, V], rand(V, 10), on);
      const tokens = on.empty('i32', [S + 1]);
      const pos = i32([0], on);
      // every dispatch recorded, as a printable record with buffer identities, and its kernel files
      const ids = new Map<GPUBuffer, number>();
      let log: string[] = [];
      let kernels: string[] = [];
      const dispatch = on.ctx.dispatch.bind(on.ctx);
      on.ctx.dispatch = (d) => {
        const bufs = Object.entries(d.buffers).map(([n, x]) => `${n}:${ids.get(x) ?? (ids.set(x, ids.size), ids.size - 1)}`);
        log.push(JSON.stringify([d.kernel, d.params, d.grid, bufs]));
        kernels.push(kernelName(on, d.kernel.files));
        dispatch(d);
      };
      try {
        for (const T of [1, 3, 20]) {
          const qh = rand(T * Cq, T, -2, 2);
          const q = f32([T, Cq], qh, on);
          const out = on.empty('f32', [T, Cq]);
          const [qkv, q2, k2, v2, next] = [on.empty('f32', [T, Cq + 2 * Ckv]), on.empty('f32', [T, Cq]), on.empty('f32', [S, Ckv]), on.empty('f32', [S, Ckv]), on.empty('i32', [1])];
          const attn = T > 8 ? ['attention_prefill'] : on === wb ? ['attention_decode_io+attention_rows+attention_decode'] : on === b ? ['attention_decode_io+attention_rows+attention_flash'] : ['attention', 'attention_combine'];
          const tag = `onePassMaxKeys ${on.attentionTuning.onePassMaxKeys} T=${T}`;
          let first: string[] | undefined;
          for (const P of [0, 255, 256, 511, 700, S - T]) {
            on.write(pos, tensor('i32', [1], Int32Array.from([P])));
            log = [];
            kernels = [];
            on.ropeKv(q2, k2, v2, qkv, cs, cs, { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos });
            on.attention(out, q, k, v, { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos });
            on.argmax(next, logits, { tokens, pos });
            assert.deepEqual(kernels, ['rope_kv', ...attn, 'row_slots+argmax'], `${tag}: ropeKv, attention, argmax`);
            if (first) assert.deepEqual(log, first, `${tag} P=${P}`);
            first ??= log;
            const ref = new Float32Array(T * Cq);
            ops.attention(ref, qh, kh, vh, T, nH, nKv, hd, P);
            assertNmse(await readF32(out, on), ref, `${tag} P=${P}`);
          }
        }
      } finally {
        on.ctx.dispatch = dispatch;
      }
    }
  });

  test('one-pass decode attention: T 1…8, GQA and MHA, hd 42…256, caches of 33…2048 keys at and before the end, n = 1; flash and split-K agree', async () => {
    // [T, nHeads, nKvHeads, headDim, P, S]: rows see P + 1 … P + T of the S keys
    const cases: [number, number, number, number, number, number][] = [
      [1, 4, 2, 128, 0, 2048], // n = 1 in the largest cache
      [1, 4, 4, 128, 192, 193], // the 7B measurement's shape (MHA, hd 128) at the cache's end
      [1, 8, 2, 64, 2047, 2048], // all 2048 keys (MAXK), GQA 4
      [2, 6, 2, 48, 31, 33], // the shortest cache that is not one split
      [3, 5, 1, 80, 500, 2000], // well before the end: 1497 rows beyond the last visible key
      [4, 4, 2, 256, 900, 1000], // hd 256: 64 vec4 columns, 4 key groups
      [5, 4, 2, 42, 60, 300], // hd % 4 != 0: scalar columns
      [6, 3, 1, 48, 253, 263], // n crosses the 256 threads within the rows
      [7, 4, 1, 128, 1, 1500], // n = 2 … 8
      [8, 2, 1, 64, 2040, 2048], // P + T = S
      [1, 4, 2, 32, 300, 310], // hd 32 and 16: 8 and 4 value columns, so 32 and 64 key groups share the value pass
      [3, 6, 3, 16, 40, 1000],
      [1, 2, 2, 32, 2047, 2048],
    ];
    for (const [T, nH, nKv, hd, P, S] of cases) {
      const [Cq, Ckv] = [nH * hd, nKv * hd];
      const tag = `T=${T} heads ${nH}/${nKv}×${hd} P=${P} S=${S}`;
      const qh = rand(T * Cq, T + hd, -2, 2);
      if (T === 2) qh.fill(0); // every score equal: the mean of the visible values
      const kh = rand(S * Ckv, S, -2, 2);
      const vh = rand(S * Ckv, S + 1);
      const ref = new Float32Array(T * Cq);
      ops.attention(ref, qh, kh, vh, T, nH, nKv, hd, P);
      const onePass = ['attention_decode_io+attention_rows+attention_decode'];
      const flash = ['attention_decode_io+attention_rows+attention_flash'];
      for (const [on, kernels] of [[wb, onePass], [wideNoSg as WebGpuBackend, onePass], [sb, ['attention', 'attention_combine']], [fb, flash], [fbNoSg, flash]] as const) {
        const [q, k, v] = [f32([T, Cq], qh, on), f32([S, Ckv], kh, on), f32([S, Ckv], vh, on)];
        const out = on.empty('f32', [T, Cq]);
        const pos = i32([P], on);
        const ran = kernelsOf(on, () => on.attention(out, q, k, v, { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos }));
        assert.deepEqual(ran, kernels, `${tag}: kernels with onePassMaxKeys ${on.attentionTuning.onePassMaxKeys}`);
        assertNmse(await readF32(out, on), ref, `${tag} ${kernels.join(' + ')}`);
      }
    }
  });

  test('flash: a value whose bits are the merge\'s empty mark (an all-ones NaN) gives NaN in its dim, not a hang; the records are clean for the next call', async () => {
    const [T, nH, nKv, hd, P, S] = [1, 2, 1, 64, 150, 200];
    const [Cq, Ckv] = [nH * hd, nKv * hd];
    const qh = rand(T * Cq, 3, -2, 2);
    const kh = rand(S * Ckv, 4, -2, 2);
    const vh = rand(S * Ckv, 5);
    const ref = new Float32Array(T * Cq);
    ops.attention(ref, qh, kh, vh, T, nH, nKv, hd, P);
    const vNaN = vh.slice();
    new Uint32Array(vNaN.buffer)[10 * Ckv + 5] = 0xffffffff; // key 10, dim 5
    for (const on of [fb, fbNoSg]) {
      const tag = `subgroups ${on.subgroupSize}`;
      const [q, k] = [f32([T, Cq], qh, on), f32([S, Ckv], kh, on)];
      const p = { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos: i32([P], on) };
      const out = on.empty('f32', [T, Cq]);
      const ran = kernelsOf(on, () => on.attention(out, q, k, f32([S, Ckv], vNaN, on), p));
      assert.deepEqual(ran, ['attention_decode_io+attention_rows+attention_flash'], tag);
      const got = await readF32(out, on);
      const nan = [...got.keys()].filter((i) => Number.isNaN(got[i] as number));
      assert.deepEqual(nan, [5, hd + 5], `${tag}: NaN in dim 5 of both heads only`);
      const keep = (x: Float32Array): Float32Array => x.filter((_, i) => i % hd !== 5);
      assertNmse(keep(got), keep(ref), `${tag}: the other dims`);
      const clean = on.empty('f32', [T, Cq]);
      on.attention(clean, q, k, f32([S, Ckv], vh, on), p);
      assertNmse(await readF32(clean, on), ref, `${tag}: the next call`);
    }
  });

  test('ropeKv vs the reference and vs rope + copyRows on the GPU; pos = pos0; GQA, hd 48/64/80, T 1/3/70', async () => {
    // [T, nHeads, nKvHeads, headDim, P, S]
    const cases: [number, number, number, number, number, number][] = [
      [1, 4, 2, 64, 0, 9],
      [1, 6, 2, 48, 1099, 1100],
      [3, 5, 1, 80, 17, 40],
      [70, 4, 2, 64, 30, 101],
      [70, 3, 3, 48, 0, 70],
    ];
    for (const [T, nH, nKv, hd, P, S] of cases) {
      const [Cq, Ckv, half] = [nH * hd, nKv * hd, hd / 2];
      const W = Cq + 2 * Ckv;
      const tag = `T=${T} heads ${nH}/${nKv}×${hd} P=${P}`;
      const x = rand(T * W, T + hd, -2, 2);
      const cache0 = rand(S * Ckv, S);
      const maxPos = S + 5;
      const cosH = rand(maxPos * half, 4);
      const sinH = rand(maxPos * half, 5);
      const [cos, sin] = [f32([maxPos, half], cosH), f32([maxPos, half], sinH)];
      // reference
      const qRef = new Float32Array(T * Cq);
      const kRef = cache0.slice();
      const vRef = cache0.slice();
      ops.ropeKv(qRef, kRef, vRef, x, cosH, sinH, T, Cq, Ckv, half, P, P);
      // the GPU composition: rope of the parts, row copies into the caches
      const qC = f32([T, Cq], cols(x, T, W, 0, Cq));
      const kPart = f32([T, Ckv], cols(x, T, W, Cq, Cq + Ckv));
      b.rope(qC, cos, sin, P, hd);
      b.rope(kPart, cos, sin, P, hd);
      const kC = f32([S, Ckv], cache0);
      const vC = f32([S, Ckv], cache0);
      b.copyRows(kC, P, kPart, 0, T);
      b.copyRows(vC, P, f32([T, Ckv], cols(x, T, W, Cq + Ckv, W)), 0, T);
      const comp = { q: await readF32(qC), k: await readF32(kC), v: await readF32(vC) };
      let first: { q: Float32Array; k: Float32Array; v: Float32Array } | undefined;
      for (const where of [{ pos0: P }, { pos0: 0, pos: i32([P]) }, { pos0: Math.min(P, 3), pos: i32([P - Math.min(P, 3)]) }]) {
        const q = b.empty('f32', [T, Cq]);
        const k = f32([S, Ckv], cache0);
        const v = f32([S, Ckv], cache0);
        b.ropeKv(q, k, v, f32([T, W], x), cos, sin, { nHeads: nH, nKvHeads: nKv, headDim: hd, ...where });
        const got = { q: await readF32(q), k: await readF32(k), v: await readF32(v) };
        const wtag = `${tag} pos0 ${where.pos0}${where.pos ? ' + pos' : ''}`;
        assertClose(got.q, qRef, `${wtag}: q vs reference`);
        assertClose(got.k, kRef, `${wtag}: kCache vs reference`);
        assert.deepEqual(got.v, vRef, `${wtag}: vCache vs reference`);
        assertClose(got.q, comp.q, `${wtag}: q vs rope`);
        assertClose(got.k, comp.k, `${wtag}: kCache vs rope + copyRows`);
        assert.deepEqual(got.v, comp.v, `${wtag}: vCache vs copyRows`);
        if (first) assert.deepEqual(got, first, `${wtag}: pos vs pos0`);
        first ??= got;
      }
    }
  });

  test('ropeKvAttention: one dispatch at T = 1 on the one-pass and flash paths (GQA, MHA, hd 42…256), ropeKv + attention otherwise; out and caches vs the reference', async () => {
    const cpu = new CpuBackend();
    const FUSED = ['attention_decode_rope+attention_rows+attention_decode'];
    const FLASH = ['attention_decode_rope+attention_rows+attention_flash'];
    // [T, nHeads, nKvHeads, headDim, P, S, kernels on the default backend (one-pass up to 256 keys, flash beyond)]
    const cases: [number, number, number, number, number, number, string[]][] = [
      [1, 4, 2, 64, 0, 9, ['rope_kv', 'attention']], // n = 1 ≤ 32 keys: the short path
      [1, 4, 4, 128, 192, 193, FUSED], // a 7B shape at the cache's end
      [1, 4, 4, 128, 540, 577, FLASH], // the same at lowbit bench's cache (512 + 64 + 1 rows)
      [1, 8, 2, 64, 700, 1024, FLASH], // GQA 4: one leader per KV head writes row P
      [1, 8, 2, 64, 63, 1024, FLASH], // row P the last key of a split
      [1, 6, 3, 48, 30, 40, FUSED],
      [1, 4, 2, 42, 300, 301, FLASH], // hd % 4 != 0: scalar columns
      [1, 2, 1, 256, 100, 900, FLASH], // hd 256, MQA
      [3, 4, 2, 64, 17, 40, ['rope_kv', 'attention_decode_io+attention_rows+attention_decode']], // T = 3: RoPE stays its own kernel
      [3, 4, 2, 64, 300, 400, ['rope_kv', 'attention_decode_io+attention_rows+attention_flash']],
      [1, 4, 2, 64, 1100, 1300, FLASH], // beyond the old onePassMaxKeys
      [1, 4, 2, 32, 150, 160, FUSED], // hd 32 / 16
      [1, 6, 6, 16, 500, 600, FLASH],
    ];
    for (const [T, nH, nKv, hd, P, S, kernels] of cases) {
      const [Cq, Ckv, half] = [nH * hd, nKv * hd, hd / 2];
      const W = Cq + 2 * Ckv;
      const tag = `T=${T} heads ${nH}/${nKv}×${hd} P=${P} S=${S}`;
      const x = rand(T * W, T + hd + P, -2, 2);
      const k0 = rand(S * Ckv, S, -2, 2);
      const v0 = rand(S * Ckv, S + 1);
      const maxPos = S + 3;
      const cosH = rand(maxPos * half, 4, -1, 1);
      const sinH = rand(maxPos * half, 5, -1, 1);
      // reference: ropeKv then attention on the host
      const qRef = new Float32Array(T * Cq);
      const [kRef, vRef] = [k0.slice(), v0.slice()];
      ops.ropeKv(qRef, kRef, vRef, x, cosH, sinH, T, Cq, Ckv, half, P, P);
      const ref = new Float32Array(T * Cq);
      ops.attention(ref, qRef, kRef, vRef, T, nH, nKv, hd, P);
      // on the default backend (subgroups where the device has them) and without subgroups
      for (const on of [b, noSg as WebGpuBackend]) {
        const [k, v] = [f32([S, Ckv], k0, on), f32([S, Ckv], v0, on)];
        const out = on.empty('f32', [T, Cq]);
        const q = on.empty('f32', [T, Cq]);
        const [qkv, cos, sin] = [f32([T, W], x, on), f32([maxPos, half], cosH, on), f32([maxPos, half], sinH, on)];
        const ran = kernelsOf(on, () => on.ropeKvAttention(out, q, k, v, qkv, cos, sin, { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos: i32([P], on) }));
        assert.deepEqual(ran, kernels, `${tag}: kernels`);
        assertNmse(await readF32(out, on), ref, `${tag}: out`);
        // the new rows as ropeKv writes them (elementwise), every other row untouched
        const [kGot, vGot] = [await readF32(k, on), await readF32(v, on)];
        const rows = (a: Float32Array, r0: number, r1: number): Float32Array => a.subarray(r0 * Ckv, r1 * Ckv);
        assertClose(rows(kGot, P, P + T), rows(kRef, P, P + T), `${tag}: kCache rows P…`);
        assert.deepEqual(rows(vGot, P, P + T), rows(vRef, P, P + T), `${tag}: vCache rows P…`);
        assert.deepEqual([rows(kGot, 0, P), rows(kGot, P + T, S)], [rows(k0, 0, P), rows(k0, P + T, S)], `${tag}: other kCache rows`);
        assert.deepEqual([rows(vGot, 0, P), rows(vGot, P + T, S)], [rows(v0, 0, P), rows(v0, P + T, S)], `${tag}: other vCache rows`);
      }
      // the CPU backend's op is the same composition: equal to the reference bit for bit
      const [ck, cv, cout] = [cpu.upload(tensor('f32', [S, Ckv], k0)), cpu.upload(tensor('f32', [S, Ckv], v0)), cpu.empty('f32', [T, Cq])];
      const cq = cpu.empty('f32', [T, Cq]);
      const cargs = [cpu.upload(tensor('f32', [T, W], x)), cpu.upload(tensor('f32', [maxPos, half], cosH)), cpu.upload(tensor('f32', [maxPos, half], sinH))] as const;
      cpu.ropeKvAttention(cout, cq, ck, cv, ...cargs, { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0: 0, pos: cpu.upload(tensor('i32', [1], Int32Array.of(P))) });
      assert.deepEqual((await cpu.read(cout)).data, ref, `${tag}: CPU backend out`);
      assert.deepEqual([(await cpu.read(ck)).data, (await cpu.read(cv)).data], [kRef, vRef], `${tag}: CPU backend caches`);
    }
  });

  test('argmax: first maximum on ties (across threads), −∞ rows, V from 1 to 256k, history', async () => {
    for (const [T, V] of [[1, 1], [3, 7], [5, 1001], [2, 32000], [2, 256000]] as const) {
      const x = rand(T * V, V, -8, 8);
      const row = (t: number): Float32Array => x.subarray(t * V, (t + 1) * V);
      if (T > 1) row(1).fill(2.5); // all equal: 0
      if (T > 2) {
        row(2).fill(-Infinity); // nothing above −∞: 0
        row(2)[V - 1] = -3e38;
      }
      if (T > 3) {
        // ties in different threads' slices and in one: the first wins
        for (const i of [1000, 300, 44, 556]) row(3)[i] = 9;
        row(4)[V - 1] = 9;
      }
      if (V >= 32000) {
        row(0)[V - 1] = 20;
        row(0)[31999] = 20;
        row(0)[V - 2] = 20;
        // ties inside one thread's step of 4 slots (thread 5 of wg reads slots 5, 5 + wg, 5 + 2wg,
        // 5 + 3wg at once) and inside one slot: lane 2 of slot 5 + wg wins
        const wg = sampleWorkgroupFor(V, b.sampleWG);
        const a = 4 * (5 + wg) + 2;
        for (const i of [4 * (5 + 2 * wg) + 1, a + 1, a]) row(0)[i] = 30;
        // NaN never wins, also first in a slot and beside the maximum
        for (const i of [0, a - 1, V - 3]) row(0)[i] = Number.NaN;
      }
      const ref = new Int32Array(T);
      ops.argmax(ref, x, V);
      const ids = b.empty('i32', [T]);
      const tokens = i32(Array.from({ length: T + 6 }, () => -1));
      b.argmax(ids, f32([T, V], x), { tokens, pos: i32([3]) });
      assert.deepEqual((await b.read(ids)).data, ref, `T=${T} V=${V}`);
      const hist = Int32Array.from({ length: T + 6 }, () => -1);
      hist.set(ref, 4);
      assert.deepEqual((await b.read(tokens)).data, hist, `T=${T} V=${V} history`);
      const ids2 = b.empty('i32', [T]);
      b.argmax(ids2, f32([T, V], x));
      assert.deepEqual((await b.read(ids2)).data, ref, `T=${T} V=${V} without history`);
      if (T === 1) continue;
      // advance: row by row at T = 1, each token one position further, pos ends T further
      const pos = i32([3]);
      const one = b.empty('i32', [1]);
      const fresh = i32(Array.from({ length: T + 6 }, () => -1));
      for (let t = 0; t < T; t++) b.argmax(one, f32([1, V], row(t).slice()), { tokens: fresh, pos, advance: true });
      assert.deepEqual((await b.read(fresh)).data, hist, `T=${T} V=${V} history by advancing steps`);
      assert.deepEqual((await b.read(pos)).data, Int32Array.of(3 + T), `T=${T} V=${V} advanced position`);
    }
  });

  test('sampleWorkgroupSize: the largest power of two the limits and workgroup memory allow', () => {
    const lim = (inv: number, x: number, mem: number) => ({ maxComputeInvocationsPerWorkgroup: inv, maxComputeWorkgroupSizeX: x, maxComputeWorkgroupStorageSize: mem });
    assert.equal(sampleWorkgroupSize(lim(1024, 1024, 49152), 1024), 1024);
    assert.equal(sampleWorkgroupSize(lim(1024, 1024, 16384), 1024), 256); // (16384 − 8384) / 16 = 500 vec4s
    assert.equal(sampleWorkgroupSize(lim(256, 1024, 49152), 1024), 256);
    assert.equal(sampleWorkgroupSize(lim(1024, 512, 49152), 1024), 512);
    assert.equal(sampleWorkgroupSize(lim(1024, 1024, 49152), 100), 64);
    assert.throws(() => sampleWorkgroupSize(lim(1024, 1024, 8192), 1024), /sample: no workgroup size fits/);
    assert.equal(b.sampleWG, sampleWorkgroupSize(b.ctx.device.limits, 1024));
    assert.equal(sample64?.sampleWG, 64);
  });

  test('sampleWorkgroupFor: the largest power of two with ≥ 32 logits a thread, 64 to the cap', () => {
    assert.equal(sampleWorkgroupFor(32000, 1024), 512);
    assert.equal(sampleWorkgroupFor(128256, 1024), 1024);
    assert.equal(sampleWorkgroupFor(40000, 1024), 1024);
    assert.equal(sampleWorkgroupFor(20000, 1024), 512);
    assert.equal(sampleWorkgroupFor(4096, 1024), 128);
    assert.equal(sampleWorkgroupFor(1001, 1024), 64);
    assert.equal(sampleWorkgroupFor(1, 1024), 64);
    assert.equal(sampleWorkgroupFor(128256, 256), 256);
    assert.equal(sampleWorkgroupFor(7, 32), 32);
    // the sample test below runs the default backend at each of 64, 512 and 1024 threads
    assert.equal(sampleWorkgroupFor(40000, b.sampleWG), 1024);
  });

  // the default backend reduces through subgroups where the device has a fixed size (lavapipe does), noSg through shared-memory trees
  for (const [sb, label] of [[b, 'default workgroup'], [sample64, 'workgroup of 64'], [noSg, 'without subgroups']] as const) {
  test(`sample (${label}): the reference token for each draw (up to f32 rounding at a boundary), ties, filters, V from 1 to 40000 (128256 by default), history`, async () => {
    assert.ok(sb);
    const b = sb;
    const f32 = (shape: number[], data: Float32Array): Tensor => b.upload(tensor('f32', shape, data));
    const i32 = (data: number[]): Tensor => b.upload(tensor('i32', [data.length], Int32Array.from(data)));
    // A device token that differs from ops.sampleRow's must be what the reference gives for a draw
    // or a nucleus mass within the f32 rounding rule (rtol 1e-5, CONVENTIONS §3): a kept token
    // between the reference's picks at u·(1 ∓ 1e-5) (the pick never moves back as u grows), or the
    // pick at topP·(1 ∓ 1e-5). At V = 128256 that band spans several tokens (40000 of mass, 0.3 a
    // token), so the device lands beside the reference in a few percent of draws (5 of 64 on one
    // integer row on lavapipe, each within 1.1e-6 of the mass): the share of such draws is bounded
    // for V ≤ 40000 only.
    const filters = [
      { temperature: 1, topK: 0, topP: 1 },
      { temperature: 0.8, topK: 40, topP: 0.95 },
      { temperature: 0.7, topK: 3, topP: 1 },
      { temperature: 1.3, topK: 0, topP: 0.6 },
      { temperature: 1, topK: 7, topP: 0.2 },
    ];
    const r = rng(11);
    let draws = 0;
    let boundary = 0;
    // default: workgroups of 64 (V ≤ 1001), 512 (20000) and 1024 (40000, and Llama-3's 128256: 32
    // slots a thread); sample64: 64 throughout
    for (const V of sb === sample64 ? [1, 7, 1001, 32000] : label === 'default workgroup' ? [1, 7, 1001, 20000, 40000, 128256] : [1, 7, 1001, 20000, 40000]) {
      const rows: Float32Array[] = [
        rand(V, V, -8, 8),
        Float32Array.from({ length: V }, () => Math.floor(r() * 5)), // integer logits: ties at every threshold
        new Float32Array(V).fill(1.5), // all equal
      ];
      const odd = rand(V, V + 1, -30, 30);
      odd[V >> 1] = Number.NaN;
      if (V > 2) odd[1] = -Infinity;
      rows.push(odd);
      const U = 6; // draws per row: each row repeated U times
      const T = rows.length * U;
      const x = new Float32Array(T * V);
      rows.forEach((row, k) => {
        for (let j = 0; j < U; j++) x.set(row, (k * U + j) * V);
      });
      const u = Float32Array.from({ length: T }, (_, t) => (t % U === 0 ? 0 : t % U === U - 1 ? 1 - 2 ** -24 : Math.fround(r())));
      const logits = f32([T, V], x);
      const uniforms = f32([T], u);
      for (const f of filters) {
        const ids = b.empty('i32', [T]);
        b.sample(ids, logits, { ...f, uniforms });
        const got = (await b.read(ids)).data as Int32Array;
        for (let t = 0; t < T; t++) {
          const ref = ops.sampleRow(x, t * V, V, f, u[t] as number);
          if (V <= 40000) draws++;
          if (got[t] === ref) continue;
          const g = got[t] as number;
          const [below, above] = [1 - 1e-5, 1 + 1e-5].map((e) => ops.sampleRow(x, t * V, V, f, (u[t] as number) * e)) as [number, number];
          const inBand = below <= g && g <= above && ops.sampleKept(x, t * V, V, f).kept[g] === 1;
          const near = inBand || [1 - 1e-5, 1 + 1e-5].some((e) => ops.sampleRow(x, t * V, V, { ...f, topP: Math.min(1, f.topP * e) }, u[t] as number) === g);
          assert.ok(near, `V=${V} ${JSON.stringify(f)} row ${t} u=${u[t]}: device ${g}, reference ${ref} (${below}…${above} at u ∓ 1e-5)`);
          if (V <= 40000) boundary++;
        }
        b.free(ids);
      }
      b.free(logits);
      b.free(uniforms);
    }
    assert.ok(boundary <= draws / 100, `${boundary} of ${draws} draws (V ≤ 40000) at a rounding boundary`);
    // history and advance: T = 1 steps draw uniforms[pos + 1], file the token at pos + 1, move pos on
    const V = 300;
    const rows = Array.from({ length: 4 }, (_, k) => rand(V, 70 + k, -4, 4));
    const u = Float32Array.from({ length: 10 }, () => Math.fround(r()));
    const uniforms = f32([10], u);
    const f = { temperature: 0.9, topK: 20, topP: 0.9 };
    const pos = i32([3]);
    const tokens = i32(Array.from({ length: 10 }, () => -1));
    const one = b.empty('i32', [1]);
    for (const row of rows) b.sample(one, f32([1, V], row), { ...f, uniforms }, { tokens, pos, advance: true });
    const want = [-1, -1, -1, -1, ...rows.map((row, k) => ops.sampleRow(row, 0, V, f, u[4 + k] as number)), -1, -1];
    assert.deepEqual(Array.from((await b.read(tokens)).data as Int32Array), want, 'history');
    assert.deepEqual(Array.from((await b.read(pos)).data as Int32Array), [7], 'advanced position');
    assert.throws(() => b.sample(one, f32([1, V], rows[0] as Float32Array), { ...f, uniforms }, { tokens: i32(Array(12).fill(0)), pos }), /sample: uniforms \[10\] must hold a draw for each of the 12 history positions/);
    assert.throws(() => b.sample(one, f32([1, V], rows[0] as Float32Array), { ...f, temperature: 0, uniforms }), /sample: temperature must be a finite number > 0/);
  });
  }

  test('the shared validation messages', () => {
    const q = b.empty('f32', [3, 8]);
    const k = b.empty('f32', [8, 4]);
    const cs = b.empty('f32', [10, 2]);
    const p = { nHeads: 2, nKvHeads: 1, headDim: 4, pos0: 6 };
    assert.throws(() => b.ropeKv(q, k, b.empty('f32', [8, 4]), b.empty('f32', [3, 16]), cs, cs, p), /ropeKv: positions 6…8 exceed the cache of 8 rows/);
    assert.throws(() => b.argmax(b.empty('i32', [2]), b.empty('f32', [3, 5])), /argmax: ids \[2\] must be \[3\]/);
  });
});
