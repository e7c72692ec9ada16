import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import * as ops from '../src/backend/cpu/ops.js';
import { tensor } from '../src/tensor/tensor.js';
import { gaussian, mulberry32 } from '../tools/parity/synthetic.js';

test('gram: backend h += s·xᵀx equals the float64 sum (f32 rule: |Δ| ≤ 8·K·2⁻²⁴·Σ|x_i x_j|)', async () => {
  const T = 37;
  const K = 19;
  const g = gaussian(mulberry32(7));
  const x = new Float32Array(T * K).map(() => g());
  const h0 = new Float32Array(K * K).map(() => g());
  const scale = 2 / T;
  const be = new CpuBackend();
  const h = be.upload(tensor('f32', [K, K], h0.slice()));
  be.gram(h, be.upload(tensor('f32', [T, K], x)), scale);
  const got = (await be.read(h)).data as Float32Array;
  const ref = h0.slice();
  ops.gram(ref, x, T, K, scale);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      let exact = 0;
      let mag = 0;
      for (let t = 0; t < T; t++) {
        exact += x[t * K + i]! * x[t * K + j]!;
        mag += Math.abs(x[t * K + i]! * x[t * K + j]!);
      }
      const want = h0[i * K + j]! + scale * exact;
      const tol = 8 * T * 2 ** -24 * (scale * mag + Math.abs(h0[i * K + j]!));
      assert.ok(Math.abs(got[i * K + j]! - want) <= tol, `backend h[${i},${j}] = ${got[i * K + j]} vs ${want}`);
      assert.ok(Math.abs(ref[i * K + j]! - want) <= tol, `ops.gram h[${i},${j}] = ${ref[i * K + j]} vs ${want}`);
    }
  }
  assert.throws(() => be.gram(be.empty('f32', [K, K + 1]), be.empty('f32', [T, K]), 1), /gram: h \[19, 20\] must be \[19, 19\]/);
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
