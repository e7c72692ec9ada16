import assert from 'node:assert/strict';
import { test } from 'node:test';
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
