import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FORMATS } from '../src/formats/index.js';
import { dequantizeUniform, fitUniform, maxCode, quantizeUniform, UNIFORM_GRID_DEFAULTS } from '../src/formats/grids/uniform.js';
import { layerError } from '../src/quant/layer.js';
import { NotPositiveDefiniteError } from '../src/quant/linalg.js';
import { quantizeLayer as gptq } from '../src/quant/methods/gptq.js';
import { quantizeLayer as rtn } from '../src/quant/methods/rtn.js';
import type { GptqConfig, QuantResult } from '../src/quant/types.js';
import { f32Bits } from '../src/tensor/dtype.js';
import { tensor } from '../src/tensor/tensor.js';
import { gaussian, mulberry32, randomWeight, syntheticLayer } from '../tools/parity/synthetic.js';

const rtnOpts = (c: Partial<GptqConfig>) => ({ bits: c.bits, groupSize: c.groupSize, sym: c.sym, clip: c.clip });
const bitsEqual = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => f32Bits(x) === f32Bits(b[i] as number));

function layer(out: number, inn: number, seed: number, dead = 0) {
  const L = syntheticLayer(out, inn, { seed, dead });
  return { W: tensor('f32', [out, inn], L.W), stats: { H: L.H, nSamples: L.nSamples } };
}

/** Ŵ = unpack(pack(r)) bit for bit, the unpacked codes are r's, and re-quantizing Ŵ gives the same codes. */
function checkInvariants(r: QuantResult): void {
  assert.ok(r.format !== null && r.grid !== null);
  const u = FORMATS[r.format].unpack(FORMATS[r.format].pack(r));
  assert.ok(bitsEqual(u.weight, r.weight), `${r.format}: unpack(pack(Ŵ)) differs`);
  assert.deepEqual(u.codes, r.grid.codes);
  const { codes, scale, zero, groupSize, perm, bits } = r.grid;
  for (let row = 0; row < r.out; row++) {
    for (let c = 0; c < r.in; c++) {
      const k = Math.floor(c / groupSize) * r.out + row;
      const w = r.weight[row * r.in + (perm === null ? c : (perm[c] as number))] as number;
      assert.equal(quantizeUniform(w, scale[k] as number, zero[k] as number, maxCode(bits)), codes[row * r.in + c]);
    }
  }
}

/** Textbook OBQ/GPTQ without Cholesky or blocks: explicit H⁻¹, removing each column after it is quantized. */
function naiveGptq(W: Float32Array, H: Float64Array, out: number, n: number, cfg: GptqConfig): Float32Array {
  const perChannel = cfg.groupSize === 0;
  const g = perChannel ? n : cfg.groupSize;
  const w = Float64Array.from(W);
  const params = perChannel ? Array.from({ length: out }, (_, r) => fitUniform(W.subarray(r * n, (r + 1) * n), cfg)) : [];
  const h = Float64Array.from(H);
  for (let i = 0; i < n; i++) {
    if (h[i * n + i] !== 0) continue;
    h[i * n + i] = 1;
    for (let r = 0; r < out; r++) w[r * n + i] = 0;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  if (cfg.actOrder) order.sort((a, b) => (h[b * n + b] as number) - (h[a * n + a] as number) || a - b);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (h[i * n + i] as number) / n;
  for (let i = 0; i < n; i++) h[i * n + i] = (h[i * n + i] as number) + cfg.percdamp * mean;
  const A = new Float64Array(n * 2 * n); // Gauss–Jordan [H | I] → [I | H⁻¹]
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) [A[i * 2 * n + j], A[i * 2 * n + n + j]] = [h[i * n + j] as number, i === j ? 1 : 0];
  for (let p = 0; p < n; p++) {
    const piv = A[p * 2 * n + p] as number;
    for (let j = 0; j < 2 * n; j++) A[p * 2 * n + j] = (A[p * 2 * n + j] as number) / piv;
    for (let i = 0; i < n; i++) {
      if (i === p) continue;
      const f = A[i * 2 * n + p] as number;
      for (let j = 0; j < 2 * n; j++) A[i * 2 * n + j] = (A[i * 2 * n + j] as number) - f * (A[p * 2 * n + j] as number);
    }
  }
  const Hinv = Float64Array.from({ length: n * n }, (_, k) => A[Math.floor(k / n) * 2 * n + n + (k % n)] as number);
  const What = new Float32Array(out * n);
  for (let t = 0; t < n; t++) {
    const j = order[t] as number;
    if (!perChannel && t % g === 0) {
      for (let r = 0; r < out; r++) params[r] = fitUniform(order.slice(t, t + g).map((c) => w[r * n + c] as number), cfg);
    }
    for (let r = 0; r < out; r++) {
      const p = params[r]!;
      const x = w[r * n + j] as number;
      const xh = dequantizeUniform(quantizeUniform(x, p.scale, p.zero, maxCode(cfg.bits)), p.scale, p.zero);
      What[r * n + j] = xh;
      const e = (x - xh) / (Hinv[j * n + j] as number); // OBS: δw_F = −e · H⁻¹[j, F]
      for (const k of order.slice(t + 1)) w[r * n + k] = (w[r * n + k] as number) - e * (Hinv[j * n + k] as number);
    }
    const hjj = Hinv[j * n + j] as number; // drop j: H⁻¹ ← H⁻¹ − H⁻¹[:, j] H⁻¹[j, :] / H⁻¹[j, j]
    const col = Float64Array.from({ length: n }, (_, a) => Hinv[a * n + j] as number);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) Hinv[a * n + b] = (Hinv[a * n + b] as number) - ((col[a] as number) * (col[b] as number)) / hjj;
  }
  return What;
}

test('gptq with H = I is exactly RTN (no error to propagate)', () => {
  const out = 24;
  const n = 96;
  const W = tensor('f32', [out, n], randomWeight(out, n, 1));
  const H = Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
  for (const cfg of [{ groupSize: 32 }, { groupSize: 0 }, { groupSize: 128, bits: 2 }, { groupSize: 32, actOrder: true, clip: 'mse' as const }, { groupSize: 16, bits: 3, sym: true }]) {
    const a = gptq(W, { H, nSamples: 1 }, cfg);
    const b = rtn(W, { H, nSamples: 1 }, rtnOpts(cfg));
    assert.ok(bitsEqual(a.weight, b.weight), JSON.stringify(cfg));
    assert.deepEqual(a.grid?.codes, b.grid?.codes);
    assert.equal(a.error?.proxy, b.error?.proxy);
  }
});

test('gptq equals a brute-force OBQ reference (explicit H⁻¹, no Cholesky, no blocks) for every block size', () => {
  const out = 12;
  const n = 40;
  const { W, stats } = layer(out, n, 4, 2);
  const H = stats.H as Float64Array;
  for (const over of [{ groupSize: 8 }, { groupSize: 0, actOrder: true }, { groupSize: 8, actOrder: true, bits: 2 }, { groupSize: 12, bits: 3 }]) {
    const cfg: GptqConfig = { ...UNIFORM_GRID_DEFAULTS, percdamp: 0.01, blockSize: 128, actOrder: false, staticGroups: false, ...over };
    const want = naiveGptq(W.data, H, out, n, cfg);
    for (const blockSize of [1, 5, 16, 128]) {
      const got = gptq(W, stats, { ...over, blockSize });
      assert.ok(bitsEqual(got.weight, want), `${JSON.stringify(over)} blockSize ${blockSize}`);
    }
  }
});

test('gptq layer error ≤ rtn on correlated H: shapes, 2/3/4 bits, g128/per-channel, act-order, static groups', (t) => {
  const shapes: [number, number][] = [[32, 64], [37, 100], [48, 130], [64, 256]];
  const variants: Partial<GptqConfig>[] = [{ groupSize: 128 }, { groupSize: 0 }, { groupSize: 128, actOrder: true }, { groupSize: 0, actOrder: true }, { groupSize: 32, actOrder: true, staticGroups: true }];
  const ratios: Record<string, number[]> = {};
  shapes.forEach(([out, n], s) => {
    const { W, stats } = layer(out, n, 10 + s);
    for (const bits of [2, 3, 4]) {
      for (const v of variants) {
        const g = gptq(W, stats, { ...v, bits });
        const r = rtn(W, stats, rtnOpts({ ...v, bits }));
        const ratio = (g.error?.proxy as number) / (r.error?.proxy as number);
        assert.ok(ratio <= 1, `[${out}, ${n}] ${bits}-bit ${JSON.stringify(v)}: gptq/rtn = ${ratio}`);
        (ratios[`${bits}-bit ${JSON.stringify(v)}`] ??= []).push(ratio);
      }
    }
  });
  for (const [k, v] of Object.entries(ratios)) t.diagnostic(`gptq/rtn proxy error ${k}: ${v.map((x) => x.toFixed(3)).join(' ')}`);
});

test('gptq and rtn: Ŵ = unpack(pack(result)) bit for bit on odd shapes, every int format', () => {
  const cases: [number, number, Partial<GptqConfig>][] = [
    [37, 100, { groupSize: 32 }],
    [37, 130, { groupSize: 128 }],
    [37, 100, { groupSize: 0 }],
    [37, 100, { groupSize: 32, actOrder: true }],
    [37, 130, { groupSize: 128, actOrder: true, staticGroups: true }],
    [37, 100, { groupSize: 0, actOrder: true, clip: 'mse' }],
    [5, 33, { groupSize: 7, sym: true }],
  ];
  for (const [out, n, cfg] of cases) {
    const { W, stats } = layer(out, n, out + n);
    for (const bits of [2, 3, 4, 8]) {
      const g = gptq(W, stats, { ...cfg, bits });
      assert.equal(g.format, `int${bits}`);
      assert.equal(g.grid?.perm !== null, cfg.actOrder === true && cfg.staticGroups !== true && cfg.groupSize !== 0, 'perm only when groups are over permuted columns');
      checkInvariants(g);
      checkInvariants(rtn(W, stats, rtnOpts({ ...cfg, bits })));
    }
  }
});

test('int formats: packed bytes give exactly the reported avgBits', () => {
  const { W, stats } = layer(64, 256, 3);
  for (const [bits, groupSize, actOrder, want] of [[4, 128, false, 4 + 20 / 128], [3, 128, false, 3 + 19 / 128], [2, 32, true, 2 + 18 / 32 + 16 / 64], [8, 0, false, 8 + 24 / 256]] as const) {
    const r = gptq(W, stats, { bits, groupSize, actOrder });
    const p = FORMATS[r.format!].pack(r);
    const bytes = Object.values(p.arrays).reduce((s, a) => s + a.length, 0);
    assert.equal(r.avgBits, want);
    assert.equal((bytes * 8) / (64 * 256), want, `int${bits} g${groupSize}`);
  }
});

test('gptq: dead inputs give zero columns; progress is reported; non-PD H throws', () => {
  const { W, stats } = layer(16, 50, 8, 5);
  const calls: number[] = [];
  const r = gptq(W, stats, { groupSize: 16, blockSize: 20, onProgress: (d, total) => calls.push(d, total) });
  const deadCols = Array.from({ length: 50 }, (_, i) => i).filter((i) => stats.H[i * 50 + i] === 0);
  assert.equal(deadCols.length, 5);
  for (const c of deadCols) for (let row = 0; row < 16; row++) assert.equal(r.weight[row * 50 + c], 0);
  assert.deepEqual(calls, [16, 50, 32, 50, 50, 50]); // blocks of 20 cut at group starts: [0,16) [16,32) [32,50)
  const bad = Float64Array.from(stats.H);
  bad[1] = bad[50] = 1e3; // |H_01| > sqrt(H_00·H_11)
  assert.throws(() => gptq(W, { H: bad, nSamples: 1 }, { percdamp: 0 }), NotPositiveDefiniteError);
  assert.throws(() => gptq(W, { H: new Float64Array(49), nSamples: 1 }), /H must be \[in, in\] = \[50, 50\] for W \[16, 50\]/);
  assert.throws(() => gptq(W, stats, { bits: 9 }), /grid bits must be 2–8/);
});

test('layer error: proxy = (2/n)‖(W − Ŵ)X‖², relative = ‖(W − Ŵ)X‖² / ‖WX‖²', () => {
  const [out, n, m] = [6, 10, 30];
  const g = gaussian(mulberry32(9));
  const X = Float64Array.from({ length: n * m }, g); // [in, m]
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let s = 0; s < m; s++) H[i * n + j] = (H[i * n + j] as number) + ((2 / m) * (X[i * m + s] as number) * (X[j * m + s] as number));
  const W = Float32Array.from({ length: out * n }, g);
  const What = W.map((x) => Math.round(x * 4) / 4);
  let dd = 0;
  let ww = 0;
  for (let r = 0; r < out; r++) {
    for (let s = 0; s < m; s++) {
      let y = 0;
      let dy = 0;
      for (let i = 0; i < n; i++) [y, dy] = [y + (W[r * n + i] as number) * (X[i * m + s] as number), dy + ((W[r * n + i] as number) - (What[r * n + i] as number)) * (X[i * m + s] as number)];
      dd += dy * dy;
      ww += y * y;
    }
  }
  const e = layerError(W, What, H, out, n);
  assert.ok(Math.abs(e.proxy - (2 / m) * dd) < 1e-9 * dd);
  assert.ok(Math.abs(e.relative - dd / ww) < 1e-12);
});
