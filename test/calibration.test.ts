/** Calibration windows (data/calibration.ts) from texts whose tokens are longer than the slice assumes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationWindows } from '../src/data/calibration.js';

test('calibration: a document of long tokens (12 characters each) still gives its windows: the slice doubles from the same start', () => {
  const doc = Array.from({ length: 2000 }, (_, i) => `w${String(i).padStart(10, '0')}`).join(' '); // 2000 tokens of 12 characters
  const tokenize = (text: string): Int32Array => Int32Array.from(text.split(' ').filter((w) => w.length > 0), (w) => Number(w.slice(1)) || 0);
  const w = calibrationWindows(doc, tokenize, null, { samples: 4, seqlen: 128, seed: 0 });
  assert.equal(w.length, 4 * 128);
  for (let s = 0; s < 4; s++) {
    const row = w.subarray(s * 128, (s + 1) * 128);
    for (let i = 1; i < 128; i++) assert.equal(row[i], (row[i - 1] as number) + 1, 'consecutive tokens of the document');
  }
  assert.throws(() => calibrationWindows(doc.slice(0, 1200), tokenize, null, { samples: 1, seqlen: 128, seed: 0 }), /no document of the calibration text holds 128 tokens/);
});
