/** concatPackedRows: the stacked tensor unpacks to exactly the parts' Ŵ stacked; mismatched parts are refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatPackedRows, packedRowAlign, slicePackedRows } from '../src/formats/concat.js';
import { FORMATS } from '../src/formats/index.js';
import { randomPacked } from '../src/formats/random.js';
import type { FormatId } from '../src/formats/types.js';

test('int2/3/4/8, g 32 / 7 / per-channel, with and without act-order: unpack(concat) = stacked unpacks, bit for bit', () => {
  let seed = 1;
  for (const f of ['int2', 'int3', 'int4', 'int8'] as FormatId[]) {
    for (const [inn, g] of [[96, 32], [67, 7], [64, 64]] as const) {
      for (const permuted of [0, 1]) {
        const a = randomPacked(f, [20, inn], { groupSize: g, permuted }, seed++);
        // every part shares the first one's permutation, as q, k and v do
        const withPerm = (rows: number): ReturnType<typeof randomPacked> => {
          const p = randomPacked(f, [rows, inn], { groupSize: g, permuted }, seed++);
          return { ...p, arrays: { ...p.arrays, perm: a.arrays.perm as Uint8Array } };
        };
        const parts = [a, withPerm(7), withPerm(13)];
        const m = concatPackedRows(parts);
        assert.ok(m, `${f} in ${inn} g ${g} permuted ${permuted}`);
        assert.deepEqual(m.shape, [40, inn]);
        const want = new Float32Array(40 * inn);
        let at = 0;
        for (const p of parts) {
          const w = FORMATS[f].unpack(p).weight;
          want.set(w, at);
          at += w.length;
        }
        assert.deepEqual(FORMATS[f].unpack(m).weight, want, `${f} in ${inn} g ${g} permuted ${permuted}`);
      }
    }
  }
});

test('parts of different formats, group sizes, widths or permutations are not merged', () => {
  const a = randomPacked('int4', [8, 64], { groupSize: 32, permuted: 1 }, 1);
  assert.equal(concatPackedRows([a, randomPacked('int3', [8, 64], { groupSize: 32, permuted: 1 }, 2)]), null);
  assert.equal(concatPackedRows([a, randomPacked('int4', [8, 64], { groupSize: 16, permuted: 1 }, 3)]), null);
  assert.equal(concatPackedRows([a, randomPacked('int4', [8, 96], { groupSize: 32, permuted: 1 }, 4)]), null);
  assert.equal(concatPackedRows([a, randomPacked('int4', [8, 64], { groupSize: 32, permuted: 1 }, 5)]), null, 'another permutation');
  const s = randomPacked('spqr', [16, 64], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, 6);
  assert.equal(concatPackedRows([s, randomPacked('spqr', [16, 64], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 8, permuted: 0 }, 7)]), null, 'SpQR β2');
  assert.equal(concatPackedRows([s, randomPacked('spqr', [16, 64], { bits: 4, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, 8)]), null, 'SpQR bits');
  const ragged = randomPacked('spqr', [12, 64], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, 9);
  assert.equal(concatPackedRows([ragged, s]), null, 'a SpQR part before the last with a partial β2 chunk');
  assert.ok(concatPackedRows([s, ragged]), 'the last part may end in a partial β2 chunk');
});

test('SpQR w3 β1 16 / 8, β2 16 / 4, with outliers and act-order: unpack(concat) = stacked unpacks, bit for bit', () => {
  let seed = 100;
  for (const [inn, g, qq] of [[64, 16, 16], [72, 8, 4]] as const) {
    for (const permuted of [0, 1]) {
      const params = { bits: 3, groupSize: g, qqBits: 3, qqGroup: qq, permuted };
      const a = randomPacked('spqr', [32, inn], params, seed++, { outlierRate: 0.05 });
      const withPerm = (rows: number, outlierRate: number): ReturnType<typeof randomPacked> => {
        const p = randomPacked('spqr', [rows, inn], params, seed++, { outlierRate });
        return { ...p, arrays: { ...p.arrays, perm: a.arrays.perm as Uint8Array } };
      };
      // a part without outliers in the middle; the last part ends in a partial β2 chunk
      const parts = [a, withPerm(16, 0), withPerm(20, 0.1)];
      const m = concatPackedRows(parts);
      assert.ok(m, `in ${inn} β1 ${g} β2 ${qq} permuted ${permuted}`);
      assert.deepEqual(m.shape, [68, inn]);
      assert.equal(m.params.outliers, parts.reduce((n, p) => n + (p.params.outliers as number), 0));
      assert.ok((m.params.outliers as number) > 0);
      const want = new Float32Array(68 * inn);
      let at = 0;
      for (const p of parts) {
        const w = FORMATS.spqr.unpack(p).weight;
        want.set(w, at);
        at += w.length;
      }
      assert.deepEqual(FORMATS.spqr.unpack(m).weight, want, `in ${inn} β1 ${g} β2 ${qq} permuted ${permuted}`);
    }
  }
});

test('slicePackedRows: every row range of int2/3/4/8 and SpQR (β2-aligned, outliers, act-order) unpacks to those rows of Ŵ, bit for bit; concat of the slices is the tensor', () => {
  let seed = 300;
  const cases: [FormatId, number, Record<string, number>][] = [
    ['int2', 96, { groupSize: 32, permuted: 0 }],
    ['int3', 67, { groupSize: 7, permuted: 1 }],
    ['int4', 64, { groupSize: 64, permuted: 0 }],
    ['int8', 40, { groupSize: 16, permuted: 1 }],
    ['spqr', 72, { bits: 3, groupSize: 8, qqBits: 3, qqGroup: 4, permuted: 1 }],
    ['spqr', 64, { bits: 4, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }],
  ];
  for (const [f, inn, params] of cases) {
    const out = f === 'spqr' ? 37 : 23; // SpQR: a partial last β2 chunk
    const p = randomPacked(f, [out, inn], params, seed++, { outlierRate: 0.05 });
    const w = FORMATS[f].unpack(p).weight;
    const align = packedRowAlign(p);
    assert.equal(align, f === 'spqr' ? params.qqGroup : 1);
    for (const [r0, r1] of [[0, out], [0, align], [align, Math.min(3 * align, out)], [2 * align, out], [out - (out % align || align), out]] as const) {
      const s = slicePackedRows(p, r0, r1);
      assert.deepEqual(s.shape, [r1 - r0, inn]);
      assert.deepEqual(FORMATS[f].unpack(s).weight, w.subarray(r0 * inn, r1 * inn), `${f} rows ${r0} … ${r1}`);
    }
    const cut = align === 1 ? 2 : align; // SpQR: a tail of at least β2 rows keeps β2
    const back = concatPackedRows([slicePackedRows(p, 0, cut), slicePackedRows(p, cut, out)]);
    assert.ok(back);
    assert.deepEqual(back.params, p.params);
    for (const [name, a] of Object.entries(p.arrays)) assert.deepEqual(back.arrays[name], a, `${f}: concat(slices) array ${name}`);
  }
  const s = randomPacked('spqr', [32, 64], { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, 1);
  assert.throws(() => slicePackedRows(s, 8, 32), /slicePackedRows spqr\[32, 64\] rows 8 … 32: SpQR rows must be sliced at multiples of β2 = 16/);
  assert.throws(() => slicePackedRows(s, 0, 33), /not a row range of the tensor/);
  assert.throws(() => slicePackedRows(randomPacked('int4', [4, 32], { groupSize: 32, permuted: 0 }, 2), 2, 2), /not a row range/);
});
