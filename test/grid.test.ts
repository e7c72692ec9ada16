import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dequantizeAffine, fitAffine, quantizeAffine } from '../src/formats/grids/affine.js';
import {
  UNIFORM_GRID_DEFAULTS,
  dequantizeUniform,
  fitUniform,
  maxCode,
  quantizeUniform,
  roundHalfEven,
  type UniformGridConfig,
} from '../src/formats/grids/uniform.js';
import { f16ToF32, f32ToF16 } from '../src/tensor/dtype.js';
import { randomWeight } from '../tools/parity/synthetic.js';

const grid = (over: Partial<UniformGridConfig>): UniformGridConfig => ({ ...UNIFORM_GRID_DEFAULTS, ...over });
const f16 = (x: number): number => f16ToF32(f32ToF16(x));

test('roundHalfEven rounds ties to even like torch.round', () => {
  const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999, 2], [3.5000001, 4], [-7.5, -8]];
  for (const [x, want] of cases) assert.equal(roundHalfEven(x), want, `round(${x})`);
});

test('uniform grid: asymmetric min-max forces 0 into the range (gptq quant.py)', () => {
  // All-positive row: xmin is clamped to 0, so zero = 0 and scale = f16(max/maxq).
  const p = fitUniform([0.1, 0.2, 0.3, 0.4], grid({ bits: 2 }));
  assert.equal(p.zero, 0);
  assert.equal(p.scale, f16(Math.fround(Math.fround(0.4) / 3)));
  assert.deepEqual([0.1, 0.2, 0.3, 0.4].map((x) => quantizeUniform(x, p.scale, p.zero, 3)), [1, 2, 2, 3]); // 0.2 / f16(0.4/3) = 1.5004 → 2
  // Mixed signs: scale = (max − min)/maxq, zero = round(−min/scale).
  const q = fitUniform([-0.3, 0.05, 0.9], grid({ bits: 4 }));
  assert.equal(q.scale, f16(Math.fround(Math.fround(0.9 + 0.3) / 15)));
  assert.equal(q.zero, 4); // −(−0.3)/0.08 = 3.75 → 4
  // Degenerate all-zero row gets [−1, +1]; its zeros decode to exactly 0.
  const z = fitUniform([0, 0, 0], grid({ bits: 3 }));
  assert.equal(z.scale, f16(Math.fround(2 / 7)));
  assert.equal(dequantizeUniform(quantizeUniform(0, z.scale, z.zero, 7), z.scale, z.zero), 0);
});

test('uniform grid: symmetric zero is 2^(b−1) and the range ±max|x|', () => {
  for (const bits of [2, 3, 4, 8]) {
    const p = fitUniform([-0.5, 0.1, 0.25], grid({ bits, sym: true }));
    assert.equal(p.zero, 2 ** (bits - 1));
    assert.equal(p.scale, f16(Math.fround(Math.fround(0.5 + 0.5) / maxCode(bits))));
  }
  // Asym vs sym on a one-sided row: asym spends all levels on [min, 0], sym wastes half.
  const row = [-0.9, -0.6, -0.3, -0.05];
  const err = (c: UniformGridConfig): number => {
    const p = fitUniform(row, c);
    return row.reduce((s, x) => s + (dequantizeUniform(quantizeUniform(x, p.scale, p.zero, maxCode(c.bits)), p.scale, p.zero) - x) ** 2, 0);
  };
  assert.ok(err(grid({ bits: 3 })) < err(grid({ bits: 3, sym: true })));
});

test('uniform grid: Ŵ = scale·(code − zero) exactly; re-quantizing Ŵ returns the same codes', () => {
  const W = randomWeight(64, 96, 7, true);
  for (const bits of [2, 3, 4, 5, 8]) {
    for (const sym of [false, true]) {
      for (const clip of ['minmax', 'mse'] as const) {
        const cfg = grid({ bits, sym, clip });
        const maxq = maxCode(bits);
        for (let r = 0; r < 64; r++) {
          const row = W.subarray(r * 96, (r + 1) * 96);
          const p = fitUniform(row, cfg);
          assert.equal(f16(p.scale), p.scale, 'scale is an fp16 value');
          assert.ok(Number.isInteger(p.zero) && p.zero >= 0 && p.zero <= maxq);
          for (const x of row) {
            const q = quantizeUniform(x, p.scale, p.zero, maxq);
            const xh = dequantizeUniform(q, p.scale, p.zero);
            assert.equal(xh, p.scale * (q - p.zero), 'exact in f32');
            assert.equal(quantizeUniform(xh, p.scale, p.zero, maxq), q, `re-quantize b=${bits} sym=${sym} ${clip}`);
            if (clip === 'minmax' && !sym) assert.ok(Math.abs(xh - x) <= p.scale * (1 + 1e-3), 'min-max covers the row to within a step');
          }
        }
      }
    }
  }
});

test('uniform grid: MSE clipping is never worse than min-max on heavy-tailed rows', (t) => {
  const W = randomWeight(200, 128, 11, true);
  const sq = (row: Float32Array, cfg: UniformGridConfig): number => {
    const p = fitUniform(row, cfg);
    const maxq = maxCode(cfg.bits);
    let e = 0;
    for (const x of row) e += (dequantizeUniform(quantizeUniform(x, p.scale, p.zero, maxq), p.scale, p.zero) - x) ** 2;
    return e;
  };
  for (const bits of [2, 3, 4]) {
    let mm = 0;
    let mseNorm2 = 0;
    let mseDefault = 0;
    for (let r = 0; r < 200; r++) {
      const row = W.subarray(r * 128, (r + 1) * 128);
      const a = sq(row, grid({ bits }));
      const b = sq(row, grid({ bits, clip: 'mse', mseNorm: 2 }));
      assert.ok(b <= a, `row ${r}: norm-2 search includes min-max (p = 1), so ${b} ≤ ${a}`);
      mm += a;
      mseNorm2 += b;
      mseDefault += sq(row, grid({ bits, clip: 'mse' }));
    }
    t.diagnostic(`${bits}-bit, 200 Student-t rows: Σ sq. error min-max ${mm.toFixed(4)}, mse(norm 2) ${mseNorm2.toFixed(4)}, mse(norm 2.4) ${mseDefault.toFixed(4)}`);
    assert.ok(mseNorm2 < mm, `${bits}-bit: norm-2 MSE clipping ${mseNorm2} vs min-max ${mm}`);
    assert.ok(mseDefault < mm, `${bits}-bit: default (norm 2.4) clipping ${mseDefault} vs min-max ${mm}`);
  }
});

test('affine grid (SpQR): range [min, max] without 0, continuous zero, round(x/s + z)', () => {
  const p = fitAffine([0.1, 0.2, 0.3, 0.4], 3);
  assert.equal(p.scale, Math.fround(Math.fround(Math.fround(0.4) - Math.fround(0.1)) / 7));
  assert.equal(p.zero, Math.fround(-Math.fround(0.1) / p.scale));
  assert.ok(!Number.isInteger(p.zero));
  const codes = [0.1, 0.2, 0.3, 0.4].map((x) => quantizeAffine(x, p.scale, p.zero, 7));
  assert.deepEqual(codes, [0, 2, 5, 7]);
  assert.ok(Math.abs(dequantizeAffine(0, p.scale, p.zero) - 0.1) < 1e-7);
  assert.ok(Math.abs(dequantizeAffine(7, p.scale, p.zero) - 0.4) < 1e-7);
  // Constant rows get [−1, +1], as the reference.
  const c = fitAffine([0.25, 0.25], 3);
  assert.equal(c.scale, Math.fround(2 / 7));
  assert.equal(c.zero, Math.fround(1 / Math.fround(2 / 7)));
});
