/**
 * The GPU image of a packed tensor (src/backend/webgpu/packed.ts), on the host: its size agrees
 * with packedImageBytes, header word 15 holds the groups per row, and the int / SpQR statistics
 * are the stored ones transposed to row-major (an int group's scale and zero in one word, SpQR's scale and zero codes in one field);
 * int2/4/8 codes in groups of whole chunks are lane-interleaved (every code read back through the
 * layout's column → word rule), other codes as stored; SpQR's outliers one u32 an entry (column | fp16 value << 16).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codesInterleaved, codesPaired3, packedImage, packedImageBytes, spqrPairField } from '../src/backend/webgpu/packed.js';
import { packedRowWords, unpackBits } from '../src/formats/bytes.js';
import { randomPacked } from '../src/formats/random.js';
import type { PackedTensor } from '../src/formats/types.js';
import { f16ToF32 } from '../src/tensor/dtype.js';

const words = (img: Uint8Array): Uint32Array => new Uint32Array(img.buffer, img.byteOffset, img.length / 4);
const arrayAt = (img: Uint8Array, i: number, bytes: number): Uint8Array => img.subarray(4 * (words(img)[i] as number), 4 * (words(img)[i] as number) + bytes);
const u16 = (a: Uint8Array): Uint16Array => new Uint16Array(a.slice().buffer);

function check(p: PackedTensor, nGroups: number): void {
  const img = packedImage(p);
  assert.equal(img.length, packedImageBytes(p.format, p.shape, p.params), `${p.format}: image bytes`);
  assert.equal(words(img)[15], nGroups, `${p.format}: groups per row in header word 15`);
  const codes = p.arrays.codes as Uint8Array;
  const got = arrayAt(img, 0, codes.length);
  if (codesInterleaved(p.format, p.params)) checkInterleaved(p, got);
  else if (codesPaired3(p.format, p.params)) checkPaired3(p, got);
  else assert.deepEqual(got, codes, `${p.format}: codes as stored`);
}

/**
 * kernels/qcodes.wgsl's Q_P3 layout, read code by code: in chunk q of a row (words 3q … 3q + 2),
 * code n < 30 at bits 16·⌊(n mod 10)/5⌋ + 3·(n mod 5) of word ⌊n/10⌋, bit i of codes 30 and 31 at
 * bits 15 and 31 of word i. Every code equals the stored one, and some words differ from the file's.
 */
function checkPaired3(p: PackedTensor, img: Uint8Array): void {
  const [out, inn] = p.shape;
  const chunks = Math.ceil(inn / 32);
  const w = new Uint32Array(img.slice().buffer);
  const want = unpackBits(p.arrays.codes as Uint8Array, out, inn, 3);
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < inn; c++) {
      const b = (r * chunks + Math.floor(c / 32)) * 3;
      const n = c % 32;
      let code: number;
      if (n < 30) code = ((w[b + Math.floor(n / 10)] as number) >>> (16 * Math.floor((n % 10) / 5) + 3 * (n % 5))) & 7;
      else code = [0, 1, 2].reduce((v, i) => v | ((((w[b + i] as number) >>> (15 + 16 * (n - 30))) & 1) << i), 0);
      assert.equal(code, want[r * inn + c], `${p.format} [${out}, ${inn}] code r${r} c${c}`);
    }
  }
  assert.notDeepEqual(img, p.arrays.codes, `${p.format}: words rearranged`);
}

/**
 * kernels/qcodes.wgsl's layout, read column by column: in whole superchunk s (128 columns), column c
 * lies in natural word n = (c mod 128) / cpw = 4v + j, stored at word 4·bits·s + j·bits + v; past
 * the last whole superchunk, natural word c / cpw. Every code equals the stored one.
 */
function checkInterleaved(p: PackedTensor, img: Uint8Array): void {
  const [out, inn] = p.shape;
  const bits = Number(p.format.slice(3));
  const cpw = 32 / bits;
  const rowWords = packedRowWords(inn, bits);
  const w = new Uint32Array(img.slice().buffer);
  const want = unpackBits(p.arrays.codes as Uint8Array, out, inn, bits);
  let moved = 0;
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < inn; c++) {
      const s = Math.floor(c / 128);
      let word = Math.floor(c / cpw);
      if (s < Math.floor(inn / 128)) {
        const n = Math.floor((c % 128) / cpw);
        word = 4 * bits * s + (n % 4) * bits + Math.floor(n / 4);
      }
      if (word !== Math.floor(c / cpw)) moved++;
      const code = ((w[r * rowWords + word] as number) >>> ((c % cpw) * bits)) & ((1 << bits) - 1);
      assert.equal(code, want[r * inn + c], `${p.format} [${out}, ${inn}] code r${r} c${c}`);
    }
  }
  assert.ok(moved > 0, `${p.format}: some codes moved`);
}

test('int2/4/8 codes in groups of whole chunks are interleaved per 128-column superchunk, the K % 128 tail natural; g16 as stored; 3-bit codes in f16-pair fields per chunk', () => {
  const cases: [PackedTensor, boolean][] = [
    [randomPacked('int4', [5, 416], { groupSize: 128, permuted: 0 }, 6), true],
    [randomPacked('int2', [3, 1248], { groupSize: 32, permuted: 1 }, 7), true],
    [randomPacked('int8', [4, 200], { groupSize: 64, permuted: 0 }, 8), true],
    [randomPacked('int4', [3, 256], { groupSize: 16, permuted: 0 }, 9), false],
    [randomPacked('int3', [3, 256], { groupSize: 128, permuted: 0 }, 10), false],
  ];
  for (const [p, ilv] of cases) {
    assert.equal(codesInterleaved(p.format, p.params), ilv, `${p.format} g${p.params.groupSize as number}`);
    check(p, Math.ceil(p.shape[1] / (p.params.groupSize as number)));
  }
  // 3 bits: int3 (a 77-column row: a padded last chunk) and SpQR w3, not SpQR w2 or w4
  for (const p of [randomPacked('int3', [5, 77], { groupSize: 32, permuted: 1 }, 11), randomPacked('spqr', [6, 96], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 4, permuted: 0 }, 12)]) {
    assert.ok(codesPaired3(p.format, p.params), p.format);
    checkPaired3(p, arrayAt(packedImage(p), 0, (p.arrays.codes as Uint8Array).length));
  }
  assert.ok(!codesPaired3('spqr', { bits: 4 }) && !codesPaired3('spqr', { bits: 2 }) && !codesPaired3('int4', { groupSize: 128 }));
});

test('int4 and int3 images: scale | zero << 16 (fp16 each) per group, row-major ([out, nGroups]), zeros array empty, 86 groups (not a multiple of 32)', () => {
  for (const p of [randomPacked('int4', [37, 86 * 128], { groupSize: 128, permuted: 0 }, 3), randomPacked('int3', [21, 11 * 32], { groupSize: 32, permuted: 0 }, 4)]) {
    const [out] = p.shape;
    const nG = (p.shape[1] as number) / (p.params.groupSize as number);
    const bits = p.format === 'int4' ? 4 : 3;
    check(p, nG);
    const img = packedImage(p);
    const scales = u16(p.arrays.scales as Uint8Array);
    const zeros = unpackBits(p.arrays.zeros as Uint8Array, nG, out, bits);
    const stats = u16(arrayAt(img, 1, out * nG * 4));
    assert.equal(words(img)[2], words(img)[3], `${p.format}: zeros array empty (array 3 starts where it does)`);
    for (let g = 0; g < nG; g++) {
      for (let r = 0; r < out; r++) {
        assert.equal(stats[2 * (r * nG + g)], scales[g * out + r], `${p.format} scale g${g} r${r}`);
        assert.equal(f16ToF32(stats[2 * (r * nG + g) + 1] as number), zeros[g * out + r], `${p.format} zero g${g} r${r}`);
      }
    }
  }
});

test('SpQR image: (scale, zero) code fields row-major, second-level stats [nStat, nGroups, 2], outliers one word an entry', () => {
  // qqBits 3: byte fields, four groups a word (7 groups: rows of 2 words); qqBits 6: 16-bit fields, two a word
  for (const [qq, field, rowWords] of [[3, 8, 2], [6, 16, 4]] as const) {
    const p = randomPacked('spqr', [37, 7 * 16], { bits: 3, groupSize: 16, qqBits: qq, qqGroup: 16, permuted: 0 }, 5, { outlierRate: 0.05 });
    const [out] = p.shape;
    const nG = 7;
    assert.equal(spqrPairField(qq), field);
    check(p, nG);
    const img = packedImage(p);
    assert.equal(words(img)[2], words(img)[3], `qq ${qq}: zeroCodes empty (array 3 starts where it does)`);
    const sc = unpackBits(p.arrays.scaleCodes as Uint8Array, nG, out, qq);
    const zc = unpackBits(p.arrays.zeroCodes as Uint8Array, nG, out, qq);
    const pairs = new Uint32Array(arrayAt(img, 1, out * rowWords * 4).slice().buffer);
    for (let r = 0; r < out; r++) {
      for (let g = 0; g < nG; g++) {
        const bit = g * field;
        const v = ((pairs[r * rowWords + (bit >>> 5)] as number) >>> (bit & 31)) & ((1 << field) - 1);
        assert.equal(v & ((1 << (field / 2)) - 1), sc[g * out + r], `qq ${qq} scale code g${g} r${r}`);
        assert.equal(v >>> (field / 2), zc[g * out + r], `qq ${qq} zero code g${g} r${r}`);
      }
    }
    if (qq === 3) checkSpqrStatsAndOutliers(p, img, out, nG);
  }
});

/** SpQR image arrays 3–7: second-level stats [nStat, nGroups, 2] (β2 16), row pointers as stored, each outlier's column and value in one word. */
function checkSpqrStatsAndOutliers(p: PackedTensor, img: Uint8Array, out: number, nG: number): void {
  const nStat = Math.ceil(out / 16);
  for (const [i, name] of [[3, 'scaleStats'], [4, 'zeroStats']] as const) {
    const stored = u16(p.arrays[name] as Uint8Array);
    const gpu = u16(arrayAt(img, i, stored.length * 2));
    for (let g = 0; g < nG; g++) for (let s = 0; s < nStat; s++) for (let k = 0; k < 2; k++) assert.equal(gpu[(s * nG + g) * 2 + k], stored[(g * nStat + s) * 2 + k], `${name} g${g} s${s}`);
  }
  const rowPtr = p.arrays.outlierRowPtr as Uint8Array;
  assert.deepEqual(arrayAt(img, 5, rowPtr.length), rowPtr, 'outlierRowPtr as stored');
  // each entry one u32: column | fp16 value << 16; outlierVal empty
  const col = u16(p.arrays.outlierCol as Uint8Array);
  const val = u16(p.arrays.outlierVal as Uint8Array);
  assert.ok(col.length > 0, 'the tensor has outliers');
  const pairs = new Uint32Array(arrayAt(img, 6, col.length * 4).slice().buffer);
  for (let e = 0; e < col.length; e++) {
    assert.equal((pairs[e] as number) & 0xffff, col[e], `outlier ${e} column`);
    assert.equal((pairs[e] as number) >>> 16, val[e], `outlier ${e} value`);
  }
  assert.equal((words(img)[6] as number) + Math.ceil(col.length / 4) * 4, words(img)[7], 'array 7 right after the pairs');
  assert.equal(words(img)[7], words(img)[8], 'outlierVal empty (array 8 starts where it does)');
}
