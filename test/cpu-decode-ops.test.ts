/**
 * The decode-step ops of the CPU reference backend: `attention` with a device
 * position, `ropeKv` (= rope of the parts + the cache append, bit for bit) and
 * `argmax` (first maximum, history), and the shared validation messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tensor } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { tensor } from '../src/tensor/tensor.js';
import { rand } from './webgpu-helpers.js';

const b = new CpuBackend();
const f32 = (shape: number[], data: Float32Array): Tensor => b.upload(tensor('f32', shape, data));
const i32 = (data: number[]): Tensor => b.upload(tensor('i32', [data.length], Int32Array.from(data)));
const read = async (t: Tensor): Promise<Float32Array> => (await b.read(t)).data as Float32Array;

/** Host slice of columns [c0, c1) of a [T, W] matrix. */
function cols(x: Float32Array, T: number, W: number, c0: number, c1: number): Float32Array {
  const out = new Float32Array(T * (c1 - c0));
  for (let t = 0; t < T; t++) out.set(x.subarray(t * W + c0, t * W + c1), t * (c1 - c0));
  return out;
}

describe('cpu decode ops (reference semantics)', () => {
  test('ropeKv on a 2-dim head: (a, b) → (a·c − b·s, b·c + a·s) at position P, v copied, other rows kept', async () => {
    // nHeads 1, nKvHeads 1, headDim 2: qkv row = (q0 q1 | k0 k1 | v0 v1)
    const cos = f32([4, 1], Float32Array.from([1, 0, 0.5, -1]));
    const sin = f32([4, 1], Float32Array.from([0, 1, 0.25, 0]));
    const qkv = f32([2, 6], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    const q = b.empty('f32', [2, 2]);
    const k = f32([4, 2], new Float32Array(8).fill(-7));
    const v = f32([4, 2], new Float32Array(8).fill(-7));
    b.ropeKv(q, k, v, qkv, cos, sin, { nHeads: 1, nKvHeads: 1, headDim: 2, pos0: 0, pos: i32([1]) });
    // row 0 at P = 1 (c 0, s 1): (a, b) → (−b, a); row 1 at P = 2 (c 0.5, s 0.25)
    assert.deepEqual(await read(q), Float32Array.from([-2, 1, 7 * 0.5 - 8 * 0.25, 8 * 0.5 + 7 * 0.25]));
    assert.deepEqual(await read(k), Float32Array.from([-7, -7, -4, 3, 9 * 0.5 - 10 * 0.25, 10 * 0.5 + 9 * 0.25, -7, -7]));
    assert.deepEqual(await read(v), Float32Array.from([-7, -7, 5, 6, 11, 12, -7, -7]));
  });

  // [T, nHeads, nKvHeads, headDim, P, S]
  const cases: [number, number, number, number, number, number][] = [
    [1, 4, 2, 64, 0, 5],
    [3, 6, 2, 48, 9, 12],
    [70, 5, 1, 80, 30, 101],
  ];
  for (const [T, nH, nKv, hd, P, S] of cases) {
    test(`ropeKv = rope + copyRows bit for bit, pos0 = pos, T=${T} heads ${nH}/${nKv}×${hd} P=${P}`, async () => {
      const [Cq, Ckv, half] = [nH * hd, nKv * hd, hd / 2];
      const W = Cq + 2 * Ckv;
      const x = rand(T * W, T + hd, -2, 2);
      const cache0 = rand(S * Ckv, S);
      const maxPos = S + 3;
      const cos = f32([maxPos, half], rand(maxPos * half, 4));
      const sin = f32([maxPos, half], rand(maxPos * half, 5));
      // the composition: rope of the q and k parts, then row copies into the caches
      const qRef = f32([T, Cq], cols(x, T, W, 0, Cq));
      const kPart = f32([T, Ckv], cols(x, T, W, Cq, Cq + Ckv));
      b.rope(qRef, cos, sin, P, hd);
      b.rope(kPart, cos, sin, P, hd);
      const kRef = f32([S, Ckv], cache0);
      const vRef = f32([S, Ckv], cache0);
      b.copyRows(kRef, P, kPart, 0, T);
      b.copyRows(vRef, P, f32([T, Ckv], cols(x, T, W, Cq + Ckv, W)), 0, T);
      for (const where of [{ pos0: P }, { pos0: 0, pos: i32([P]) }, { pos0: 2, pos: i32([P - 2]) }]) {
        if (where.pos0 > P) continue;
        const q = b.empty('f32', [T, Cq]);
        const k = f32([S, Ckv], cache0);
        const v = f32([S, Ckv], cache0);
        b.ropeKv(q, k, v, f32([T, W], x), cos, sin, { nHeads: nH, nKvHeads: nKv, headDim: hd, ...where });
        const tag = JSON.stringify({ pos0: where.pos0, pos: where.pos ? P - where.pos0 : undefined });
        assert.deepEqual(await read(q), await read(qRef), `q ${tag}`);
        assert.deepEqual(await read(k), await read(kRef), `kCache ${tag}`);
        assert.deepEqual(await read(v), await read(vRef), `vCache ${tag}`);
      }
    });

    test(`attention with pos = attention with pos0 bit for bit, T=${T} heads ${nH}/${nKv}×${hd} P=${P}`, async () => {
      const [Cq, Ckv] = [nH * hd, nKv * hd];
      const q = f32([T, Cq], rand(T * Cq, 1, -2, 2));
      const k = f32([S, Ckv], rand(S * Ckv, 2, -2, 2));
      const v = f32([S, Ckv], rand(S * Ckv, 3));
      const p = { nHeads: nH, nKvHeads: nKv, headDim: hd };
      const ref = b.empty('f32', [T, Cq]);
      b.attention(ref, q, k, v, { ...p, pos0: P });
      for (const where of [{ pos0: 0, pos: i32([P]) }, { pos0: 1, pos: i32([P - 1]) }]) {
        const out = b.empty('f32', [T, Cq]);
        b.attention(out, q, k, v, { ...p, ...where });
        assert.deepEqual(await read(out), await read(ref));
      }
    });
  }

  test('argmax: the first maximum on ties, −∞ and NaN never win, history lands at pos + t + 1', async () => {
    const V = 6;
    const N = -Infinity;
    const rows = [
      [1, 3, 3, 2, 3, 0], // tie: 1
      [5, 5, 5, 5, 5, 5], // all equal: 0
      [N, N, N, N, N, N], // nothing above −∞: 0
      [NaN, N, -3e38, NaN, -3e38, 1e-30], // 5
      [NaN, 2, NaN, 7, 7, NaN], // 3
      [0, 0, 0, 0, 0, 1], // last: 5
    ];
    const logits = f32([rows.length, V], Float32Array.from(rows.flat()));
    const ids = b.empty('i32', [rows.length]);
    const tokens = i32([9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
    b.argmax(ids, logits, { tokens, pos: i32([2]) });
    assert.deepEqual((await b.read(ids)).data, Int32Array.from([1, 0, 0, 5, 3, 5]));
    assert.deepEqual((await b.read(tokens)).data, Int32Array.from([9, 9, 9, 1, 0, 0, 5, 3, 5, 9]));
    b.argmax(ids, logits);
    assert.deepEqual((await b.read(ids)).data, Int32Array.from([1, 0, 0, 5, 3, 5]));
    // advance: each T = 1 call files its token one position further
    const one = b.empty('i32', [1]);
    const pos = i32([2]);
    const hist = i32([9, 9, 9, 9, 9, 9]);
    b.argmax(one, f32([1, V], Float32Array.from(rows[0] as number[])), { tokens: hist, pos, advance: true });
    b.argmax(one, f32([1, V], Float32Array.from(rows[3] as number[])), { tokens: hist, pos, advance: true });
    assert.deepEqual((await b.read(hist)).data, Int32Array.from([9, 9, 9, 1, 5, 9]));
    assert.deepEqual((await b.read(pos)).data, Int32Array.from([4]));
    assert.throws(() => b.argmax(ids, logits, { tokens: hist, pos, advance: true }), /argmax: history.advance needs one row of logits, got 6/);
  });

  test('validation: shapes, aliasing, positions beyond the cache, the table or the history', () => {
    const hd = 4;
    const qkv = b.empty('f32', [3, 4 * hd]); // nHeads 2, nKvHeads 1
    const q = b.empty('f32', [3, 2 * hd]);
    const k = b.empty('f32', [8, hd]);
    const v = b.empty('f32', [8, hd]);
    const cs = b.empty('f32', [10, hd / 2]);
    const p = { nHeads: 2, nKvHeads: 1, headDim: hd, pos0: 0 };
    assert.throws(() => b.ropeKv(q, k, v, qkv, cs, cs, { ...p, pos0: 6 }), /ropeKv: positions 6…8 exceed the cache of 8 rows/);
    assert.throws(() => b.ropeKv(q, k, v, qkv, cs, cs, { ...p, pos: i32([6]) }), /ropeKv: positions 6…8 exceed the cache of 8 rows/);
    assert.throws(() => b.ropeKv(q, k, v, qkv, cs, cs, { ...p, nKvHeads: 2 }), /ropeKv: qkv \[3, 16\] must have 8 \+ 2·8 columns/);
    assert.throws(() => b.ropeKv(q, k, k, qkv, cs, cs, p), /ropeKv: q, kCache, vCache and qkv must be four distinct tensors/);
    assert.throws(() => b.ropeKv(q, k, v, qkv, cs, cs, { ...p, pos: b.empty('f32', [1]) }), /ropeKv: pos has dtype f32, expected i32/);
    assert.throws(() => b.ropeKv(q, k, v, qkv, b.empty('f32', [2, hd / 2]), b.empty('f32', [2, hd / 2]), p), /ropeKv: positions 0…2 exceed the table of 2/);
    const ap = { nHeads: 2, nKvHeads: 1, headDim: hd, pos0: 0 };
    assert.throws(() => b.attention(q, q, k, v, { ...ap, pos: i32([6]) }), /attention: positions 6…8 exceed the cache of 8 rows/);
    assert.throws(() => b.attention(q, q, k, v, { ...ap, pos: i32([1, 2]) }), /attention: pos \[2\] must be \[1\]/);
    const ids = b.empty('i32', [3]);
    const logits = b.empty('f32', [3, 5]);
    assert.throws(() => b.argmax(ids, logits, { tokens: b.empty('i32', [5]), pos: i32([2]) }), /argmax: history positions 3…5 exceed the tokens \[5\]/);
    assert.throws(() => b.argmax(b.empty('i32', [2]), logits), /argmax: ids \[2\] must be \[3\]/);
    assert.throws(() => b.argmax(ids, logits, { tokens: ids, pos: i32([0]) }), /argmax: ids, history.tokens and history.pos must be distinct tensors/);
  });
});
