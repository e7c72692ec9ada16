/**
 * Every WebGPU op against the CPU reference (src/backend/cpu/ops.ts) on odd
 * shapes, f32/bf16/f16 weights, GQA, long sequences and chunked weights.
 * Tolerances per CONVENTIONS §3: matmuls and reductions by normalized MSE ≤ 1e-10,
 * elementwise f32 ops by |Δ| ≤ 1e-6 + 1e-5·|ref|. 16-bit weights are compared
 * against the reference on their exact f32 values, so the f32 rules apply.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ops from '../src/backend/cpu/ops.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { tensor } from '../src/tensor/tensor.js';
import { assertClose, assertNmse, rand, tryWebGpu, weight, type WeightDType } from './webgpu-helpers.js';

const DTYPES: readonly WeightDType[] = ['f32', 'bf16', 'f16'];
const { b: gpu, skip } = await tryWebGpu();
// a second backend whose bindings hold at most 256 KiB, so the larger weights below split into chunks
const CHUNK = 256 * 1024;
const { b: small } = await tryWebGpu({ maxBindingBytes: CHUNK });

async function readF32(b: WebGpuBackend, t: ReturnType<WebGpuBackend['empty']>): Promise<Float32Array> {
  return (await b.read(t)).data as Float32Array;
}

describe('webgpu ops vs the CPU reference', { skip }, () => {
  after(() => {
    gpu?.dispose();
    small?.dispose();
  });

  // (T, K, M): gemv (T ≤ 8), small gemm tiles, large gemm tiles (T ≥ 256); K, M off the tiles
  const plain: [number, number, number][] = [[1, 64, 96], [3, 67, 45], [8, 256, 100], [17, 129, 77], [130, 67, 133], [300, 132, 70]];
  // weights of 2–4 chunks of 256 KiB (activations stay single buffers)
  const chunked: [number, number, number][] = [[1, 512, 301], [5, 257, 1001], [40, 260, 700]];
  for (const [name, bk, cases] of [['', () => gpu, plain], [' (chunked weights, 256 KiB bindings)', () => small, chunked]] as const) {
    for (const dt of DTYPES) {
      test(`matmul ${dt} weights, odd shapes, bias, gemv and gemm tilings${name}`, async () => {
        const b = bk() as WebGpuBackend;
        for (const [T, K, M] of cases) {
          for (const withBias of [false, true]) {
            const x = rand(T * K, T * 7 + K);
            const w = weight(dt, [M, K], rand(M * K, M + 3));
            const bias = rand(M, 11);
            const ref = new Float32Array(T * M);
            ops.matmul(ref, x, w.exact, T, K, M, withBias ? bias : undefined);
            const out = b.empty('f32', [T, M]);
            const wt = b.upload(w.host);
            const bt = withBias ? b.upload(tensor('f32', [M], bias)) : undefined;
            b.matmul(out, b.upload(tensor('f32', [T, K], x)), wt, bt);
            assertNmse(await readF32(b, out), ref, `T=${T} K=${K} M=${M} bias=${withBias}`);
          }
        }
      });

      test(`embedding ${dt} table, odd D${name}`, async () => {
        const b = bk() as WebGpuBackend;
        const [V, D] = b === small ? [1001, 130] : [37, 13];
        const tab = weight(dt, [V, D], rand(V * D, 5));
        const ids = Int32Array.from([0, V - 1, 5, 5, 17, 2, 30, (V * 3) >> 2]);
        const ref = new Float32Array(ids.length * D);
        ops.embedding(ref, tab.exact, ids, D);
        const out = b.empty('f32', [ids.length, D]);
        b.embedding(out, b.upload(tab.host), b.upload(tensor('i32', [ids.length], ids)));
        assert.deepEqual(await readF32(b, out), ref);
      });
    }
  }

  // other tilings, as a sweep would set: loads that do not divide among the threads; GEMV rows of one
  // subgroup (TPR = subgroup size), of several, and without subgroups (shared-memory reduction)
  const variants = [
    { gemmLarge: { BM: 128, BN: 64, BK: 8, TM: 8, TN: 4 }, gemmSmall: { BM: 16, BN: 32, BK: 4, TM: 4, TN: 4 }, largeMinT: 64, largeMinGroups: 1, gemv: { RW: 4, TPR: 64, UNROLL: 2 } },
    { gemv: { RW: 16, TPR: 8, UNROLL: 1 } },
    { gemv: { RW: 2, TPR: 128, UNROLL: 3 }, subgroups: false },
  ] as const;
  for (const v of variants) {
    test(`matmul with tuning ${JSON.stringify(v)}`, async () => {
      const { subgroups, ...matmul } = { subgroups: true, ...v };
      const { b } = await tryWebGpu({ matmul, subgroups });
      assert.ok(b);
      for (const [T, K, M] of [[1, 256, 50], [2, 136, 50], [3, 67, 45], [20, 67, 45], [70, 129, 77]] as const) {
        const x = rand(T * K, 1);
        const w = weight('bf16', [M, K], rand(M * K, 2));
        const ref = new Float32Array(T * M);
        ops.matmul(ref, x, w.exact, T, K, M);
        const out = b.empty('f32', [T, M]);
        b.matmul(out, b.upload(tensor('f32', [T, K], x)), b.upload(w.host));
        assertNmse(await readF32(b, out), ref, `T=${T} K=${K} M=${M}`);
      }
      b.dispose();
    });
  }

  for (const dt of DTYPES) {
    test(`rmsnorm ${dt} weight, T=3 D=67 and T=17 D=300`, async () => {
      const b = gpu as WebGpuBackend;
      for (const [T, D] of [[3, 67], [17, 300]] as const) {
        const x = rand(T * D, D, -3, 3);
        const w = weight(dt, [D], rand(D, 9, 0.5, 1.5));
        const ref = new Float32Array(T * D);
        ops.rmsnorm(ref, x, w.exact, T, D, 1e-5);
        const out = b.empty('f32', [T, D]);
        b.rmsnorm(out, b.upload(tensor('f32', [T, D], x)), b.upload(w.host), 1e-5);
        assertNmse(await readF32(b, out), ref, `T=${T} D=${D}`);
      }
    });
  }

  test('rope: headDim 6 and 64, pos0 0 and 5', async () => {
    const b = gpu as WebGpuBackend;
    for (const [T, heads, hd, pos0] of [[3, 2, 6, 5], [17, 3, 64, 0]] as const) {
      const C = heads * hd;
      const half = hd / 2;
      const P = pos0 + T + 2;
      const x = rand(T * C, 3);
      const cos = rand(P * half, 4);
      const sin = rand(P * half, 5);
      const ref = x.slice();
      ops.rope(ref, cos, sin, T, C, half, pos0);
      const xt = b.upload(tensor('f32', [T, C], x));
      b.rope(xt, b.upload(tensor('f32', [P, half], cos)), b.upload(tensor('f32', [P, half], sin)), pos0, hd);
      assertClose(await readF32(b, xt), ref, `T=${T} hd=${hd}`);
    }
  });

  test('attention: GQA, odd heads, prefill up to T=600, decode with pos0 > 0 (one-pass over short caches, split-K over long)', async () => {
    const b = gpu as WebGpuBackend;
    // [T, nHeads, nKvHeads, headDim, pos0, S]
    const cases: [number, number, number, number, number, number][] = [
      [1, 4, 2, 8, 0, 1],
      [3, 4, 2, 6, 0, 3],
      [17, 6, 2, 8, 4, 25],
      [5, 3, 3, 72, 9, 14],
      [600, 2, 1, 16, 0, 600],
      [40, 4, 2, 64, 3, 50],
      [20, 3, 1, 72, 0, 20],
      [33, 2, 2, 128, 7, 40],
      [1, 4, 1, 64, 700, 701], // one-pass
      [3, 4, 2, 16, 600, 610],
      [2, 4, 2, 6, 40, 45], // one-pass, hd % 4 != 0: scalar value columns, 42 key groups
      [1, 3, 1, 50, 99, 100],
      [2, 2, 1, 16, 2100, 2102], // split-K (more keys than the one-pass kernel holds)
    ];
    for (const [T, nH, nKv, hd, pos0, S] of cases) {
      const q = rand(T * nH * hd, T + hd, -2, 2);
      const k = rand(S * nKv * hd, S, -2, 2);
      const v = rand(S * nKv * hd, S + 1);
      const ref = new Float32Array(T * nH * hd);
      ops.attention(ref, q, k, v, T, nH, nKv, hd, pos0);
      const out = b.empty('f32', [T, nH * hd]);
      const up = (d: Float32Array, r: number, c: number): ReturnType<WebGpuBackend['upload']> => b.upload(tensor('f32', [r, c], d));
      b.attention(out, up(q, T, nH * hd), up(k, S, nKv * hd), up(v, S, nKv * hd), { nHeads: nH, nKvHeads: nKv, headDim: hd, pos0 });
      assertNmse(await readF32(b, out), ref, `T=${T} heads ${nH}/${nKv}×${hd} pos0=${pos0}`);
    }
  });

  test('copyRows: f32 and i32, into a chunked destination', async () => {
    for (const b of [gpu, small] as WebGpuBackend[]) {
      // 6000×13 f32 is two chunks of 5040 rows on the small backend: rows 5038… straddle them
      const [R, C] = [6000, 13];
      const src = rand(7 * C, 1);
      const dst = b.empty('f32', [R, C]);
      b.copyRows(dst, 5038, b.upload(tensor('f32', [7, C], src)), 2, 5);
      const ref = new Float32Array(R * C);
      ref.set(src.subarray(2 * C, 7 * C), 5038 * C);
      assert.deepEqual(await readF32(b, dst), ref);
      const ids = b.empty('i32', [4, 1]);
      b.copyRows(ids, 1, b.upload(tensor('i32', [2, 1], Int32Array.from([7, -3]))), 0, 2);
      assert.deepEqual((await b.read(ids)).data, Int32Array.from([0, 7, -3, 0]));
    }
  });

  test('siluMul and add (out of place, aliasing a, b, both), odd sizes', async () => {
    const b = gpu as WebGpuBackend;
    const n = 1037;
    const g = rand(n, 1, -6, 6);
    const u = rand(n, 2);
    const ref = new Float32Array(n);
    ops.siluMul(ref, g, u);
    const out = b.empty('f32', [n]);
    const up = (d: Float32Array): ReturnType<WebGpuBackend['upload']> => b.upload(tensor('f32', [n], d));
    b.siluMul(out, up(g), up(u));
    assertClose(await readF32(b, out), ref, 'siluMul');
    const sum = new Float32Array(n);
    ops.add(sum, g, u);
    const a1 = up(g);
    b.add(out, a1, up(u));
    assertClose(await readF32(b, out), sum, 'add');
    const a2 = up(g);
    b.add(a2, a2, up(u));
    assertClose(await readF32(b, a2), sum, 'add into a');
    const b2 = up(u);
    b.add(b2, up(g), b2);
    assertClose(await readF32(b, b2), sum, 'add into b');
    const d = up(g);
    b.add(d, d, d);
    assertClose(await readF32(b, d), g.map((x) => 2 * x), 'add to itself');
  });

  test('nll: log-softmax + NLL on the GPU, V=1001 and V=32000', async () => {
    const b = gpu as WebGpuBackend;
    for (const [T, V] of [[5, 1001], [3, 32000]] as const) {
      const logits = rand(T * V, V, -8, 8);
      const targets = Int32Array.from({ length: T }, (_, i) => (i * 7919) % V);
      const ref = new Float32Array(T);
      ops.nll(ref, logits, targets, V);
      const out = b.empty('f32', [T]);
      b.nll(out, b.upload(tensor('f32', [T, V], logits)), b.upload(tensor('i32', [T], targets)));
      assertNmse(await readF32(b, out), ref, `T=${T} V=${V}`);
    }
  });

  test('kl: per-row KL(softmax p ‖ softmax q) and argmax agreement on the GPU, V=1001 and V=32000', async () => {
    const b = gpu as WebGpuBackend;
    for (const [T, V] of [[6, 1001], [3, 32000]] as const) {
      const p = rand(T * V, V + 1, -8, 8);
      const q = p.map((x, i) => x + 0.3 * Math.sin(i)); // a nearby distribution: small KL, mostly the same argmax
      q.set(p.subarray(0, V), 0); // row 0: identical rows, KL exactly 0 in exact arithmetic, agreement 1
      q[V + 5] = 20; // row 1: a different argmax
      const ref = new Float32Array(2 * T);
      ops.kl(ref, p, q, T, V);
      const out = b.empty('f32', [T, 2]);
      b.kl(out, b.upload(tensor('f32', [T, V], p)), b.upload(tensor('f32', [T, V], q)));
      const got = await readF32(b, out);
      const kls = (a: Float32Array) => a.filter((_, i) => i % 2 === 0);
      assertNmse(kls(got), kls(ref), `KL T=${T} V=${V}`);
      assert.deepEqual(got.filter((_, i) => i % 2 === 1), ref.filter((_, i) => i % 2 === 1), 'argmax agreement');
      assert.ok(Math.abs(got[0] as number) < 1e-5 && got[1] === 1 && got[3] === 0, `rows 0/1: ${got.slice(0, 4).join(', ')}`);
    }
  });

  test('gram: h += scale·xᵀx, T=37 K=45 on a non-zero h', async () => {
    const b = gpu as WebGpuBackend;
    const [T, K] = [37, 45];
    const x = rand(T * K, 3);
    const h0 = rand(K * K, 4);
    const ref = h0.slice();
    ops.gram(ref, x, T, K, 0.25);
    const h = b.upload(tensor('f32', [K, K], h0));
    b.gram(h, b.upload(tensor('f32', [T, K], x)), 0.25);
    assertNmse(await readF32(b, h), ref, 'gram');
  });

  test('upload/read/write round trip of 16-bit tensors with odd element counts, chunked', async () => {
    for (const b of [gpu, small] as WebGpuBackend[]) {
      for (const dt of ['bf16', 'f16'] as const) {
        const w = weight(dt, [20001, 7], rand(140007, 8));
        const t = b.upload(w.host);
        assert.deepEqual((await b.read(t)).data, w.host.data);
        const w2 = weight(dt, [20001, 7], rand(140007, 9));
        b.write(t, w2.host);
        assert.deepEqual((await b.read(t)).data, w2.host.data);
      }
    }
  });
});
