import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packBits, packedBytes, unpackBits } from '../src/formats/bytes.js';
import { FORMATS, denseTensor, formatByCode, wgslConstants } from '../src/formats/index.js';
import type { QuantizedTensor } from '../src/formats/types.js';
import { bf16ToF32, f32Bits } from '../src/tensor/dtype.js';
import { quantizeLayer } from '../src/quant/methods/gptq.js';
import { tensor } from '../src/tensor/tensor.js';
import { mulberry32, syntheticLayer } from '../tools/parity/synthetic.js';

const bitsEqual = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => f32Bits(x) === f32Bits(b[i] as number));

test('FORMATS: stable numeric codes (stored in files; append-only)', () => {
  const codes = Object.fromEntries(Object.values(FORMATS).map((f) => [f.id, f.code]));
  assert.deepEqual(codes, { f32: 0, f16: 1, bf16: 2, int2: 3, int3: 4, int4: 5, int8: 6, spqr: 7 });
  for (const f of Object.values(FORMATS)) assert.equal(formatByCode(f.code), f);
  assert.throws(() => formatByCode(99), /unknown format code 99/);
});

test('bit packing: 4-bit is 8 codes per u32 low nibble first; 3-bit is gptq’s 32 codes in 3 words', () => {
  const four = packBits(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1, 9, 4);
  const w = new DataView(four.buffer);
  assert.equal(four.length, 16); // one row of 9 codes pads to 32 codes = 4 words
  assert.equal(w.getUint32(0, true), 0x87654321);
  assert.equal(w.getUint32(4, true), 0x9);
  // 3-bit: code j at bits 3j of a 96-bit little-endian stream, e.g. code 10 straddles words 0 and 1.
  const codes = Uint8Array.from({ length: 32 }, (_, j) => j % 8);
  const three = new DataView(packBits(codes, 1, 32, 3).buffer);
  let words = [0, 0, 0];
  for (let j = 0; j < 32; j++) for (let b = 0; b < 3; b++) if (((codes[j] as number) >> b) & 1) words[Math.floor((3 * j + b) / 32)]! |= 1 << ((3 * j + b) % 32);
  words = words.map((x) => x >>> 0);
  assert.deepEqual([0, 1, 2].map((i) => three.getUint32(4 * i, true)), words);
  // Round trip for every width on an odd shape.
  const rand = mulberry32(5);
  for (const bits of [2, 3, 4, 5, 8]) {
    const c = Uint8Array.from({ length: 7 * 45 }, () => Math.floor(rand() * 2 ** bits));
    const p = packBits(c, 7, 45, bits);
    assert.equal(p.length, packedBytes(7, 45, bits));
    assert.deepEqual(unpackBits(p, 7, 45, bits), c);
  }
  assert.throws(() => packBits(Uint8Array.from([8]), 1, 1, 3), /does not fit in 3 bits/);
});

test('dense formats round-trip bit for bit and refuse values they would round', () => {
  const W = Float32Array.from({ length: 6 * 5 }, (_, i) => Math.fround(Math.sin(i) * 10 ** (i % 7 - 3)));
  for (const id of ['f32', 'f16', 'bf16'] as const) {
    const t = denseTensor(id, W, 6, 5);
    const p = FORMATS[id].pack(t);
    assert.equal(p.arrays.data?.length, 30 * (id === 'f32' ? 4 : 2));
    assert.ok(bitsEqual(FORMATS[id].unpack(p).weight, t.weight), id);
  }
  const raw: QuantizedTensor = { format: 'bf16', out: 1, in: 1, weight: Float32Array.of(1 + 2 ** -10), grid: null, bilevel: null, outliers: null };
  assert.throws(() => FORMATS.bf16.pack(raw), /is not a bf16 value/);
  assert.equal(bf16ToF32(0x3f80), 1);
});

test('unpack validates array sizes, parameters and permutations before reading', () => {
  const t = denseTensor('f16', new Float32Array(12), 3, 4);
  const p = FORMATS.f16.pack(t);
  assert.throws(() => FORMATS.f16.unpack({ ...p, arrays: { data: new Uint8Array(10) } }), /array 'data' has 10 bytes, expected 24/);
  assert.throws(() => FORMATS.int4.unpack({ ...p, format: 'int4' }), /parameter groupSize must be an integer/);
  assert.throws(() => FORMATS.int4.unpack(p), /got a packed f16 tensor/);
});

test('wgslConstants: generated from the record, never retyped', () => {
  const int3 = wgslConstants(FORMATS.int3, { groupSize: 128, permuted: 0 });
  assert.match(int3, /const Q_FORMAT_CODE: u32 = 4u;/);
  assert.match(int3, /const Q_BITS: u32 = 3u;/);
  assert.match(int3, /const Q_MASK: u32 = 0x7u;/);
  assert.match(int3, /const Q_WORDS_PER_32: u32 = 3u;/);
  assert.match(int3, /const Q_CODES_PER_WORD: u32 = 0u;/);
  assert.match(int3, /const Q_GROUP_SIZE: u32 = 128u;/);
  const int4 = wgslConstants(FORMATS.int4, { groupSize: 64, permuted: 1 });
  assert.match(int4, /const Q_CODES_PER_WORD: u32 = 8u;/);
  assert.match(int4, /const Q_PERMUTED: u32 = 1u;/);
  const spqr = wgslConstants(FORMATS.spqr, { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 1, outliers: 12 });
  assert.match(spqr, /const Q_BITS: u32 = 3u;[\s\S]*const Q_QQ_BITS: u32 = 3u;\nconst Q_QQ_GROUP: u32 = 16u;/);
  assert.doesNotMatch(spqr, /OUTLIERS/);
  assert.equal(wgslConstants(FORMATS.f16, {}), '// Generated from FORMATS.f16 by wgslConstants(); do not edit.\nconst Q_FORMAT_CODE: u32 = 1u;\nconst Q_BITS: u32 = 16u;\n');
});

test('int unpack rejects a corrupted permutation', () => {
  const L = syntheticLayer(4, 40, { seed: 2 });
  const r = quantizeLayer(tensor('f32', [4, 40], L.W), { H: L.H, nSamples: L.nSamples }, { groupSize: 8, actOrder: true });
  const p = FORMATS.int4.pack(r);
  const perm = Uint8Array.from(p.arrays.perm as Uint8Array);
  [perm[0], perm[1]] = [perm[2] as number, perm[3] as number]; // entry 0 repeats entry 1
  assert.throws(() => FORMATS.int4.unpack({ ...p, arrays: { ...p.arrays, perm } }), /permutation entry 1 = \d+ is out of range or repeated/);
});
