/**
 * The sequential pipeline on lowbit-ref-15m: every linear layer quantized once
 * in the right order, GPTQ's calibration error never above RTN's on the same
 * H, and a resumed job equal to an uninterrupted one.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createCpuBackend } from '../src/backend/cpu/node-cpu.js';
import { calibrationWindows } from '../src/data/calibration.js';
import { WorkDir } from '../src/quant/checkpoint.js';
import { quantizeLayer as rtn } from '../src/quant/methods/rtn.js';
import { quantizeBlocks, type BlockResult, type CheckpointStore, type MethodSpec } from '../src/quant/pipeline.js';
import { openModelDir } from '../src/runtime/load.js';
import { MODELS, DATA } from './helpers.js';

const SAMPLES = 4;
const SEQLEN = 64;

async function setup() {
  const files = await openModelDir(`${MODELS}/lowbit-ref-15m`);
  const text = await readFile(`${DATA}/corpus/train.txt`, 'utf8');
  const windows = calibrationWindows(text, files.tokenizer.encode, 1, { samples: SAMPLES, seqlen: SEQLEN, seed: 0 });
  const weights = { read: (n: string) => files.source.read(n), has: (n: string) => files.source.tensors.has(n) };
  return { files, windows, weights };
}

class MemoryStore implements CheckpointStore {
  readonly blocks: BlockResult[] = [];
  resumePoint() {
    return Promise.resolve(null);
  }
  save(r: BlockResult) {
    this.blocks.push(r);
    return Promise.resolve();
  }
}

test('calibration windows: seeded, whole, no BOS, different per seed', async () => {
  const { files, windows } = await setup();
  await files.source.close();
  const text = await readFile(`${DATA}/corpus/train.txt`, 'utf8');
  const again = calibrationWindows(text, files.tokenizer.encode, 1, { samples: SAMPLES, seqlen: SEQLEN, seed: 0 });
  const other = calibrationWindows(text, files.tokenizer.encode, 1, { samples: SAMPLES, seqlen: SEQLEN, seed: 1 });
  assert.equal(windows.length, SAMPLES * SEQLEN);
  assert.deepEqual(again, windows);
  assert.notDeepEqual(other, windows);
  for (let w = 0; w < SAMPLES; w++) assert.notEqual(windows[w * SEQLEN], 1, 'a window starts with BOS');
  assert.ok(windows.every((id) => id >= 0 && id < 32000));
});

test('lowbit-ref-15m, GPTQ 3-bit g128: every layer once, in order, error ≤ RTN on the same H', async () => {
  const { files, windows, weights } = await setup();
  const store = new MemoryStore();
  const method: MethodSpec = { method: 'gptq', config: { bits: 3, groupSize: 128 } };
  const seen: string[] = [];
  let checked = 0;
  const backend = createCpuBackend();
  try {
    await quantizeBlocks({
      backend,
      config: files.config,
      weights,
      method,
      windows,
      seqlen: SEQLEN,
      store,
      onLayer: (name, W, stats, r) => {
        seen.push(name);
        const base = rtn(W, stats, { bits: 3, groupSize: 128 });
        assert.ok(r.error !== null && base.error !== null);
        assert.ok(r.error.proxy <= base.error.proxy, `${name}: GPTQ ${r.error.proxy} > RTN ${base.error.proxy}`);
        assert.ok(r.error.relative > 0 && r.error.relative < 1, `${name}: relative error ${r.error.relative}`);
        checked++;
      },
    });
  } finally {
    backend.dispose();
    await files.source.close();
  }
  const L = files.config.nLayers;
  assert.equal(checked, 7 * L);
  assert.equal(store.blocks.length, L);
  const order = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
  for (let l = 0; l < L; l++) {
    assert.deepEqual(seen.slice(7 * l, 7 * l + 7).map((n) => n.split('.').at(-2)), order);
    assert.deepEqual(store.blocks[l]!.tensors.map((t) => t.packed.format), Array(7).fill('int3'));
  }
});

test('a job resumed from its work directory after block 2 writes the same blocks as an uninterrupted one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-resume-'));
  const method: MethodSpec = { method: 'rtn', config: { bits: 4, groupSize: 64 } };
  const job = { model: 'lowbit-ref-15m', method };
  try {
    const { files, windows, weights } = await setup();
    const backend = createCpuBackend();
    after(() => backend.dispose());
    const base = { backend, config: files.config, weights, method, windows, seqlen: SEQLEN };
    // uninterrupted
    const full = await WorkDir.open(join(dir, 'a'), job, false);
    await quantizeBlocks({ ...base, store: full });
    // interrupted: a store that dies after saving block 2
    const cut = await WorkDir.open(join(dir, 'b'), job, false);
    const dying: CheckpointStore = {
      resumePoint: () => cut.resumePoint(),
      save: async (r, acts) => {
        await cut.save(r, acts);
        if (r.block === 2) throw new Error('killed');
      },
    };
    await assert.rejects(quantizeBlocks({ ...base, store: dying }), /killed/);
    const resumed = await WorkDir.open(join(dir, 'b'), job, true);
    const point = await resumed.resumePoint();
    assert.equal(point?.next, 3);
    let firstBlock = -1;
    await quantizeBlocks({ ...base, store: resumed, onEvent: (e) => void (e.kind === 'start' && (firstBlock = e.resumedAt)) });
    assert.equal(firstBlock, 3);
    await assert.rejects(WorkDir.open(join(dir, 'b'), { ...job, model: 'other' }, true), /belongs to a different job/);
    await files.source.close();
    for (let l = 0; l < files.config.nLayers; l++) {
      // the packed tensors are identical (reports differ only in their timings)
      assert.deepEqual((await resumed.load(l)).tensors, (await full.load(l)).tensors, `block ${l} differs after resume`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
