import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parity } from '../tools/parity/compare.js';
import { makeDump } from '../tools/parity/dump-layer.js';
import { readLayerDump, readReference, writeLayerDump } from '../tools/parity/layer-dump.js';
import { syntheticLayer } from '../tools/parity/synthetic.js';

test('parity dump: raw little-endian files plus a JSON sidecar, read back exactly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-parity-'));
  try {
    const L = syntheticLayer(9, 20, { seed: 1 });
    const dump = makeDump('spqr', L.W, L.H, 9, 20, L.nSamples, { groupSize: 8, qqGroup: 4, outlierThreshold: Infinity });
    writeLayerDump(dir, dump);
    const meta = JSON.parse(readFileSync(join(dir, 'layer.json'), 'utf8'));
    assert.deepEqual(meta.shape, [9, 20]);
    assert.equal(meta.method, 'spqr');
    assert.equal(meta.config.outlierThreshold, 'Infinity');
    assert.equal(meta.config.groupSize, 8);
    assert.equal(meta.config.bits, 3);
    assert.deepEqual(meta.files, { W: 'W.f32', H: 'H.f64', What: 'What.ts.f32', codes: 'codes.ts.u8', perm: 'perm.ts.u32' });
    assert.equal(statSync(join(dir, 'W.f32')).size, 9 * 20 * 4);
    assert.equal(statSync(join(dir, 'H.f64')).size, 20 * 20 * 8);
    const w = readFileSync(join(dir, 'W.f32'));
    assert.equal(w.readFloatLE(4 * 7), L.W[7]);
    assert.equal(readFileSync(join(dir, 'H.f64')).readDoubleLE(8 * 21), L.H[21]);

    const back = readLayerDump(dir);
    assert.equal(back.config.outlierThreshold, Infinity);
    assert.deepEqual(back.W, dump.W);
    assert.deepEqual(back.H, dump.H);
    assert.deepEqual(back.What, dump.What);
    assert.deepEqual(back.codes, dump.codes);
    assert.deepEqual(back.perm, dump.perm);
    assert.equal(readReference(dir, 'What.ref.f32', 9 * 20 * 4), null);
    writeFileSync(join(dir, 'H.f64'), new Uint8Array(10));
    assert.throws(() => readLayerDump(dir), /H\.f64: 10 bytes, expected 3200/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parity report: identical, close (f32 rounding) and code agreement fractions', () => {
  const a = Float32Array.from([1, 2, 3, 4]);
  const b = Float32Array.from([1, 2 * (1 + 2 ** -23), 3.5, 4]);
  const r = parity(a, b, Uint8Array.from([0, 1, 2, 3]), Uint8Array.from([0, 1, 3, 3]));
  assert.deepEqual(r, { entries: 4, identical: 0.5, close: 0.75, codes: 0.75, maxAbsDiff: 0.5 });
});
