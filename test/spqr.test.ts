import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FORMATS } from '../src/formats/index.js';
import { dequantizeAffine, quantizeAffine } from '../src/formats/grids/affine.js';
import { quantizeLayer as gptq } from '../src/quant/methods/gptq.js';
import { quantizeLayer as spqr, spqrAvgBits } from '../src/quant/methods/spqr.js';
import type { QuantResult } from '../src/quant/types.js';
import { f16ToF32, f32Bits, f32ToF16 } from '../src/tensor/dtype.js';
import { tensor } from '../src/tensor/tensor.js';
import { correlatedHessian, randomWeight } from '../tools/parity/synthetic.js';

const bitsEqual = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => f32Bits(x) === f32Bits(b[i] as number));

/** A heavy-tailed layer with a few planted large weights; returns their [row, col]. */
function layer(out: number, inn: number, seed: number) {
  const W = randomWeight(out, inn, seed, true);
  const planted: [number, number][] = [];
  for (let k = 0; k < 6; k++) {
    const [r, c] = [(k * 13 + 5) % out, (k * 29 + 11) % inn];
    W[r * inn + c] = (k % 2 === 0 ? 1 : -1) * 0.6;
    planted.push([r, c]);
  }
  const { H, nSamples } = correlatedHessian(inn, { seed });
  return { W: tensor('f32', [out, inn], W), stats: { H, nSamples }, planted };
}

const FORMULA_ARRAYS = ['codes', 'scaleCodes', 'zeroCodes', 'scaleStats', 'zeroStats', 'outlierCol', 'outlierVal'];
const formulaBits = (r: QuantResult): number => {
  const p = FORMATS.spqr.pack(r);
  return (FORMULA_ARRAYS.reduce((s, k) => s + (p.arrays[k]?.length ?? NaN), 0) * 8) / (r.out * r.in);
};

test('spqr avgBits: the reference formula; 3-bit, β1 = β2 = 16 is 3.625 and the packed bytes agree', () => {
  assert.equal(spqrAvgBits(3, 3, 16, 16, 0), 3.625);
  assert.equal(spqrAvgBits(4, 3, 16, 16, 0), 4.625);
  assert.equal(spqrAvgBits(3, 3, 8, 64, 0), 3.875); // the paper's 3.94-bit config before outliers
  assert.equal(spqrAvgBits(3, 3, 16, 16, 0.01), 3.625 + 0.32);
  const { W, stats } = layer(64, 256, 1);
  const plain = spqr(W, stats, { outlierThreshold: Infinity });
  assert.equal(plain.outliers?.col.length, 0);
  assert.equal(plain.avgBits, 3.625);
  assert.equal(formulaBits(plain), 3.625);
  const p = FORMATS.spqr.pack(plain);
  assert.equal(p.arrays.outlierRowPtr?.length, 4 * 65);
  assert.equal(p.arrays.perm?.length, 2 * 256);
  const withOutliers = spqr(W, stats, {});
  const nnz = withOutliers.outliers?.col.length as number;
  assert.ok(nnz > 0);
  assert.equal(withOutliers.avgBits, 3.625 + (32 * nnz) / (64 * 256));
  assert.equal(formulaBits(withOutliers), withOutliers.avgBits);
});

test('spqr outliers: lower τ gives more; planted weights are caught; outliers survive pack/unpack exactly', (t) => {
  const { W, stats, planted } = layer(64, 256, 2);
  const counts: number[] = [];
  const errors: number[] = [];
  for (const tau of [Infinity, 2, 0.5, 0.2, 0.05]) {
    const r = spqr(W, stats, { outlierThreshold: tau });
    counts.push(r.outliers?.col.length as number);
    errors.push(r.error?.relative as number);
    if (tau === 0.5) {
      const { rowPtr, col, value } = r.outliers!;
      const perm = r.grid!.perm!;
      const inv = new Uint32Array(256);
      perm.forEach((orig, c) => (inv[orig] = c));
      for (const [row, c] of planted) {
        const cols = Array.from(col.subarray(rowPtr[row], rowPtr[row + 1]));
        assert.ok(cols.includes(inv[c] as number), `planted weight [${row}, ${c}] is an outlier`);
      }
      const u = FORMATS.spqr.unpack(FORMATS.spqr.pack(r));
      for (let row = 0; row < 64; row++) {
        for (let e = rowPtr[row] as number; e < (rowPtr[row + 1] as number); e++) {
          const c = col[e] as number;
          const k = Math.floor(c / 16) * 64 + row;
          const dense = dequantizeAffine(r.grid!.codes[row * 256 + c] as number, r.grid!.scale[k] as number, r.grid!.zero[k] as number);
          const want = Math.fround(dense + f16ToF32(value[e] as number));
          assert.equal(u.weight[row * 256 + (perm[c] as number)], want);
          assert.equal(r.weight[row * 256 + (perm[c] as number)], want);
        }
      }
    }
  }
  t.diagnostic(`τ ∞/2/0.5/0.2/0.05 → outliers ${counts.join('/')} of 16384, relative error ${errors.map((e) => e.toExponential(2)).join('/')}`);
  assert.equal(counts[0], 0);
  for (let i = 1; i < counts.length; i++) assert.ok((counts[i] as number) > (counts[i - 1] as number), `τ step ${i}: ${counts.join(', ')}`);
  for (let i = 1; i < errors.length; i++) assert.ok((errors[i] as number) < (errors[i - 1] as number));
});

test('spqr: Ŵ = unpack(pack(result)) bit for bit on odd shapes; stats are exact fp16; codes re-quantize', () => {
  for (const [out, inn, opts] of [
    [37, 100, {}],
    [37, 100, { permutation: 'identity' as const, bits: 4 }],
    [37, 130, { outlierThreshold: Infinity, bits: 2 }],
    [20, 48, { groupSize: 8, qqGroup: 6, qqBits: 2, outlierThreshold: 0.05, percdamp: 1 }],
  ] as const) {
    const { W, stats } = layer(out, inn, out * inn);
    const r = spqr(W, stats, opts);
    const u = FORMATS.spqr.unpack(FORMATS.spqr.pack(r));
    assert.ok(bitsEqual(u.weight, r.weight), `[${out}, ${inn}] ${JSON.stringify(opts)}`);
    assert.deepEqual(u.codes, r.grid!.codes);
    const b = r.bilevel!;
    for (const v of [...b.scaleStats, ...b.zeroStats]) assert.equal(f16ToF32(f32ToF16(v)), v);
    assert.ok(b.scaleCodes.every((q) => q < 2 ** b.bits) && b.zeroCodes.every((q) => q < 2 ** b.bits));
    const { codes, scale, zero, groupSize, perm, bits } = r.grid!;
    const isOutlier = new Set<number>();
    const { rowPtr, col } = r.outliers!;
    for (let row = 0; row < out; row++) for (let e = rowPtr[row] as number; e < (rowPtr[row + 1] as number); e++) isOutlier.add(row * inn + (col[e] as number));
    for (let row = 0; row < out; row++) {
      for (let c = 0; c < inn; c++) {
        if (isOutlier.has(row * inn + c)) continue;
        const k = Math.floor(c / groupSize) * out + row;
        const w = r.weight[row * inn + (perm === null ? c : (perm[c] as number))] as number;
        assert.equal(quantizeAffine(w, scale[k] as number, zero[k] as number, 2 ** bits - 1), codes[row * inn + c]);
      }
    }
  }
});

test('spqr: blockSize does not change the result; beats 3-bit GPTQ g128 on the same H', (t) => {
  const { W, stats } = layer(48, 160, 5);
  const a = spqr(W, stats, { blockSize: 128 });
  for (const blockSize of [7, 16, 1000]) assert.ok(bitsEqual(spqr(W, stats, { blockSize }).weight, a.weight), `blockSize ${blockSize}`);
  const g = gptq(W, stats, { bits: 3, groupSize: 128, actOrder: true });
  const plain = spqr(W, stats, { outlierThreshold: Infinity });
  t.diagnostic(`relative error: gptq 3-bit g128 act-order ${g.error?.relative.toExponential(3)} (${g.avgBits.toFixed(3)} bits), spqr τ=∞ ${plain.error?.relative.toExponential(3)} (${plain.avgBits} bits), spqr τ=0.2 ${a.error?.relative.toExponential(3)} (${a.avgBits.toFixed(3)} bits)`);
  assert.ok((plain.error?.proxy as number) < (g.error?.proxy as number));
  assert.ok((a.error?.proxy as number) < (plain.error?.proxy as number));
});

test('spqr: config is checked', () => {
  const { W, stats } = layer(8, 16, 3);
  assert.throws(() => spqr(W, stats, { qqBits: 1 }), /spqr qqBits must be 2–8/);
  assert.throws(() => spqr(W, stats, { outlierThreshold: -1 }), /outlierThreshold must be ≥ 0/);
  assert.throws(() => spqr(W, stats, { groupsize: 16 } as never), /unknown config option 'groupsize'/);
});
