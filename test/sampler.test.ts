import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ops from '../src/backend/cpu/ops.js';
import { argmax, rng, Sampler } from '../src/runtime/sampler.js';

test('greedy picks the first maximum', () => {
  assert.equal(argmax(Float32Array.of(1, 3, 3, 2)), 1);
  assert.equal(new Sampler({ temperature: 0, topP: 1, topK: 0, seed: 0 }).sample(Float32Array.of(-1, 5, 4)), 1);
});

test('seeded sampling is reproducible and follows the distribution', () => {
  const logits = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.2));
  const draw = (seed: number, n: number): number[] => {
    const s = new Sampler({ temperature: 1, topP: 1, topK: 0, seed });
    return Array.from({ length: n }, () => s.sample(logits));
  };
  assert.deepEqual(draw(7, 50), draw(7, 50));
  assert.notDeepEqual(draw(7, 50), draw(8, 50));
  const counts = [0, 0, 0];
  for (const t of draw(1, 20000)) counts[t] = (counts[t] as number) + 1;
  // binomial standard deviation at n = 20000 is ≤ 0.0036: 5 σ bounds
  assert.ok(Math.abs((counts[0] as number) / 20000 - 0.5) < 0.018);
  assert.ok(Math.abs((counts[1] as number) / 20000 - 0.3) < 0.017);
  assert.ok(Math.abs((counts[2] as number) / 20000 - 0.2) < 0.015);
});

test('top-p and top-k restrict the candidates', () => {
  const logits = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05));
  const seen = (o: { topP: number; topK: number }): Set<number> => {
    const s = new Sampler({ temperature: 1, seed: 3, ...o });
    return new Set(Array.from({ length: 3000 }, () => s.sample(logits)));
  };
  assert.deepEqual([...seen({ topP: 0.75, topK: 0 })].sort(), [0, 1]); // 0.5 + 0.3 ≥ 0.75
  assert.deepEqual([...seen({ topP: 0.5, topK: 0 })], [0]);
  assert.deepEqual([...seen({ topP: 1, topK: 3 })].sort(), [0, 1, 2]);
  assert.deepEqual([...seen({ topP: 1, topK: 0 })].sort(), [0, 1, 2, 3]);
});

test('rng gives uniform floats in [0, 1)', () => {
  const r = rng(42);
  let sum = 0;
  for (let i = 0; i < 100000; i++) {
    const x = r();
    assert.ok(x >= 0 && x < 1);
    sum += x;
  }
  assert.ok(Math.abs(sum / 100000 - 0.5) < 0.005);
});

/** The kept set by its definition: sort (p descending, index ascending), the first topK, then the smallest prefix reaching topP. */
function keptBySort(logits: Float32Array, f: { temperature: number; topK: number; topP: number }): number[] {
  const max = Math.max(...logits);
  const p = Array.from(logits, (l) => Math.exp((l - max) / f.temperature));
  const sum = p.reduce((a, b) => a + b, 0);
  const order = p.map((_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
  let keep = f.topK > 0 ? Math.min(f.topK, order.length) : order.length;
  let mass = 0;
  for (let r = 0; r < keep; r++) {
    mass += p[order[r] as number] as number;
    if (mass >= f.topP * sum) {
      keep = r + 1;
      break;
    }
  }
  return order.slice(0, keep).sort((a, b) => a - b);
}

test('sampleKept keeps what sorting keeps: top-k and top-p, ties broken by index, without a sort', () => {
  const r = rng(5);
  const filters = [
    { temperature: 1, topK: 0, topP: 1 },
    { temperature: 0.8, topK: 40, topP: 0.95 },
    { temperature: 1, topK: 5, topP: 1 },
    { temperature: 1.5, topK: 0, topP: 0.5 },
    { temperature: 0.5, topK: 3, topP: 0.3 },
    { temperature: 1, topK: 999, topP: 0.999 },
  ];
  let ties = 0;
  for (let trial = 0; trial < 60; trial++) {
    const V = 1 + Math.floor(r() * 300);
    // integer logits in a small range: many ties, also at the thresholds
    const coarse = trial % 2 === 0;
    const logits = Float32Array.from({ length: V }, () => (coarse ? Math.floor(r() * 6) : r() * 16 - 8));
    for (const f of filters) {
      const { kept } = ops.sampleKept(logits, 0, V, f);
      const got = [...kept.keys()].filter((i) => kept[i]);
      assert.deepEqual(got, keptBySort(logits, f), `V=${V} ${JSON.stringify(f)}`);
      if (coarse && got.length < V) ties++;
    }
  }
  assert.ok(ties > 50, `filters cut through ties in ${ties} cases`);
});

test('sampleRow walks the kept tokens in index order', () => {
  const flat = new Float32Array(4); // p = 1/4 each
  const f = { temperature: 1, topK: 0, topP: 1 };
  assert.deepEqual([0, 0.24, 0.26, 0.5, 0.74, 0.76, 0.999].map((u) => ops.sampleRow(flat, 0, 4, f, u)), [0, 0, 1, 2, 2, 3, 3]);
  // top-k 2 of four equal tokens keeps 0 and 1 (the first by index)
  assert.deepEqual([0.1, 0.6].map((u) => ops.sampleRow(flat, 0, 4, { ...f, topK: 2 }, u)), [0, 1]);
  // a row of a second copy at an offset, −∞ and NaN never drawn, no mass at all gives 0
  const x = Float32Array.of(9, 9, -Infinity, Number.NaN, 0, 0);
  assert.deepEqual([0, 0.3, 0.9999].map((u) => ops.sampleRow(x, 2, 4, f, u)), [2, 2, 3]);
  assert.equal(ops.sampleRow(Float32Array.of(-Infinity, -Infinity), 0, 2, f, 0.5), 0);
});
