/**
 * The fast CPU path for packed weights (backend/cpu/packed-fast.ts), which the WASM backends use:
 * rows decoded in layout order equal the reference dequantizeRows bit for bit (every int width,
 * groups that divide neither `in` nor 8, per-channel, SpQR with every qqBits field, outliers,
 * act-order, codes at an unaligned byte offset), and the fast backends' packed matmul equals the
 * dense matmul on unpack's Ŵ (nMSE ≤ 1e-10, CONVENTIONS §3) at T = 1 and 13 with bias, over several
 * decoded tiles, on 2 threads, 1 thread and the reference matmul kernel; int2/3/4/8 and SpQR weights
 * the WASM kernel reads (gemm.wat qgemm: decoded in SIMD registers a 32-code chunk at a time; at T = 1
 * dotted with x in registers, statistics folded per group) go through it, and its Ŵ equals unpack's
 * bit for bit (x = the identity, T = K: out = Ŵᵀ exactly).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { createCpuBackend } from '../src/backend/cpu/node-cpu.js';
import * as ops from '../src/backend/cpu/ops.js';
import { dequantizeRows, PACKED_TILE_ELEMS } from '../src/backend/cpu/packed.js';
import { PackedRowDecoder } from '../src/backend/cpu/packed-fast.js';
import { bytesU16 } from '../src/formats/bytes.js';
import { FORMATS } from '../src/formats/index.js';
import { randomPacked } from '../src/formats/random.js';
import type { FormatId, FormatParams, PackedTensor } from '../src/formats/types.js';
import { tensor } from '../src/tensor/tensor.js';
import { NMSE_F32, nmse, rand } from './webgpu-helpers.js';

const CASES: [FormatId, [number, number], FormatParams][] = [];
for (const f of ['int2', 'int3', 'int4', 'int8'] as FormatId[]) {
  for (const [o, i, g] of [[64, 256, 128], [45, 67, 32], [100, 200, 24], [77, 129, 7], [33, 96, 96]] as const) {
    for (const permuted of [0, 1]) CASES.push([f, [o, i], { groupSize: g, permuted }]);
  }
}
for (const [o, i, p] of [
  [48, 128, { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16 }],
  [37, 100, { bits: 2, groupSize: 7, qqBits: 3, qqGroup: 5 }],
  [70, 160, { bits: 4, groupSize: 32, qqBits: 2, qqGroup: 16 }],
  [29, 96, { bits: 3, groupSize: 16, qqBits: 6, qqGroup: 8 }],
  [20, 64, { bits: 8, groupSize: 16, qqBits: 3, qqGroup: 4 }],
] as const) {
  for (const permuted of [0, 1]) CASES.push(['spqr', [o, i], { ...p, permuted }]);
}
/** Whether the WASM qgemm reads this weight (gemm.wat): 2/3/4/8-bit codes, K whole 32-code chunks, int groups whole chunks dividing K or per-channel, SpQR's β1 16 or whole chunks dividing K. */
function wasmReads(f: FormatId, K: number, params: FormatParams): boolean {
  const g = params.groupSize as number;
  const bits = f === 'spqr' ? (params.bits as number) : FORMATS[f].bits;
  if (![2, 3, 4, 8].includes(bits as number) || K % 32 !== 0) return false;
  if (f === 'spqr') return (g === 16 || g % 32 === 0) && K % g === 0;
  return f.startsWith('int') && (g >= K || (g % 32 === 0 && K % g === 0));
}
const label = (f: FormatId, s: readonly number[], p: FormatParams): string => `${f}[${s.join(', ')}] ${JSON.stringify(p)}`;

/** p with every array moved to an odd byte offset of a larger buffer (u32 words must then be copied). */
function unaligned(p: PackedTensor): PackedTensor {
  const arrays: Record<string, Uint8Array> = {};
  for (const [k, a] of Object.entries(p.arrays)) {
    const b = new Uint8Array(a.length + 1);
    b.set(a, 1);
    arrays[k] = b.subarray(1);
  }
  return { ...p, arrays };
}

test('PackedRowDecoder: rows in layout order equal dequantizeRows bit for bit (Ŵ[r, perm[c]]), every format, any row range, unaligned arrays', () => {
  let seed = 1;
  for (const [f, shape, params] of CASES) {
    const p = randomPacked(f, shape, params, seed++, { outlierRate: 0.05 });
    const [out, inn] = shape;
    const want = dequantizeRows(p, 0, out);
    const perm = params.permuted === 1 ? bytesU16(p.arrays.perm as Uint8Array) : null;
    for (const d of [new PackedRowDecoder(p), new PackedRowDecoder(unaligned(p))]) {
      for (const [r0, r1] of [[0, out], [3, out - 2]] as const) {
        const got = new Float32Array((r1 - r0) * inn);
        d.rows(r0, r1, got);
        const ref = new Float32Array(got.length);
        for (let r = r0; r < r1; r++) for (let c = 0; c < inn; c++) ref[(r - r0) * inn + c] = want[r * inn + (perm ? (perm[c] as number) : c)] as number;
        assert.deepEqual(got, ref, `${label(f, shape, params)} rows ${r0} … ${r1}`);
      }
    }
  }
  const bad = randomPacked('int4', [4, 64], { groupSize: 32, permuted: 0 }, 1);
  assert.throws(() => new PackedRowDecoder({ ...bad, arrays: { ...bad.arrays, codes: (bad.arrays.codes as Uint8Array).subarray(1) } }), /int4 \[4, 64\]: array 'codes' has 127 bytes, expected 128/);
});

test('fast CPU backends (WASM qgemm for int2/3/4/8 and SpQR, else the JS decoder): packed matmul equals the dense matmul on unpacked Ŵ (nMSE ≤ 1e-10), T = 1 and 13, bias, several tiles; 2 threads, 1 thread, reference kernel', async () => {
  const backends = [createCpuBackend({ threads: 2 }), createCpuBackend({ threads: 1 }), new CpuBackend({ packed: 'fast' })];
  assert.match(backends[0]?.description ?? '', /wasm simd, 2 threads/);
  // K = 1184: ⌊2^18 / K⌋ = 221 rows a tile, so 300 and 454 rows take two and three tiles
  assert.equal(Math.floor(PACKED_TILE_ELEMS / 1184), 221);
  const big: [FormatId, [number, number], FormatParams][] = [
    ['int4', [300, 1184], { groupSize: 128, permuted: 1 }],
    ['spqr', [454, 1184], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 1 }],
  ];
  // what the WASM kernel reads (int2/4/8, K whole 32-code chunks, groups whole chunks dividing K or per-channel):
  // rows over several tiles (⌊2^16 / K⌋ a tile) and threads' chunks, act-order, per-channel
  const wasm: [FormatId, [number, number], FormatParams][] = [
    ['int4', [300, 1024], { groupSize: 128, permuted: 1 }],
    ['int2', [130, 512], { groupSize: 64, permuted: 0 }],
    ['int8', [77, 256], { groupSize: 32, permuted: 1 }],
    ['int4', [45, 96], { groupSize: 96, permuted: 0 }],
    ['int2', [33, 160], { groupSize: 160, permuted: 0 }],
    ['int3', [300, 1024], { groupSize: 128, permuted: 1 }],
    ['int3', [41, 192], { groupSize: 64, permuted: 0 }],
    // SpQR: β1 16 (two groups a chunk) or whole chunks, β2 not dividing M, rows over tiles and threads
    ['spqr', [300, 1024], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 1 }],
    ['spqr', [45, 192], { bits: 2, groupSize: 16, qqBits: 4, qqGroup: 7, permuted: 0 }],
    ['spqr', [70, 192], { bits: 4, groupSize: 64, qqBits: 8, qqGroup: 16, permuted: 1 }],
    ['spqr', [33, 128], { bits: 8, groupSize: 32, qqBits: 2, qqGroup: 33, permuted: 0 }],
    // β1 16 at 4 bits (lane-major: a chunk's groups in lanes 0, 1 and 2, 3) and at 8 bits (natural order: vectors 0–3 and 4–7)
    ['spqr', [41, 160], { bits: 4, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 1 }],
    ['spqr', [23, 96], { bits: 8, groupSize: 16, qqBits: 4, qqGroup: 8, permuted: 0 }],
  ];
  let seed = 100;
  for (const b of backends) {
    for (const [f, shape, params] of [...CASES.filter((_, i) => i % 3 === 0), ...big, ...wasm]) {
      const p = randomPacked(f, shape, params, ++seed, { outlierRate: 0.05 });
      const [M, K] = shape;
      const W = FORMATS[f].unpack(p).weight;
      const w = b.uploadPacked(p);
      const kernel = wasmReads(f, K, params);
      const wasmBackend = b.description.includes('wasm');
      assert.equal(b.packedPath(w), kernel && wasmBackend ? 'wasm' : 'js', `${b.description} ${label(f, shape, params)}`);
      for (const T of [1, 13]) {
        const x = rand(T * K, seed + T);
        const bias = rand(M, seed);
        const ref = new Float32Array(T * M);
        ops.matmul(ref, x, W, T, K, M, bias);
        const out = b.empty('f32', [T, M]);
        b.matmul(out, b.upload(tensor('f32', [T, K], x)), w, b.upload(tensor('f32', [M], bias)));
        const got = (await b.read(out)).data as Float32Array;
        assert.ok(nmse(got, ref) <= NMSE_F32, `${b.description} ${label(f, shape, params)} T=${T}: nMSE ${nmse(got, ref)}`);
      }
      b.free(w);
      assert.throws(() => b.matmul(b.empty('f32', [1, M]), b.empty('f32', [1, K]), w), /after free/);
    }
    b.dispose();
  }
});

test('WASM qgemm decodes Ŵ bit for bit (int2/3/4/8 and SpQR with outliers, act-order): x = I_K gives out = Ŵᵀ exactly, on 2 threads and 1', async () => {
  const cases: [FormatId, [number, number], FormatParams][] = [
    ['int4', [70, 128], { groupSize: 64, permuted: 1 }],
    ['int3', [45, 96], { groupSize: 32, permuted: 1 }],
    ['int2', [40, 64], { groupSize: 64, permuted: 0 }],
    ['int8', [33, 96], { groupSize: 32, permuted: 0 }],
    ['spqr', [80, 128], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 1 }],
    ['spqr', [45, 96], { bits: 2, groupSize: 16, qqBits: 5, qqGroup: 7, permuted: 0 }],
    ['spqr', [50, 128], { bits: 4, groupSize: 64, qqBits: 3, qqGroup: 16, permuted: 1 }],
    ['spqr', [30, 64], { bits: 8, groupSize: 32, qqBits: 8, qqGroup: 4, permuted: 0 }],
  ];
  let seed = 900;
  for (const threads of [2, 1]) {
    const b = createCpuBackend({ threads });
    for (const [f, [M, K], params] of cases) {
      const p = randomPacked(f, [M, K], params, ++seed, { outlierRate: 0.05 });
      if (f === 'spqr') assert.ok((p.params.outliers as number) > 0, 'the case has outliers');
      const W = FORMATS[f].unpack(p).weight;
      const w = b.uploadPacked(p);
      assert.equal(b.packedPath(w), 'wasm', label(f, [M, K], params));
      const eye = new Float32Array(K * K);
      for (let k = 0; k < K; k++) eye[k * K + k] = 1;
      const out = b.empty('f32', [K, M]);
      b.matmul(out, b.upload(tensor('f32', [K, K], eye)), w);
      const got = (await b.read(out)).data as Float32Array;
      let bad = 0;
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) if (got[k * M + m] !== W[m * K + k]) bad++;
      assert.equal(bad, 0, `${threads} threads ${label(f, [M, K], params)}: ${bad} of ${M * K} values differ from Ŵ`);
      b.free(w);
    }
    b.dispose();
  }
});
