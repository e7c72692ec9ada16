/**
 * Packed-weight matmul: the CPU reference (backend/cpu/packed.ts) against the
 * format records, and every WebGPU packed kernel against the CPU reference.
 *
 * - dequantizeRows (decoding straight from the bytes) equals FORMATS[f].unpack bit for bit;
 * - the CPU packed matmul equals the dense matmul on unpack's Ŵ (nMSE ≤ 1e-10, CONVENTIONS §3);
 * - WebGPU qgemv (T ≤ 8; qgemv1 at T = 1 where qgemv1Serves, e.g. unpermuted SpQR β1 = 16) and
 *   gemm+qwload (T > 8) equal the CPU packed matmul (nMSE ≤ 1e-10) on odd shapes, groups that do
 *   not divide `in` or 8, interleaved int2/4/8 codes with a natural tail, act-order perm, bias,
 *   SpQR with outliers in most rows and none in every 5th, outliers fused and in a separate pass
 *   (qgemv1 always adds them itself);
 * - the T = 1 GEMVs on int4, int2 and 3-bit codes (int3, SpQR) both through f16 subnormals (the
 *   default where the device keeps them) and through 1 + q/2^b (f16SubnormalDecode: false).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import * as ops from '../src/backend/cpu/ops.js';
import { dequantizeRows } from '../src/backend/cpu/packed.js';
import { PackedTooLargeError, type Backend } from '../src/backend/backend.js';
import type { GpuPackedTensor } from '../src/backend/webgpu/packed.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { FORMATS } from '../src/formats/index.js';
import { randomPacked } from '../src/formats/random.js';
import type { FormatId, FormatParams, PackedTensor } from '../src/formats/types.js';
import { tensor } from '../src/tensor/tensor.js';
import { NMSE_F32, nmse, rand, tryWebGpu } from './webgpu-helpers.js';

interface Case {
  readonly format: FormatId;
  readonly shape: [number, number];
  readonly params: FormatParams;
}

const INT: FormatId[] = ['int2', 'int3', 'int4', 'int8'];
// [out, in, groupSize]: groups dividing in, not dividing in, not a multiple of 8, per-channel
const INT_SHAPES: [number, number, number][] = [[64, 256, 128], [45, 67, 32], [100, 200, 24], [77, 129, 7], [33, 96, 96]];
const SPQR_PARAMS: [number, number, FormatParams][] = [
  [48, 128, { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16 }],
  [37, 100, { bits: 2, groupSize: 7, qqBits: 3, qqGroup: 5 }],
  [70, 160, { bits: 4, groupSize: 32, qqBits: 2, qqGroup: 16 }],
  // the GPU image's (scale, zero) code fields: 4-bit codes fill a byte field, 6-bit ones take 16-bit fields
  [36, 128, { bits: 3, groupSize: 16, qqBits: 4, qqGroup: 16 }],
  [29, 96, { bits: 3, groupSize: 16, qqBits: 6, qqGroup: 8 }],
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const format of INT) {
    for (const [o, i, g] of INT_SHAPES) {
      for (const permuted of [0, 1]) out.push({ format, shape: [o, i], params: { groupSize: g, permuted } });
    }
  }
  for (const [o, i, p] of SPQR_PARAMS) {
    for (const permuted of [0, 1]) out.push({ format: 'spqr', shape: [o, i], params: { ...p, permuted } });
  }
  return out;
}

const name = (c: Case): string => `${c.format}[${c.shape.join(', ')}] ${JSON.stringify(c.params)}`;
const packedOf = (c: Case, seed: number): PackedTensor => randomPacked(c.format, c.shape, c.params, seed, { outlierRate: 0.05 });

describe('packed CPU reference', () => {
  test('dequantizeRows equals FORMATS[f].unpack bit for bit, every format, odd shapes, perm, outliers', () => {
    let n = 0;
    for (const c of [...cases(), { format: 'bf16', shape: [5, 7], params: {} } as Case, { format: 'f16', shape: [3, 9], params: {} } as Case]) {
      const p = packedOf(c, ++n);
      const want = FORMATS[c.format].unpack(p).weight;
      const [out, inn] = c.shape;
      const got = dequantizeRows(p, 0, out);
      assert.deepEqual(got, want, name(c));
      const mid = dequantizeRows(p, 1, out - 1);
      assert.deepEqual(mid, want.subarray(inn, (out - 1) * inn), `${name(c)} rows 1…${out - 2}`);
    }
    const sp = packedOf({ format: 'spqr', shape: [48, 128], params: { ...SPQR_PARAMS[0]![2], permuted: 0 } }, 5);
    assert.ok((sp.params.outliers as number) > 48, `spqr test tensor has ${sp.params.outliers} outliers`);
  });

  test('CPU packed matmul equals the dense matmul on the unpacked weights (nMSE ≤ 1e-10), T = 1 and 13, bias', async () => {
    const b = new CpuBackend();
    let n = 100;
    for (const c of cases()) {
      const p = packedOf(c, ++n);
      const [M, K] = c.shape;
      const W = FORMATS[c.format].unpack(p).weight;
      for (const T of [1, 13]) {
        const x = rand(T * K, n + T);
        const bias = rand(M, n);
        const ref = new Float32Array(T * M);
        ops.matmul(ref, x, W, T, K, M, bias);
        const out = b.empty('f32', [T, M]);
        b.matmul(out, b.upload(tensor('f32', [T, K], x)), b.uploadPacked(p), b.upload(tensor('f32', [M], bias)));
        const got = (await b.read(out)).data as Float32Array;
        assert.ok(nmse(got, ref) <= NMSE_F32, `${name(c)} T=${T}: nMSE ${nmse(got, ref)}`);
      }
    }
    assert.equal(b.supports('matmul', 'int3'), true);
    assert.throws(() => b.read(b.uploadPacked(packedOf(cases()[0]!, 1))), /only accepted by matmul/);
  });
});

const { b: gpu, skip } = await tryWebGpu();
const { b: separate } = await tryWebGpu({ packed: { spqrOutliers: 'separate' } });
const { b: noSub } = await tryWebGpu({ f16SubnormalDecode: false });
// 48 KiB storage bindings: x and out of the chunked cases below fit one, their weights do not
const CHUNK_BYTES = 48 * 1024;
const { b: small } = await tryWebGpu({ maxBindingBytes: CHUNK_BYTES });

describe('packed WebGPU kernels vs the CPU reference', { skip }, () => {
  after(() => {
    gpu?.dispose();
    separate?.dispose();
    noSub?.dispose();
    small?.dispose();
  });
  const cpu = new CpuBackend();

  async function check(b: Backend, c: Case, Ts: readonly number[], seed: number): Promise<void> {
    const p = packedOf(c, seed);
    const [M, K] = c.shape;
    const w = b.uploadPacked(p);
    const wc = cpu.uploadPacked(p);
    for (const T of Ts) {
      for (const withBias of [false, true]) {
        const x = rand(T * K, seed * 31 + T);
        const bias = rand(M, seed + 7);
        const ref = cpu.empty('f32', [T, M]);
        cpu.matmul(ref, cpu.upload(tensor('f32', [T, K], x)), wc, withBias ? cpu.upload(tensor('f32', [M], bias)) : undefined);
        const out = b.empty('f32', [T, M]);
        b.matmul(out, b.upload(tensor('f32', [T, K], x)), w, withBias ? b.upload(tensor('f32', [M], bias)) : undefined);
        const got = (await b.read(out)).data as Float32Array;
        const want = (await cpu.read(ref)).data as Float32Array;
        const e = nmse(got, want);
        assert.ok(e <= NMSE_F32, `${name(c)} T=${T} bias=${withBias}: nMSE ${e.toExponential(2)}`);
      }
    }
    b.free(w);
  }

  // Every group size is its own pipeline (Q_GROUP_SIZE), and lavapipe compiles one packed GEMV in
  // seconds, so the GPU cases use few group sizes: 24 (a multiple of 8 dividing neither in nor the
  // 32/64/128-code unit) and 7 (per-element groups); shapes, perm and bias are uniforms and vary freely.
  const gpuCases: Case[] = [];
  for (const format of INT) {
    const gs = format === 'int3' || format === 'int4' ? [24, 7] : [24];
    for (const g of gs) {
      for (const [shape, permuted] of [[[64, 256], 0], [[45, 67], 1], [[100, 200], 1], [[77, 129], 0]] as const) {
        gpuCases.push({ format, shape: [...shape], params: { groupSize: g, permuted } });
      }
    }
  }
  // int2/4/8 in groups of whole chunks: codes lane-interleaved in the GPU image (webgpu/packed.ts), every
  // kernel reads them through qcodes.wgsl; K past whole 128-column superchunks (1184 = 9·128 + 32,
  // 416, 288, 200) keeps a natural tail; groups of 128 (one statistics set per chunk), 32 and 64 (sets
  // of words); perm 1 is the T = 1 qgemv path
  for (const [format, g] of [['int4', 128], ['int2', 32], ['int8', 64]] as const) {
    for (const [shape, permuted] of [[[37, 1184], 0], [[29, format === 'int2' ? 288 : format === 'int8' ? 200 : 416], 1]] as const) {
      gpuCases.push({ format, shape: [...shape], params: { groupSize: g, permuted } });
    }
  }
  for (const g of [16, 7]) {
    for (const [shape, permuted] of [[[48, 128], 0], [[37, 100], 1], [[70, 160], 1]] as const) {
      gpuCases.push({ format: 'spqr', shape: [...shape], params: { bits: 3, groupSize: g, qqBits: 3, qqGroup: 16, permuted } });
    }
  }

  for (const format of [...INT, 'spqr'] as FormatId[]) {
    test(`${format}: decode GEMV (T = 1, 3, 8) and prefill GEMM (T = 9, 70) vs CPU, odd shapes, perm, bias`, async () => {
      let seed = 1000;
      for (const c of gpuCases.filter((x) => x.format === format)) await check(gpu as Backend, c, [1, 3, 8, 9, 70], ++seed);
    });
  }

  // The T = 1 GEMVs decode int4 and int2 (qgemv1_ilv) and 3-bit Q_P3 codes (qgemv1: int3, SpQR)
  // through f16 subnormals where the creation probe finds unpack2x16float keeps them (lavapipe does,
  // so CI runs that path with every case above) and through 1 + q/2^b otherwise: int4 g128, int2 g32
  // (a statistics set per word), int3 g128 (one set per chunk) and SpQR β1 16 (sub-groups) again
  // with the probe's answer overridden.
  test('int4, int2, int3, spqr: the T = 1 GEMVs with and without the f16-subnormal decode vs CPU', async (t) => {
    const b = gpu as WebGpuBackend;
    t.diagnostic(`${b.adapterInfo.description || b.adapterInfo.device}: f16 subnormals ${b.f16Subnormals}`);
    if (/llvmpipe/i.test(b.description)) assert.equal(b.f16Subnormals, true, 'lavapipe keeps f16 subnormals');
    assert.equal((noSub as WebGpuBackend).f16Subnormals, false);
    let seed = 3000;
    const int3: Case[] = [{ format: 'int3', shape: [38, 1184], params: { groupSize: 128, permuted: 0 } }, { format: 'int3', shape: [20, 256], params: { groupSize: 32, permuted: 0 } }];
    const some = [...gpuCases.filter((x) => (x.format === 'int4' && x.params.groupSize === 128) || (x.format === 'int2' && x.params.groupSize === 32) || (x.format === 'spqr' && x.params.groupSize === 16)), ...int3];
    for (const c of some) await check(noSub as Backend, c, [1], ++seed);
    for (const c of int3) await check(gpu as Backend, c, [1], ++seed);
  });

  test('spqr: outliers in a separate pass (GEMV and GEMM) equal the CPU reference', async () => {
    let seed = 2000;
    for (const c of gpuCases.filter((x) => x.format === 'spqr' && x.params.groupSize === 16)) await check(separate as Backend, c, [1, 5, 33], ++seed);
  });

  // Larger than one binding: row chunks that each fit (SpQR's at multiples of β2, a short tail),
  // run chunk by chunk into their columns of out, x gathered once for act-order, outliers per chunk.
  test('packed tensors over one binding run in row chunks: GEMV and GEMM vs CPU; norm in, SwiGLU out, += and col0 at T = 1', async () => {
    const b = small as WebGpuBackend;
    const chunked: Case[] = [
      { format: 'int4', shape: [300, 1184], params: { groupSize: 128, permuted: 0 } },
      { format: 'int3', shape: [900, 200], params: { groupSize: 24, permuted: 1 } },
      { format: 'int8', shape: [300, 200], params: { groupSize: 64, permuted: 1 } },
      // 454 = 28·16 + 6: the last chunk is a tail shorter than β2
      { format: 'spqr', shape: [454, 320], params: { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 1 } },
    ];
    let seed = 4000;
    for (const c of chunked) {
      const p = packedOf(c, ++seed);
      const w = b.uploadPacked(p) as GpuPackedTensor;
      const parts = w.live();
      assert.ok(parts.length > 1, `${name(c)}: ${parts.length} chunk`);
      assert.deepEqual(parts.map((x) => x.row0), parts.map((_, i) => parts.slice(0, i).reduce((n, x) => n + x.rows, 0)), `${name(c)}: chunks tile the rows`);
      assert.equal(parts.reduce((n, x) => n + x.rows, 0), c.shape[0]);
      for (const x of parts) {
        assert.ok(x.bytes <= CHUNK_BYTES, `${name(c)}: a chunk of ${x.bytes} bytes`);
        if (c.format === 'spqr') assert.equal(x.row0 % 16, 0, 'SpQR chunks start at multiples of β2');
      }
      if (c.format === 'spqr') {
        assert.equal(parts.reduce((n, x) => n + (x.params.outliers as number), 0), p.params.outliers);
        assert.ok((parts.at(-1) as { rows: number }).rows < 16, `a short tail: ${parts.map((x) => x.rows).join(', ')}`);
      }
      b.free(w);
      await check(b, c, [1, 3, 9], seed);
    }
    // the options the model uses at T = 1, which a chunked weight runs through the unfused path
    const c = chunked[3] as Case;
    const p = packedOf(c, 4100);
    const [M, K] = c.shape;
    const x = rand(K, 1);
    const nw = rand(K, 2);
    for (const opts of ['norm+glu', 'acc+col0'] as const) {
      const N = opts === 'norm+glu' ? M / 2 : M + 3;
      const run = async (be: Backend): Promise<Float32Array> => {
        const out = be.upload(tensor('f32', [1, N], opts === 'norm+glu' ? new Float32Array(N) : rand(N, 4)));
        const xin = be.upload(tensor('f32', [1, K], x));
        const w = be.uploadPacked(p);
        if (opts === 'norm+glu') be.matmul(out, xin, w, undefined, { norm: { weight: be.upload(tensor('f32', [K], nw)), eps: 1e-5 }, glu: true });
        else be.matmul(out, xin, w, undefined, { accumulate: true, col0: 3 });
        return (await be.read(out)).data as Float32Array;
      };
      const e = nmse(await run(b), await run(cpu));
      assert.ok(e <= NMSE_F32, `${opts}: nMSE ${e.toExponential(2)}`);
    }
  });

  test('a row block larger than one binding is refused with PackedTooLargeError, naming the rows and bytes', async () => {
    const { b } = await tryWebGpu({ maxBindingBytes: 512 });
    assert.ok(b);
    const int4 = packedOf({ format: 'int4', shape: [37, 1184], params: { groupSize: 128, permuted: 0 } }, 1);
    assert.throws(() => b.uploadPacked(int4), (e: Error) => e instanceof PackedTooLargeError && /uploadPacked: int4\[37, 1184\]: rows 0 … 0 need \d+ bytes in one binding, more than the largest storage binding of 512 bytes/.test(e.message));
    const spqr = packedOf({ format: 'spqr', shape: [48, 128], params: { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 } }, 2);
    assert.throws(() => b.uploadPacked(spqr), /uploadPacked: spqr\[48, 128\]: rows 0 … 15 need \d+ bytes/);
    b.dispose();
  });

  test('packed tensors are refused by other ops and after free', async () => {
    const b = gpu as Backend;
    const w = b.uploadPacked(packedOf(cases()[0]!, 3));
    assert.equal(w.format, 'int2');
    assert.throws(() => b.embedding(b.empty('f32', [1, 256]), w, b.empty('i32', [1])), /only accepted by matmul/);
    b.free(w);
    assert.throws(() => b.matmul(b.empty('f32', [1, 64]), b.empty('f32', [1, 256]), w), /after free/);
  });
});
