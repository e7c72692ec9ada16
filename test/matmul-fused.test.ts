/**
 * matmul's folded neighbours (MatmulOptions: RMSNorm or SwiGLU input, residual
 * add, column offset) and record/replay.
 * - The CPU reference equals the separate ops it stands for, bit for bit (the SwiGLU output `glu`
 *   too: silu(y[:, :F])·y[:, F:] of the plain product).
 * - WebGPU equals the CPU reference (nMSE ≤ 1e-10, CONVENTIONS §3) on dense f32/bf16/f16
 *   weights at T = 1 (one fused gemv1 dispatch), T = 3 (gemv) and T = 20 (gemm), aligned and
 *   odd K, and on packed int2/3/4/8 and SpQR weights (with and without act-order; T = 1 on unpermuted
 *   codes is one fused qgemv1 dispatch, SpQR's sub-chunk groups and CSR outliers included).
 * - A replayed recording equals running its ops again.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Backend, MatmulOptions, Tensor } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { DEFAULT_MATMUL, gemv1Tiles } from '../src/backend/webgpu/kernels/matmul.js';
import { outlierRounds, qgemv1Serves, qgemv1SharesBlocks } from '../src/backend/webgpu/kernels/qmatmul.js';
import * as ops from '../src/backend/cpu/ops.js';
import { randomPacked } from '../src/formats/random.js';
import type { PackedTensor } from '../src/formats/types.js';
import { f16ToF32, f32ToF16 } from '../src/tensor/dtype.js';
import { tensor } from '../src/tensor/tensor.js';
import { assertNmse, nmse, rand, tryWebGpu, weight, type WeightDType } from './webgpu-helpers.js';

type Opt = 'norm' | 'gated' | 'glu' | 'acc' | 'col0' | 'bias';
const OPTION_SETS: Opt[][] = [['norm'], ['gated'], ['acc', 'col0'], ['norm', 'acc'], ['gated', 'acc', 'bias'], ['norm', 'col0', 'bias'], ['norm', 'glu'], ['glu', 'acc', 'col0', 'bias']];

interface Inputs {
  readonly T: number;
  readonly K: number;
  readonly M: number;
  readonly N: number;
  readonly x: Float32Array; // [T, K] or [T, 2K] (gated)
  readonly nw: Float32Array;
  readonly bias: Float32Array;
  readonly out0: Float32Array; // out's prior contents [T, N]
  readonly col0: number;
}

/** `M` rows of W (made even for glu, whose result is M/2 wide). */
function inputs(T: number, K: number, M0: number, set: Opt[], seed: number): Inputs {
  const M = set.includes('glu') ? M0 + (M0 % 2) : M0;
  const col0 = set.includes('col0') ? 5 : 0;
  const N = (set.includes('glu') ? M / 2 : M) + (set.includes('col0') ? 9 : 0);
  return {
    T,
    K,
    M,
    N,
    col0,
    x: rand(T * K * (set.includes('gated') ? 2 : 1), seed, -2, 2),
    nw: rand(K, seed + 1, 0.5, 1.5),
    bias: rand(M, seed + 2),
    out0: rand(T * N, seed + 3),
  };
}

/** matmul's tensors and options for the option set, uploaded to a backend. */
function upload(b: Backend, inp: Inputs, set: Opt[]): { x: Tensor; out: Tensor; bias: Tensor | undefined; o: MatmulOptions } {
  const { T, K, M, N } = inp;
  const x = b.upload(tensor('f32', [T, set.includes('gated') ? 2 * K : K], inp.x));
  const out = b.upload(tensor('f32', [T, N], inp.out0));
  const o: MatmulOptions = {
    ...(set.includes('norm') && { norm: { weight: b.upload(tensor('f32', [K], inp.nw)), eps: 1e-5 } }),
    ...(set.includes('gated') && { gated: true }),
    ...(set.includes('glu') && { glu: true }),
    ...(set.includes('acc') && { accumulate: true }),
    ...(set.includes('col0') && { col0: inp.col0 }),
  };
  return { x, out, bias: set.includes('bias') ? b.upload(tensor('f32', [M], inp.bias)) : undefined, o };
}

/** Runs matmul with the option set on a backend; returns out [T, N]. */
async function run(b: Backend, w: Tensor, inp: Inputs, set: Opt[]): Promise<Float32Array> {
  const { x, out, bias, o } = upload(b, inp, set);
  b.matmul(out, x, w, bias, o);
  return (await b.read(out)).data as Float32Array;
}

/** The same through separate reference ops. */
function separate(inp: Inputs, W: Float32Array, set: Opt[]): Float32Array {
  const { T, K, M, N } = inp;
  let xin = inp.x;
  if (set.includes('norm')) {
    xin = new Float32Array(T * K);
    ops.rmsnorm(xin, inp.x, inp.nw, T, K, 1e-5);
  } else if (set.includes('gated')) {
    xin = new Float32Array(T * K);
    for (let t = 0; t < T; t++) ops.siluMul(xin.subarray(t * K, (t + 1) * K), inp.x.subarray(2 * t * K, (2 * t + 1) * K), inp.x.subarray((2 * t + 1) * K, (2 * t + 2) * K));
  }
  let y = new Float32Array(T * M);
  ops.matmul(y, xin, W, T, K, M, set.includes('bias') ? inp.bias : undefined);
  let width = M;
  if (set.includes('glu')) {
    width = M / 2;
    const h = new Float32Array(T * width);
    for (let t = 0; t < T; t++) ops.siluMul(h.subarray(t * width, (t + 1) * width), y.subarray(t * M, t * M + width), y.subarray(t * M + width, (t + 1) * M));
    y = h;
  }
  const out = inp.out0.slice();
  for (let t = 0; t < T; t++) {
    for (let m = 0; m < width; m++) {
      const i = t * N + inp.col0 + m;
      out[i] = set.includes('acc') ? (out[i] as number) + (y[t * width + m] as number) : (y[t * width + m] as number);
    }
  }
  return out;
}

const cpu = new CpuBackend();

test('CPU matmul options equal the separate ops bit for bit (norm, gated, +=, col0, bias)', async () => {
  let seed = 1;
  for (const [T, K, M] of [[1, 64, 40], [4, 67, 33]] as const) {
    for (const set of OPTION_SETS) {
      const inp = inputs(T, K, M, set, seed++);
      const W = rand(inp.M * K, seed++);
      const got = await run(cpu, cpu.upload(tensor('f32', [inp.M, K], W)), inp, set);
      assert.deepEqual(got, separate(inp, W, set), `T=${T} K=${K} M=${M} ${set.join('+')}`);
    }
  }
});

test('gemv1 tiles: TPR doubles (threads per workgroup kept) while the rows leave too few threads', () => {
  const t = { ...DEFAULT_MATMUL, gemv: { RW: 4, TPR: 32, UNROLL: 4, RT: 2 }, gemv1MinThreads: 1 << 18 };
  assert.deepEqual(gemv1Tiles(22016, 4096, t), { RW: 4, TPR: 32, UNROLL: 4, RT: 2 }); // 11008 groups × 32 ≥ 2¹⁸
  assert.deepEqual(gemv1Tiles(12288, 4096, t), { RW: 2, TPR: 64, UNROLL: 4, RT: 2 });
  assert.deepEqual(gemv1Tiles(4096, 11008, t), { RW: 1, TPR: 128, UNROLL: 4, RT: 2 }); // capped at RW·TPR = 128
  assert.deepEqual(gemv1Tiles(50, 64, t), { RW: 4, TPR: 32, UNROLL: 4, RT: 2 }); // K = 64 has 8 steps of 8: no more lanes
  assert.deepEqual(gemv1Tiles(4096, 11008, { ...t, gemv1MinThreads: 0 }), t.gemv);
});

test('matmul options: bad shapes are one clear error', () => {
  const w = cpu.upload(tensor('f32', [8, 16], rand(128, 1)));
  const x = cpu.empty('f32', [1, 16]);
  assert.throws(() => cpu.matmul(cpu.empty('f32', [1, 8]), x, w, undefined, { gated: true }), /gated: x holds gate and up, 2K columns/);
  assert.throws(() => cpu.matmul(cpu.empty('f32', [1, 10]), x, w, undefined, { col0: 3 }), /must be \[1, ≥ 11\] \(col0 3\)/);
  assert.throws(() => cpu.matmul(cpu.empty('f32', [1, 8]), x, w, undefined, { norm: { weight: cpu.empty('f32', [8]), eps: 1e-5 } }), /norm weight \[8\] must be \[16\]/);
  assert.throws(() => cpu.matmul(cpu.empty('f32', [1, 8]), x, w, undefined, { glu: true }), /out \[1, 8\] must be \[1, 4\]/);
  const w7 = cpu.upload(tensor('f32', [7, 16], rand(112, 1)));
  assert.throws(() => cpu.matmul(cpu.empty('f32', [1, 3]), x, w7, undefined, { glu: true }), /glu: w \[7, 16\] must have an even number of rows/);
});

test('matmul normOut / norm.prepared: bad shapes are one clear error', () => {
  const w = cpu.upload(tensor('f32', [8, 16], rand(128, 1)));
  const x = cpu.empty('f32', [1, 16]);
  const out = cpu.empty('f32', [1, 8]);
  const nw8 = cpu.empty('f32', [8]);
  assert.throws(() => cpu.matmul(out, x, w, undefined, { normOut: { weight: nw8, into: cpu.empty('f32', [1, 8]) } }), /normOut.into f32\[1, 8\] must be f32 \[1, 16\]/);
  assert.throws(() => cpu.matmul(out, x, w, undefined, { normOut: { weight: cpu.empty('f32', [16]), into: cpu.empty('f32', [1, 16]) } }), /normOut weight \[16\] must be \[8\]/);
  assert.throws(() => cpu.matmul(out, x, w, undefined, { norm: { weight: cpu.empty('f32', [16]), eps: 1e-5 }, normOut: { weight: nw8, into: cpu.empty('f32', [1, 16]) } }), /normOut needs col0 0 and no glu or norm/);
  assert.throws(() => cpu.matmul(out, x, w, undefined, { norm: { weight: cpu.empty('f32', [16]), eps: 1e-5, prepared: cpu.empty('f32', [1, 16]) } }), /norm.prepared f32\[1, 16\] must be f32 \[1, 32\]/);
});

const { b: gpu, skip } = await tryWebGpu();

describe('matmul options on WebGPU vs the CPU reference', { skip }, () => {
  after(() => gpu?.dispose());
  const DTYPES: WeightDType[] = ['f32', 'bf16', 'f16'];
  // T = 1: gemv1 (aligned K and odd K); T = 3: gemv; T = 20: gemm
  const SHAPES: [number, number, number][] = [[1, 256, 70], [1, 67, 45], [3, 128, 50], [20, 72, 33]];
  for (const dt of DTYPES) {
    test(`dense ${dt} weights, every option set, T = 1, 3, 20`, async () => {
      const b = gpu as Backend;
      let seed = 100;
      for (const [T, K, M] of SHAPES) {
        for (const set of OPTION_SETS) {
          const inp = inputs(T, K, M, set, seed++);
          const w = weight(dt, [inp.M, K], rand(inp.M * K, seed++));
          const ref = await run(cpu, cpu.upload(tensor('f32', [inp.M, K], w.exact)), inp, set);
          const got = await run(b, b.upload(w.host), inp, set);
          assertNmse(got, ref, `${dt} T=${T} K=${K} M=${M} ${set.join('+')}`);
        }
      }
    });
  }

  // gemv1 with several rows per thread group (RT; 3 leaves dead rows in the last group), and with
  // the norm / SwiGLU input run as its own kernel (fuseInputMaxBytes 0: rmsnorm1 / silu_mul, its sum reduced by
  // subgroups and through workgroup memory) before a plain gemv1
  const GEMV1_TUNINGS = [
    { gemv: { RW: 2, TPR: 32, UNROLL: 2, RT: 3 }, gemv1MinThreads: 0 },
    { gemv: { RW: 4, TPR: 16, UNROLL: 3, RT: 4 }, gemv1MinThreads: 0, subgroups: false },
    { gemv: { RW: 8, TPR: 32, UNROLL: 4, RT: 2 }, gemv1MinThreads: 0, fuseInputMaxBytes: 0 },
    { gemv: { RW: 8, TPR: 8, UNROLL: 2, RT: 1 }, gemv1MinThreads: 1 << 20, subgroups: false },
    { gemv: { RW: 4, TPR: 32, UNROLL: 4, RT: 2 }, gemv1MinThreads: 0, fuseInputMaxBytes: 0, subgroups: false },
  ] as const;
  for (const v of GEMV1_TUNINGS) {
    test(`T = 1 bf16, every option set, tuning ${JSON.stringify(v)}`, async () => {
      const { subgroups, ...matmul } = { subgroups: true, ...v };
      const { b } = await tryWebGpu({ matmul, subgroups });
      assert.ok(b);
      let seed = 300;
      // K = 4352: the separate T = 1 norm (rmsnorm1.wgsl) runs its four-loads-in-flight loop and a tail
      for (const [K, M] of [[256, 70], [67, 45], [1024, 13], [4352, 9]] as const) {
        for (const set of OPTION_SETS) {
          const inp = inputs(1, K, M, set, seed++);
          const w = weight('bf16', [inp.M, K], rand(inp.M * K, seed++));
          const ref = await run(cpu, cpu.upload(tensor('f32', [inp.M, K], w.exact)), inp, set);
          assertNmse(await run(b, b.upload(w.host), inp, set), ref, `K=${K} M=${M} ${set.join('+')}`);
        }
      }
      b.dispose();
    });
  }

  const packedCases: [string, () => PackedTensor][] = [
    ['int4 g32', () => randomPacked('int4', [48, 96], { groupSize: 32, permuted: 0 }, 7)],
    ['int3 g32 act-order', () => randomPacked('int3', [40, 96], { groupSize: 32, permuted: 1 }, 8)],
    ['int3 g64 (the generic-bits qgemv1 path)', () => randomPacked('int3', [37, 128], { groupSize: 64, permuted: 0 }, 10)],
    ['spqr w3 β16', () => randomPacked('spqr', [48, 128], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, 9, { outlierRate: 0.05 })],
  ];
  for (const [name, make] of packedCases) {
    test(`packed ${name}, every option set, T = 1 and 20`, async () => {
      const b = gpu as Backend;
      const p = make();
      const [M, K] = p.shape;
      let seed = 300;
      for (const T of [1, 20]) {
        for (const set of OPTION_SETS) {
          if (set.includes('glu') && M % 2 === 1) continue; // glu needs gate | up: an even row count (this packed shape has none)
          const inp = inputs(T, K, M, set, seed++);
          const ref = await run(cpu, cpu.uploadPacked(p), inp, set);
          const got = await run(b, b.uploadPacked(p), inp, set);
          assertNmse(got, ref, `${name} T=${T} ${set.join('+')}`);
        }
      }
    });
  }

  // qgemv1 with several chunks per step (CU): 37 chunks over 8 lanes × 3 leaves lanes short, R = 3 leaves dead rows
  test('packed int4 / int3, qgemv1 tiles R 3 × TPR 8 × RG 2 × CU 3, every option set, T = 1', async () => {
    const { b } = await tryWebGpu({ packed: { int1: { R: 3, TPR: 8, RG: 2, CU: 3 } } });
    assert.ok(b);
    let seed = 500;
    for (const p of [randomPacked('int4', [37, 1184], { groupSize: 64, permuted: 0 }, 11), randomPacked('int3', [38, 1184], { groupSize: 32, permuted: 0 }, 12)]) {
      const [M, K] = p.shape as [number, number];
      for (const set of OPTION_SETS) {
        if (set.includes('glu') && M % 2 === 1) continue; // glu needs gate | up: an even row count
        const inp = inputs(1, K, M, set, seed++);
        const ref = await run(cpu, cpu.uploadPacked(p), inp, set);
        assertNmse(await run(b, b.uploadPacked(p), inp, set), ref, `${p.format} ${set.join('+')}`);
      }
    }
    b.dispose();
  });

  // qgemv1 units of CU consecutive chunks with the group statistics read once per unit (HOIST: CU divides
  // the chunks per group, or one group spans the row) and per chunk (CU 4 over groups of 2 chunks); every
  // bit width's code-to-float path (2, 3, 4, 8 bits); 37 / 39 chunks leave a short last unit
  for (const CU of [2, 4]) {
    test(`packed int2/3/4/8, qgemv1 units of CU ${CU} chunks, statistics per unit and per chunk, T = 1`, async () => {
      // int2/4/8 run qgemv1_ilv: 37 / 39 chunks over 8 lanes × UN 2 (R 3: dead rows) or × UN 3 leave lanes short
      const ilv1 = CU === 2 ? { R: 3, TPR: 8, RG: 2, UN: 2 } : { R: 2, TPR: 8, RG: 2, UN: 3 };
      const { b } = await tryWebGpu({ packed: { int1: { R: 2, TPR: 8, RG: 2, CU }, ilv1 } });
      assert.ok(b);
      let seed = 700 + CU;
      const cases = [
        randomPacked('int4', [34, 1184], { groupSize: 128, permuted: 0 }, 13),
        randomPacked('int2', [21, 1248], { groupSize: 64, permuted: 0 }, 14),
        randomPacked('int8', [18, 1184], { groupSize: 1184, permuted: 0 }, 15),
        randomPacked('int3', [20, 1248], { groupSize: 128, permuted: 0 }, 16),
      ];
      for (const p of cases) {
        const [M, K] = p.shape as [number, number];
        for (const set of OPTION_SETS) {
          if (set.includes('glu') && M % 2 === 1) continue; // glu needs gate | up: an even row count
          const inp = inputs(1, K, M, set, seed++);
          const ref = await run(cpu, cpu.uploadPacked(p), inp, set);
          assertNmse(await run(b, b.uploadPacked(p), inp, set), ref, `CU ${CU} ${p.format} g${p.params.groupSize as number} ${set.join('+')}`);
        }
      }
      b.dispose();
    });
  }

  // qgemv1 on SpQR with R dividing β2: a thread group's R rows (and with GLU its R up rows, when β2 divides the
  // outputs) load their block's second-level statistics once (SHARE2); 38 rows leave dead rows, GLU over 19 or
  // 32 outputs shares the up rows' block or does not; β2 8 and 16, β1 16 and 32
  test('packed SpQR, qgemv1 R 4 rows sharing their β2 block\'s second-level statistics, T = 1', async () => {
    const { b } = await tryWebGpu({ packed: { int1: { R: 4, TPR: 8, RG: 2, CU: 2 } } });
    assert.ok(b);
    let seed = 1400;
    const spqr = (M: number, g: number, qqGroup: number, s: number): PackedTensor =>
      randomPacked('spqr', [M, 1184], { bits: 3, groupSize: g, qqBits: 3, qqGroup, permuted: 0 }, s, { outlierRate: 0.05 });
    for (const p of [spqr(38, 16, 16, 45), spqr(64, 16, 16, 46), spqr(64, 32, 8, 47)]) {
      const [M, K] = p.shape as [number, number];
      // ~59 outliers in 4 of 5 rows: a lane holds OUT_R = 4 rounds (32 entries a row at TPR 8), the rest of a
      // row come from global memory
      assert.equal(outlierRounds({ ...p, M }, 8), 4);
      const rowPtr = new DataView((p.arrays.outlierRowPtr as Uint8Array).slice().buffer);
      const most = Math.max(...Array.from({ length: M }, (_, r) => rowPtr.getUint32(4 * r + 4, true) - rowPtr.getUint32(4 * r, true)));
      assert.ok(most > 32, `most outliers in a row: ${most}`);
      for (const set of [['norm', 'acc'], ['gated', 'acc', 'col0', 'bias'], ['norm', 'glu']] as Opt[][]) {
        const glu = set.includes('glu');
        if (glu && M % 2 === 1) continue;
        assert.equal(qgemv1SharesBlocks(p.format, p.params, 4, glu ? M / 2 : M, glu), !glu || (M / 2) % (p.params.qqGroup as number) === 0);
        const inp = inputs(1, K, M, set, seed++);
        assertNmse(await run(b, b.uploadPacked(p), inp, set), await run(cpu, cpu.uploadPacked(p), inp, set), `SHARE2 SpQR M ${M} β1 ${p.params.groupSize as number} β2 ${p.params.qqGroup as number} ${set.join('+')}`);
      }
    }
    assert.ok(!qgemv1SharesBlocks('spqr', { qqGroup: 16 }, 3, 64, false), 'R 3 does not divide β2 16');
    b.dispose();
  });

  // WebGpuBackend.setPackedTuning (how the benches compare tilings on one uploaded model): ops issued
  // after it run the new tilings on weights uploaded before it, and a tiling qgemv1 refuses is refused
  test('setPackedTuning: later ops run the new T = 1 tilings on weights uploaded before', async () => {
    const { b } = await tryWebGpu({ packed: { int1: { R: 2, TPR: 8, RG: 2, CU: 2 }, ilv1: { R: 3, TPR: 8, RG: 2, UN: 2 } } });
    assert.ok(b);
    const cases = [randomPacked('int4', [34, 1184], { groupSize: 128, permuted: 0 }, 21), randomPacked('int3', [20, 1248], { groupSize: 128, permuted: 0 }, 22)];
    const ws = cases.map((p) => b.uploadPacked(p));
    const set: Opt[] = ['norm', 'acc'];
    const later = { int1: { R: 3, TPR: 8, RG: 1, CU: 1 }, ilv1: { R: 2, TPR: 16, RG: 1, UN: 1 } };
    for (const tiles of [null, later]) {
      if (tiles) b.setPackedTuning(tiles);
      for (const [i, p] of cases.entries()) {
        const [M, K] = p.shape as [number, number];
        const inp = inputs(1, K, M, set, 900 + i);
        assertNmse(await run(b, ws[i] as Tensor, inp, set), await run(cpu, cpu.uploadPacked(p), inp, set), `${p.format} ${tiles ? 'after' : 'before'} setPackedTuning`);
      }
    }
    assert.deepEqual(b.packedTuning.ilv1, later.ilv1);
    assert.deepEqual(b.packedTuning.int1, later.int1);
    // qgemv1's input tile may take the device's workgroup memory: 64 · 17 staged vec4s (17408 bytes, more than
    // WebGPU's default 16384) where the device allows it (lavapipe: 32768); 128 · 33 (67584) nowhere
    const [M, K] = cases[1]!.shape as [number, number];
    const inp = inputs(1, K, M, set, 910);
    const want = await run(cpu, cpu.uploadPacked(cases[1]!), inp, set);
    b.setPackedTuning({ int1: { R: 2, TPR: 64, RG: 1, CU: 2 } });
    if (b.ctx.device.limits.maxComputeWorkgroupStorageSize >= 17408 + 1024) assertNmse(await run(b, ws[1] as Tensor, inp, set), want, 'TPR 64 × CU 2');
    else await assert.rejects(run(b, ws[1] as Tensor, inp, set), /qgemv1 tiles TPR 64 × CU 2/);
    b.setPackedTuning({ int1: { R: 2, TPR: 128, RG: 1, CU: 4 } });
    await assert.rejects(run(b, ws[1] as Tensor, inp, set), /qgemv1 tiles TPR 128 × CU 4 stage 67584 bytes of inputs, more than the \d+ the device's workgroup memory leaves/);
    b.dispose();
  });

  // the T = 1 packed GEMVs' row sums: without subgroups through workgroup memory (gemv_reduce_rows_shared), and
  // with subgroups of 8 (lavapipe) at TPR 16 and 32 (the partials of all NR rows in one barrier round); GLU makes
  // NR = 2R sums, ACC reads the residual when the kernel starts (prior_rows)
  for (const subgroups of [false, true]) {
    test(`packed int4 (qgemv1_ilv) and SpQR (qgemv1) at T = 1, row sums ${subgroups ? 'by subgroups, TPR 16 / 32' : 'without subgroups'}`, async () => {
      const { b } = await tryWebGpu({ subgroups, packed: { int1: { R: 3, TPR: 16, RG: 2, CU: 1 }, ilv1: { R: 3, TPR: 32, RG: 2, UN: 1 } } });
      assert.ok(b);
      const cases = [
        randomPacked('int4', [34, 1184], { groupSize: 128, permuted: 0 }, 51),
        randomPacked('spqr', [26, 1184], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, 52, { outlierRate: 0.05 }),
      ];
      let seed = 1500;
      for (const p of cases) {
        const [M, K] = p.shape as [number, number];
        for (const set of [['norm', 'acc', 'col0'], ['glu', 'acc', 'bias'], ['norm', 'glu']] as Opt[][]) {
          const inp = inputs(1, K, M, set, seed++);
          assertNmse(await run(b, b.uploadPacked(p), inp, set), await run(cpu, cpu.uploadPacked(p), inp, set), `${p.format} ${set.join('+')}`);
        }
      }
      b.dispose();
    });
  }

  // qgemv1 on SpQR: groups of 16 (two sub-groups of a chunk, each with its own bilevel statistics) and 32
  // (per chunk), CSR outliers in the same kernel (5 %: ~59 per row over 8 lanes, none in every 5th row; and
  // none at all), every option set; 37 chunks over 8 lanes × CU leave lanes short, R = 3 leaves dead rows.
  // Then, with two option sets each (every option set is its own pipeline, compiled in seconds by lavapipe):
  // groups of 8 (four sub-groups) and 64 (per unit at CU 2, HOIST), zeros shifted by ±200 (far outside the
  // codes: Ŵ of one sign), int codes in groups of 16 (the sub-group path too)
  const spqr1 = (M: number, g: number, bits: number, outlierRate: number, seed: number): PackedTensor =>
    randomPacked('spqr', [M, 1184], { bits, groupSize: g, qqBits: 3, qqGroup: 16, permuted: 0 }, seed, { outlierRate });
  /** The same tensor with every first-level zero moved by about `shift` (grid zero − shift / its scale). */
  function shiftZeros(p: PackedTensor, shift: number): PackedTensor {
    const zs = new Uint16Array((p.arrays.zeroStats as Uint8Array).slice().buffer);
    for (let i = 0; i < zs.length; i += 2) zs[i + 1] = f32ToF16(f16ToF32(zs[i + 1] as number) - shift / f16ToF32(zs[i] as number));
    return { ...p, arrays: { ...p.arrays, zeroStats: new Uint8Array(zs.buffer) } };
  }
  const FEW_SETS: Opt[][] = [['norm', 'acc'], ['gated', 'acc', 'col0', 'bias']];
  for (const CU of [2, 3]) {
    test(`packed SpQR β1 16/32 (+ 8/64, int g16), qgemv1 tiles R 3 × TPR 8 × RG 2 × CU ${CU}, outliers 5 % and none, T = 1`, async () => {
      const { b } = await tryWebGpu({ packed: { int1: { R: 3, TPR: 8, RG: 2, CU } } });
      assert.ok(b);
      let seed = 900 + 100 * CU;
      const cases: [string, PackedTensor, Opt[][]][] = [
        ['w3 β16 5 %', spqr1(38, 16, 3, 0.05, 21), OPTION_SETS],
        ['w3 β16 no outliers', spqr1(37, 16, 3, 0, 22), OPTION_SETS],
        ['w4 β32 5 %', spqr1(37, 32, 4, 0.05, 23), OPTION_SETS],
        ['w2 β32 no outliers', spqr1(38, 32, 2, 0, 24), OPTION_SETS],
      ];
      if (CU === 2) {
        cases.push(
          ['w3 β16 5 %, zeros +200', shiftZeros(spqr1(38, 16, 3, 0.05, 25), 200), FEW_SETS],
          ['w3 β16 5 %, zeros −200', shiftZeros(spqr1(37, 16, 3, 0.05, 26), -200), FEW_SETS],
          ['w4 β64 5 %', spqr1(38, 64, 4, 0.05, 27), FEW_SETS],
        );
      } else {
        cases.push(
          ['w2 β8 5 %', spqr1(37, 8, 2, 0.05, 28), FEW_SETS],
          ['int4 g16', randomPacked('int4', [38, 1184], { groupSize: 16, permuted: 0 }, 30), FEW_SETS],
        );
      }
      for (const [name, p, sets] of cases) {
        const [M, K] = p.shape as [number, number];
        if (p.format === 'spqr') assert.equal((p.params.outliers as number) > 0, !name.includes('no outliers'), name);
        for (const set of sets) {
          if (set.includes('glu') && M % 2 === 1) continue; // glu needs gate | up: an even row count
          const inp = inputs(1, K, M, set, seed++);
          const ref = await run(cpu, cpu.uploadPacked(p), inp, set);
          assertNmse(await run(b, b.uploadPacked(p), inp, set), ref, `CU ${CU} ${name} ${set.join('+')}`);
        }
      }
      b.dispose();
    });
  }

  // groups of 2 columns go to qgemv (qgemv1Serves: groups of 8, 16 or whole chunks), still one dispatch at T = 1 with the input unfused
  test('packed SpQR β1 2 at T = 1: qgemv (not qgemv1), equal to the reference', async () => {
    const b = gpu as Backend;
    const p = spqr1(37, 2, 3, 0.05, 29);
    assert.equal(qgemv1Serves('spqr', p.params, 1184), false);
    const set: Opt[] = ['gated', 'acc', 'col0', 'bias'];
    const inp = inputs(1, 1184, 37, set, 1200);
    assertNmse(await run(b, b.uploadPacked(p), inp, set), await run(cpu, cpu.uploadPacked(p), inp, set), `β2 ${set.join('+')}`);
  });

  test('T = 1 unpermuted SpQR is one qgemv1 dispatch (norm or SwiGLU input, outliers, placement folded in)', async () => {
    const b = gpu as Backend;
    const sp = { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16 };
    assert.equal(qgemv1Serves('spqr', { ...sp, permuted: 0 }, 4096), true);
    assert.equal(qgemv1Serves('spqr', { ...sp, permuted: 1 }, 4096), false);
    assert.equal(qgemv1Serves('spqr', { ...sp, permuted: 0 }, 4112), false); // K not whole chunks
    assert.equal(qgemv1Serves('spqr', { ...sp, groupSize: 24, permuted: 0 }, 4096), false);
    assert.equal(qgemv1Serves('spqr', { ...sp, groupSize: 4, permuted: 0 }, 4096), false);
    const p = randomPacked('spqr', [48, 256], { ...sp, permuted: 0 }, 31, { outlierRate: 0.05 });
    const w = b.uploadPacked(p);
    let seed = 1300;
    for (const set of [['norm'], ['gated', 'acc', 'col0', 'bias']] as Opt[][]) {
      const inp = inputs(1, 256, 48, set, seed++);
      const { x, out, bias, o } = upload(b, inp, set);
      assert.equal(b.record(() => b.matmul(out, x, w, bias, o)).ops, 1, set.join('+'));
      assertNmse((await b.read(out)).data as Float32Array, await run(cpu, cpu.uploadPacked(p), inp, set), set.join('+'));
    }
    b.free(w);
  });

  // MatmulOptions.normOut → norm.prepared (qgemv1_io's NORM_OUT and PREP): a residual add that also writes the
  // next norm's x·weight and its workgroups' Σ x², then a normed matmul reading them instead of x. D = 1184
  // rows: 148 partial sums at the default 8 rows a workgroup, 198 at 6 (R 3 · RG 2: not whole vec4s); int4
  // reads them in qgemv1_ilv (each group all), int3 / SpQR in qgemv1 (the workgroup shares them; SpQR's
  // outliers read the prepared inputs too)
  for (const [name, opts] of [
    ['default tilings', {}],
    ['small tilings (R 3, TPR 8)', { packed: { int1: { R: 3, TPR: 8, RG: 2, CU: 1 }, ilv1: { R: 3, TPR: 8, RG: 2, UN: 2 } } }],
  ] as const) {
    test(`prepared norm input, ${name}: producer (+= with normOut) then consumer (norm.prepared) equal the reference`, async () => {
      const { b } = await tryWebGpu(opts);
      assert.ok(b);
      const D = 1184;
      const KP = 640;
      const spqr = { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 };
      // [producer, its input (gated: (gate | up), 2 · KP), consumer, SwiGLU output]
      const chains: [PackedTensor, boolean, PackedTensor, boolean][] = [
        [randomPacked('int4', [D, KP], { groupSize: 128, permuted: 0 }, 61), false, randomPacked('int4', [96, D], { groupSize: 32, permuted: 0 }, 62), false],
        [randomPacked('int3', [D, KP], { groupSize: 128, permuted: 0 }, 63), false, randomPacked('spqr', [48, D], spqr, 64, { outlierRate: 0.05 }), false],
        [randomPacked('spqr', [D, KP], spqr, 65, { outlierRate: 0.02 }), true, randomPacked('int4', [96, D], { groupSize: 128, permuted: 0 }, 66), true],
        [randomPacked('int4', [D, KP], { groupSize: 64, permuted: 0 }, 67), false, randomPacked('int3', [40, D], { groupSize: 32, permuted: 0 }, 68), false],
      ];
      let seed = 1600;
      for (const [wp, gated, wc, glu] of chains) {
        const what = `${wp.format}${gated ? ' (swiglu in)' : ''} → ${wc.format}${glu ? ' (swiglu out)' : ''}`;
        const a = rand((gated ? 2 : 1) * KP, seed++, -2, 2);
        const res0 = rand(D, seed++, -2, 2);
        const nw = rand(D, seed++, 0.5, 1.5);
        const M = wc.shape[0] as number;
        const step = async (be: Backend, prepared: boolean, clobber: boolean): Promise<{ res: Float32Array; y: Float32Array; xn: Float32Array }> => {
          const at = be.upload(tensor('f32', [1, a.length], a));
          const res = be.upload(tensor('f32', [1, D], res0));
          const nwt = be.upload(tensor('f32', [D], nw));
          const xn = be.upload(tensor('f32', [1, 2 * D], new Float32Array(2 * D)));
          const y = be.empty('f32', [1, glu ? M / 2 : M]);
          be.matmul(res, at, be.uploadPacked(wp), undefined, { accumulate: true, ...(gated && { gated: true }), normOut: { weight: nwt, into: xn } });
          const r = (await be.read(res)).data as Float32Array;
          // the contract is that nothing writes x in between; writing it anyway shows which input the consumer read
          if (clobber) be.write(res, tensor('f32', [1, D], rand(D, 99)));
          be.matmul(y, res, be.uploadPacked(wc), undefined, { norm: { weight: nwt, eps: 1e-5, ...(prepared && { prepared: xn }) }, ...(glu && { glu: true }) });
          return { res: r, y: (await be.read(y)).data as Float32Array, xn: (await be.read(xn)).data as Float32Array };
        };
        const ref = await step(cpu, false, false);
        const got = await step(b, true, false);
        assertNmse(got.res, ref.res, `${what}: residual`);
        assertNmse(got.y, ref.y, `${what}: consumer`);
        // the prepared input: x·weight, then partial sums adding up to Σ x²
        assertNmse(got.xn.subarray(0, D), ref.res.map((v, i) => v * (nw[i] as number)), `${what}: x·weight`);
        const ss = ref.res.reduce((s, v) => s + v * v, 0);
        const parts = got.xn.subarray(D).reduce((s, v) => s + v, 0);
        assert.ok(Math.abs(parts - ss) <= 1e-5 * ss, `${what}: partial sums ${parts} vs Σ x² ${ss}`);
        // read from the prepared tensor, not x: x overwritten after the producer changes nothing
        assertNmse((await step(b, true, true)).y, ref.y, `${what}: consumer with x overwritten`);
        // without norm.prepared the overwritten x is what counts
        const plain = await step(b, false, true);
        assert.ok(nmse(plain.y, ref.y) > 1e-3, `${what}: the unprepared consumer reads x`);
      }
      // T = 3: normOut writes nothing and prepared is ignored (a T > 1 matmul has no such epilogue)
      const wp = randomPacked('int4', [64, 128], { groupSize: 32, permuted: 0 }, 69);
      const wc = randomPacked('int4', [32, 64], { groupSize: 32, permuted: 0 }, 70);
      const T = 3;
      const x = b.upload(tensor('f32', [T, 128], rand(T * 128, 71)));
      const res = b.upload(tensor('f32', [T, 64], rand(T * 64, 72)));
      const nwt = b.upload(tensor('f32', [64], rand(64, 73, 0.5, 1.5)));
      const xn = b.upload(tensor('f32', [T, 128], new Float32Array(T * 128)));
      b.matmul(res, x, b.uploadPacked(wp), undefined, { accumulate: true, normOut: { weight: nwt, into: xn } });
      assert.ok(((await b.read(xn)).data as Float32Array).every((v) => v === 0), 'T = 3: normOut wrote nothing');
      const y = b.empty('f32', [T, 32]);
      b.matmul(y, res, b.uploadPacked(wc), undefined, { norm: { weight: nwt, eps: 1e-5, prepared: xn } });
      const want = new Float32Array(T * 32);
      const xin = new Float32Array(T * 64);
      ops.rmsnorm(xin, (await b.read(res)).data as Float32Array, (await b.read(nwt)).data as Float32Array, T, 64, 1e-5);
      const yc = cpu.upload(tensor('f32', [T, 32], want));
      cpu.matmul(yc, cpu.upload(tensor('f32', [T, 64], xin)), cpu.uploadPacked(wc));
      assertNmse((await b.read(y)).data as Float32Array, (await cpu.read(yc)).data as Float32Array, 'T = 3 consumer');
      b.dispose();
    });
  }

  test('record/replay: a replayed step equals running its ops again; transfers inside record() are refused', async () => {
    for (const b of [cpu, gpu as Backend]) {
      const K = 64;
      const M = 48;
      const w = b.upload(tensor('f32', [M, K], rand(M * K, 1)));
      const nw = b.upload(tensor('f32', [K], rand(K, 2, 0.5, 1.5)));
      const x = b.upload(tensor('f32', [1, K], rand(K, 3)));
      const out = b.upload(tensor('f32', [1, M], rand(M, 4)));
      // out += W·rmsnorm(x): each replay adds the product once more
      const rec = b.record(() => b.matmul(out, x, w, undefined, { norm: { weight: nw, eps: 1e-5 }, accumulate: true }));
      const once = (await b.read(out)).data as Float32Array;
      b.replay(rec);
      b.replay(rec);
      const thrice = (await b.read(out)).data as Float32Array;
      const step = new Float32Array(M);
      const xin = new Float32Array(K);
      ops.rmsnorm(xin, rand(K, 3), (await b.read(nw)).data as Float32Array, 1, K, 1e-5);
      ops.matmul(step, xin, rand(M * K, 1), 1, K, M);
      const want = once.map((v, i) => v + 2 * (step[i] as number));
      assertNmse(thrice, want, `${b.name}`);
      if (b.name === 'webgpu') {
        assert.throws(() => b.record(() => b.write(x, tensor('f32', [1, K], rand(K, 5)))), /inside record\(\)/);
        assert.equal(b.record(() => b.matmul(out, x, w)).ops, 1);
      }
    }
  });
});
