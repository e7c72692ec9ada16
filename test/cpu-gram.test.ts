import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { createFastCpuBackend } from '../src/backend/cpu/fast.js';
import { createCpuBackend } from '../src/backend/cpu/node-cpu.js';
import * as ops from '../src/backend/cpu/ops.js';
import { tensor } from '../src/tensor/tensor.js';
import { gaussian, mulberry32 } from '../tools/parity/synthetic.js';

test('gram: h += s·xᵀx equals the float64 sum on the reference, WASM and threaded CPU backends, and in ops.gram', async () => {
  const T = 37;
  const K = 45;
  const g = gaussian(mulberry32(11));
  const x = new Float32Array(T * K).map(() => g());
  const h0 = new Float32Array(K * K).map(() => g());
  const scale = 2 / T;
  const ref = h0.slice();
  ops.gram(ref, x, T, K, scale);
  // f32 rule: the sum over T (2·(T+2) roundings at most), then scale·g and h + … (2 more): |Δ| ≤ 2·(T+4)·2⁻²⁴·(s·Σ|x_i x_j| + |h|)
  const tol = (i: number, j: number): number => {
    let mag = 0;
    for (let t = 0; t < T; t++) mag += Math.abs(x[t * K + i]! * x[t * K + j]!);
    return 2 * (T + 4) * 2 ** -24 * (scale * mag + Math.abs(h0[i * K + j]!));
  };
  const want = (i: number, j: number): number => {
    let exact = 0;
    for (let t = 0; t < T; t++) exact += x[t * K + i]! * x[t * K + j]!;
    return h0[i * K + j]! + scale * exact;
  };
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) assert.ok(Math.abs(ref[i * K + j]! - want(i, j)) <= tol(i, j), `ops.gram h[${i},${j}] = ${ref[i * K + j]} vs ${want(i, j)}`);
  }
  for (const be of [new CpuBackend(), createFastCpuBackend(), createCpuBackend({ threads: 2 })]) {
    try {
      const h = be.upload(tensor('f32', [K, K], h0.slice()));
      be.gram(h, be.upload(tensor('f32', [T, K], x)), scale);
      const got = (await be.read(h)).data as Float32Array;
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < K; j++) {
          assert.ok(Math.abs(got[i * K + j]! - want(i, j)) <= tol(i, j), `${be.description} h[${i},${j}] = ${got[i * K + j]} vs ${want(i, j)}`);
        }
      }
      assert.throws(() => be.gram(be.empty('f32', [K, K + 1]), be.empty('f32', [T, K]), 1), /gram: h \[45, 46\] must be \[45, 45\]/);
    } finally {
      be.dispose();
    }
  }
});

test('kl reference: equals Σ P (log P − log Q) computed directly, and flags argmax agreement', () => {
  const g = gaussian(mulberry32(9));
  const [T, V] = [4, 50];
  const p = new Float32Array(T * V).map(() => 3 * g());
  const q = new Float32Array(T * V).map(() => 3 * g());
  const out = new Float32Array(2 * T);
  ops.kl(out, p, q, T, V);
  for (let t = 0; t < T; t++) {
    const lse = (a: Float32Array) => Math.log(Array.from(a.subarray(t * V, (t + 1) * V)).reduce((s, x) => s + Math.exp(x), 0));
    const [lp, lq] = [lse(p), lse(q)];
    let want = 0;
    let [ap, aq] = [0, 0];
    for (let v = 0; v < V; v++) {
      const a = p[t * V + v]! - lp;
      want += Math.exp(a) * (a - (q[t * V + v]! - lq));
      if (p[t * V + v]! > p[t * V + ap]!) ap = v;
      if (q[t * V + v]! > q[t * V + aq]!) aq = v;
    }
    assert.ok(Math.abs(out[2 * t]! - want) <= 1e-6 * Math.max(1, want), `row ${t}: ${out[2 * t]} vs ${want}`);
    assert.equal(out[2 * t + 1], ap === aq ? 1 : 0);
  }
});
