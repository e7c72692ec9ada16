/**
 * End to end through the packed kernels: lowbit-ref-15m quantized with RTN
 * (int4 g64), GPTQ (int3 g128, act-order: a permuted layout) and SpQR (w3,
 * β1 = β2 = 16, outliers), each `lowbit eval`ed on WikiText-2 (seqlen 128, 3 windows)
 * with `--weights packed` (uploaded as stored, computed on by the packed WGSL kernels)
 * and `--weights dequant` (f32 at load, the dense kernels): perplexities within
 * 0.01 %, the same greedy tokens. Plus the library API (`load`, `generate`,
 * `perplexity`, `dispose`) on the same files. WebGPU on whatever adapter exists
 * (lavapipe in CI); the CPU backend runs the packed reference for the API test too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { load } from '../src/index.js';
import { tensor } from '../src/tensor/tensor.js';
import { DATA, MODELS, relErr, runCli, runCliJson, WIKITEXT } from './helpers.js';
import { tryWebGpu } from './webgpu-helpers.js';
import { GpuPackedTensor } from '../src/backend/webgpu/packed.js';

const { b: probe, skip } = await tryWebGpu();
probe?.dispose();

const METHODS = {
  rtn: ['--method', 'rtn', '--bits', '4', '--group-size', '64'],
  gptq: ['--method', 'gptq', '--bits', '3', '--group-size', '128', '--act-order'],
  spqr: ['--method', 'spqr'],
} as const;
const FORMAT = { rtn: 'int4', gptq: 'int3', spqr: 'spqr' } as const;
type Method = keyof typeof METHODS;

interface EvalJson {
  ppl: number;
  tokens: number;
  packed: Record<string, number>;
}

describe('packed end to end (lowbit-ref-15m)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-packed-'));
  const file = (m: Method): string => join(dir, `${m}.lowbit`);
  before(async () => {
    const runs = (Object.keys(METHODS) as Method[]).map(async (m) => {
      const args = ['quantize', `${MODELS}/lowbit-ref-15m`, ...METHODS[m], '--calib', `${DATA}/corpus/train.txt`, '--calib-samples', '4', '--calib-seqlen', '128', '--backend', 'cpu', '--out', file(m)];
      const r = await runCli(args);
      if (r.code !== 0) throw new Error(`quantize ${m}: ${r.stderr}`);
    });
    await Promise.all(runs);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const m of Object.keys(METHODS) as Method[]) {
    test(`${m}: eval and greedy generate on webgpu, packed kernels vs dequantized at load (ppl within 0.01 %, same tokens)`, { skip }, async () => {
      const evalArgs = (w: string): string[] => ['eval', file(m), '--data', WIKITEXT, '--seqlen', '128', '--windows', '3', '--backend', 'webgpu', '--weights', w];
      const genArgs = (w: string): string[] => ['generate', file(m), '--prompt', 'The history of the', '--max-tokens', '12', '--backend', 'webgpu', '--weights', w];
      const [packed, dequant] = await Promise.all([runCliJson<EvalJson>(evalArgs('packed')), runCliJson<EvalJson>(evalArgs('dequant'))]);
      assert.deepEqual(packed.packed, { [FORMAT[m]]: 56 }, "every projection of the 8 layers runs packed");
      assert.deepEqual(dequant.packed, {});
      console.log(`${m}: ppl packed ${packed.ppl}, dequant ${dequant.ppl}`);
      assert.ok(relErr(packed.ppl, dequant.ppl) < 1e-4, `packed ${packed.ppl} vs dequant ${dequant.ppl}`);
      const [g1, g2] = await Promise.all([runCliJson<{ ids: number[] }>(genArgs('packed')), runCliJson<{ ids: number[] }>(genArgs('dequant'))]);
      assert.equal(g1.ids.length, 12);
      assert.deepEqual(g1.ids, g2.ids);
    });
  }

  // A device whose storage bindings hold less than a merged gate|up (128 KiB; logits of one token
  // still fit): those run packed in row chunks, and greedy generation (prefill GEMM, decode GEMV)
  // gives the CPU packed reference's tokens.
  for (const m of Object.keys(METHODS) as Method[]) {
    test(`${m}: projections over one binding run packed in row chunks; greedy tokens equal the CPU reference's`, { skip }, async () => {
      const { b } = await tryWebGpu({ maxBindingBytes: 128 * 1024 });
      assert.ok(b);
      const gpu = await load(file(m), { backend: b, maxPositions: 32 });
      const cpu = await load(file(m), { backend: 'cpu', maxPositions: 32 });
      assert.deepEqual(gpu.weightStats.packed, { [FORMAT[m]]: 56 });
      assert.equal(gpu.weightStats.dequantized, 0);
      const gateUp = gpu.model.weights.layers[0]?.gateUp.parts[0]?.w as GpuPackedTensor;
      assert.ok(gateUp instanceof GpuPackedTensor && gateUp.live().length > 1, 'gate|up in row chunks');
      const ids = async (h: typeof gpu): Promise<number[]> => {
        const out: number[] = [];
        for await (const t of h.generate('The history of the', { maxTokens: 10 })) out.push(t.id);
        return out;
      };
      const [a, c] = [await ids(gpu), await ids(cpu)];
      assert.equal(a.length, 10);
      assert.deepEqual(a, c);
      gpu.dispose();
      cpu.dispose();
      b.dispose();
    });
  }

  test('library API: load → generate (async iterator) → perplexity → dispose, packed on the CPU reference equals dequant', async () => {
    const text = readFileSync(WIKITEXT, 'utf8').slice(0, 3000);
    const packed = await load(file('spqr'), { backend: 'cpu', maxPositions: 64 });
    const dequant = await load(file('spqr'), { backend: 'cpu', maxPositions: 64, weights: 'dequant' });
    assert.deepEqual(packed.weightStats.packed, { spqr: 56 });
    assert.equal(dequant.weightStats.dequantized, 56);
    const tokens = async (h: typeof packed): Promise<{ ids: number[]; text: string }> => {
      const ids: number[] = [];
      let s = '';
      for await (const t of h.generate('Once upon a time', { maxTokens: 8 })) {
        ids.push(t.id);
        s += t.text;
      }
      return { ids, text: s };
    };
    const a = await tokens(packed);
    const b = await tokens(dequant);
    assert.equal(a.ids.length, 8);
    assert.deepEqual(a.ids, b.ids);
    assert.ok(a.text.length > 0);
    const pa = await packed.perplexity(text, { seqlen: 64, windows: 2 });
    const pb = await dequant.perplexity(text, { seqlen: 64, windows: 2 });
    assert.ok(relErr(pa.ppl, pb.ppl) < 1e-4, `packed ${pa.ppl} vs dequant ${pb.ppl}`);
    packed.dispose();
    dequant.dispose();
    // a backend of the caller's stays usable after dispose; the model's weights do not
    const own = new CpuBackend();
    const mine = await load(file('rtn'), { backend: own, maxPositions: 16 });
    const head = mine.model.weights.lmHead;
    mine.dispose();
    const x = own.upload(tensor('f32', [1, 256], new Float32Array(256)));
    assert.throws(() => own.matmul(own.empty('f32', [1, 32000]), x, head), /after free/);
    own.free(x);
  });
});
