/**
 * The .lowbit container: round trip of every format (bit-identical Ŵ),
 * determinism, alignment, exact bit accounting, writer checks, the malformed
 * file suite through `lowbit inspect` (exit 2, one line, no stack), and eval /
 * generate of a .lowbit export against the model directory it came from, and the
 * browser-safe reader over bytes (io/lowbit-read.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FORMATS, denseTensor } from '../src/formats/index.js';
import type { PackedTensor, QuantizedTensor } from '../src/formats/types.js';
import { crc32 } from '../src/io/crc32.js';
import { lowbitStats, openLowbit, writeLowbit, type LowbitTensorEntry, type LowbitWriteOptions } from '../src/io/lowbit-file.js';
import { LOWBIT_PREAMBLE_BYTES } from '../src/io/lowbit-header.js';
import { bytesReader, openLowbitFrom } from '../src/io/lowbit-read.js';
import { openLowbitModel, writeLowbitFromModel } from '../src/io/lowbit-model.js';
import { loadTokenizer } from '../src/io/tokenizer.js';
import { quantizeLayer as gptq } from '../src/quant/methods/gptq.js';
import { quantizeLayer as rtn } from '../src/quant/methods/rtn.js';
import { quantizeLayer as spqr } from '../src/quant/methods/spqr.js';
import { RTN_DEFAULTS, type RtnConfig } from '../src/quant/types.js';
import { f32Bits } from '../src/tensor/dtype.js';
import { tensor, toF32, type HostTensor } from '../src/tensor/tensor.js';
import { correlatedHessian, randomWeight } from '../tools/parity/synthetic.js';
import { MODELS, WIKITEXT, runCli, runCliJson } from './helpers.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lowbit-file-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const CREATED = '2026-01-01T00:00:00.000Z';
const HEADER: LowbitWriteOptions = {
  architecture: { architectures: ['LlamaForCausalLM'], hidden_size: 8 },
  tokenizer: { 'tokenizer.json': '{"model": {}}', 'tokenizer_config.json': null },
  quantization: { method: 'mixed', config: { note: 'test' }, calibration: { file: 'c.txt', samples: 4, seqlen: 16, seed: 0 }, quantize_head: false },
  metadata: { purpose: 'test' },
  created: CREATED,
  lowbitVersion: '0.0.0-test',
};

const bitsEqual = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => f32Bits(x) === f32Bits(b[i] as number));
const w32 = (out: number, inn: number, seed: number): HostTensor<'f32'> => tensor('f32', [out, inn], randomWeight(out, inn, seed, true));

/** One quantized tensor per format, odd shapes included; [name, model shape, tensor]. */
function everyFormat(): [string, number[], QuantizedTensor][] {
  const H = (inn: number, seed: number) => correlatedHessian(inn, { seed });
  const W = w32(24, 80, 3);
  return [
    ['dense.f32', [5, 7], denseTensor('f32', randomWeight(5, 7, 1), 5, 7)],
    ['dense.f16', [9, 33], denseTensor('f16', randomWeight(9, 33, 2), 9, 33)],
    ['norm.bf16', [33], denseTensor('bf16', randomWeight(1, 33, 3), 1, 33)],
    ['rtn.int2', [24, 80], rtn(W, null, { bits: 2, groupSize: 16 })],
    ['gptq.int3.actorder', [20, 48], gptq(w32(20, 48, 4), H(48, 4), { bits: 3, groupSize: 16, actOrder: true })],
    ['rtn.int4.perchannel', [17, 40], rtn(w32(17, 40, 5), null, { bits: 4, groupSize: 0 })],
    ['rtn.int8', [24, 80], rtn(W, null, { bits: 8, groupSize: 32 })],
    ['spqr.outliers', [32, 64], spqr(w32(32, 64, 6), H(64, 6), { outlierThreshold: 0.1 })],
    ['spqr.plain', [19, 40], spqr(w32(19, 40, 7), H(40, 7), { outlierThreshold: Infinity, permutation: 'identity', bits: 2 })],
  ];
}

function entries(): { entries: LowbitTensorEntry[]; tensors: Map<string, QuantizedTensor> } {
  const list = everyFormat();
  const tensors = new Map(list.map(([n, , t]) => [n, t]));
  return { entries: list.map(([name, shape, t]) => ({ name, shape, packed: FORMATS[t.format as keyof typeof FORMATS].pack(t) })), tensors };
}

test('crc32: the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('round trip: every format reads back with identical bytes and a bit-identical Ŵ; arrays are 64-byte aligned', async () => {
  const { entries: list, tensors } = entries();
  const formats = new Set(list.map((e) => e.packed.format));
  assert.deepEqual([...formats].sort(), Object.keys(FORMATS).sort(), 'every format is covered');
  assert.ok(list.some((e) => e.packed.params['permuted'] === 1) && list.some((e) => (e.packed.params['outliers'] ?? 0) > 0));
  const path = join(root, 'all.lowbit');
  const summary = await writeLowbit(path, list, HEADER);
  assert.equal(summary.tensors, list.length);
  const f = await openLowbit(path);
  try {
    assert.deepEqual(f.tensorNames, list.map((e) => e.name));
    assert.equal(f.header.created, CREATED);
    assert.deepEqual(f.header.quantization, HEADER.quantization);
    assert.deepEqual(f.header.architecture, HEADER.architecture);
    assert.deepEqual(f.header.metadata, HEADER.metadata);
    assert.equal(f.fileBytes, summary.bytes);
    for (const e of list) {
      const spec = f.spec(e.name);
      assert.deepEqual(spec.shape, e.shape);
      for (const s of Object.values(spec.arrays)) assert.equal(s.offset % 64, 0);
      const p: PackedTensor = await f.readPacked(e.name);
      assert.deepEqual(p.shape, e.packed.shape);
      assert.deepEqual(p.params, e.packed.params);
      for (const a of FORMATS[p.format].arrays) assert.deepEqual(p.arrays[a], e.packed.arrays[a], `${e.name} array ${a}`);
      const back = FORMATS[p.format].unpack(p).weight;
      assert.ok(bitsEqual(back, (tensors.get(e.name) as QuantizedTensor).weight), `${e.name}: Ŵ bit-identical`);
    }
  } finally {
    await f.close();
  }
});

test('determinism: the same inputs give byte-identical files', async () => {
  const a = join(root, 'det-a.lowbit');
  const b = join(root, 'det-b.lowbit');
  await writeLowbit(a, entries().entries, HEADER);
  await writeLowbit(b, entries().entries, HEADER);
  assert.deepEqual(await readFile(a), await readFile(b));
});

test('bits per parameter are exact: 8 · Σ array bytes / params', async () => {
  const { entries: list } = entries();
  const path = join(root, 'bits.lowbit');
  await writeLowbit(path, list, HEADER);
  const f = await openLowbit(path);
  await f.close();
  const stats = lowbitStats(f.header);
  const bytesOf = (e: LowbitTensorEntry) => Object.values(e.packed.arrays).reduce((s, a) => s + a.length, 0);
  const paramsOf = (e: LowbitTensorEntry) => e.packed.shape[0] * e.packed.shape[1];
  const quant = list.filter((e) => !['f32', 'f16', 'bf16'].includes(e.packed.format));
  const sum = (l: LowbitTensorEntry[], g: (e: LowbitTensorEntry) => number) => l.reduce((s, e) => s + g(e), 0);
  assert.equal(stats.bitsAll, (8 * sum(list, bytesOf)) / sum(list, paramsOf));
  assert.equal(stats.bitsQuantized, (8 * sum(quant, bytesOf)) / sum(quant, paramsOf));
  const int4 = stats.tensors.find((t) => t.name === 'rtn.int4.perchannel');
  assert.equal(int4?.bits, (8 * bytesOf(list[5] as LowbitTensorEntry)) / (17 * 40));
  const spqrPlain = spqr(w32(64, 256, 1), correlatedHessian(256, { seed: 1 }), { outlierThreshold: Infinity });
  const p = FORMATS.spqr.pack(spqrPlain);
  await writeLowbit(path, [{ name: 'w', packed: p }], HEADER);
  const g = await openLowbit(path);
  await g.close();
  // 3.625 bits of the SpQR formula + row pointers (4 B/row) + perm (2 B/column)
  assert.equal(lowbitStats(g.header).bitsAll, 3.625 + (8 * (4 * 65 + 2 * 256)) / (64 * 256));
});

test('writer: wrong array sizes and repeated names are refused, and no file (or temp file) is left', async () => {
  const dir = await mkdtemp(join(root, 'refuse-'));
  const good = entries().entries[0] as LowbitTensorEntry;
  const short: LowbitTensorEntry = { name: 'x', packed: { ...good.packed, arrays: { data: new Uint8Array(3) } } };
  await assert.rejects(writeLowbit(join(dir, 'a.lowbit'), [short], HEADER), /array "data" has 3 bytes, expected 140/);
  await assert.rejects(writeLowbit(join(dir, 'a.lowbit'), [good, good], HEADER), /given twice/);
  await assert.rejects(writeLowbit(join(dir, 'a.lowbit'), [{ ...good, shape: [7, 5] }], HEADER), /packed as \[5, 7\]/);
  assert.deepEqual(await readdir(dir), []);
});

// ---- malformed files through the CLI ----

const demoDir = `${MODELS}/lowbit-demo`;
const DEMO_RTN: RtnConfig = { ...RTN_DEFAULTS, bits: 4, groupSize: 64 };
const rtnInt4 = (name: string, w: HostTensor<'f32'>): PackedTensor => FORMATS.int4.pack(rtn(w, null, DEMO_RTN));
const exportsMade = new Map<string, Promise<string>>();
/** A .lowbit export of the demo model named `file` under root, made once: its linear layers packed by `pack` (RTN int4 by default), the rest as stored. */
function demoExport(file: string, pack: (name: string, w: HostTensor<'f32'>) => PackedTensor = rtnInt4): Promise<string> {
  let made = exportsMade.get(file);
  if (!made) {
    made = (async () => {
      const path = join(root, file);
      await writeLowbitFromModel(demoDir, path, {
        created: CREATED,
        quantization: { method: 'rtn', config: DEMO_RTN, calibration: null, quantize_head: false },
        pack: (name, t) => (name.endsWith('_proj.weight') ? pack(name, tensor('f32', t.shape, toF32(t))) : null),
      });
      return path;
    })();
    exportsMade.set(file, made);
  }
  return made;
}
/** The demo model with RTN int4 linear layers. */
const demoFile = (): Promise<string> => demoExport('demo.lowbit');

let n = 0;
async function broken(mutate: (buf: Buffer) => Buffer | void): Promise<string> {
  const path = join(root, `broken-${n++}.lowbit`);
  const buf = await readFile(await demoFile());
  await writeFile(path, mutate(buf) ?? buf);
  return path;
}

/** Rewrites the header JSON (and the preamble's length and CRC) of a file's bytes. */
function editHeader(buf: Buffer, mutate: (h: Record<string, unknown>) => void, raw?: string): Buffer {
  const len = buf.readUInt32LE(12);
  const off = Number(buf.readBigUInt64LE(16));
  const h = JSON.parse(buf.subarray(off, off + len).toString('utf8')) as Record<string, unknown>;
  mutate(h);
  const json = Buffer.from(raw ?? JSON.stringify(h));
  const out = Buffer.concat([buf.subarray(0, off), json]);
  out.writeUInt32LE(json.length, 12);
  out.writeUInt32LE(crc32(json), 24);
  return out;
}

type Tensors = Record<string, { arrays: Record<string, { offset: number; bytes: number; crc32?: number }>; format_code: number; shape: number[] }>;
const tensorsOf = (h: Record<string, unknown>): Tensors => h['tensors'] as Tensors;
const Q = 'model.layers.1.mlp.up_proj.weight';

async function expectInspectError(path: string, problem: RegExp): Promise<void> {
  const r = await runCli(['inspect', path]);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(r.code, 2, r.stderr);
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  const line = lines[0] as string;
  assert.match(line, /^lowbit: error: /);
  assert.ok(line.includes(path), `"${line}" should name ${path}`);
  assert.match(line, problem);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('inspect: a valid export lists formats, bytes and exact bits', async () => {
  const demo = await demoFile();
  const j = await runCliJson<{ quantization: unknown; tensors: { name: string; format: string; bits: number; bytes: number }[]; quantizedBits: number; bits: number; bytes: number; parameters: number }>(['inspect', demo]);
  const q = j.tensors.find((t) => t.name === Q);
  assert.equal(q?.format, 'int4');
  assert.equal(q?.bits, 4 + (16 + 4) / 64); // codes + fp16 scale and 4-bit zero per 64
  assert.equal(j.quantizedBits, 4 + 20 / 64);
  assert.equal(j.bits, (8 * j.bytes) / j.parameters);
  assert.deepEqual(j.quantization, { method: 'rtn', config: DEMO_RTN, calibration: null, quantize_head: false });
  const text = await runCli(['inspect', demo]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /4\.3125 bits\/param over/);
});

test('malformed: bad magic', async () => expectInspectError(await broken((b) => void b.write('X', 0)), /bad magic/));
test('malformed: unsupported version', async () => expectInspectError(await broken((b) => void b.writeUInt32LE(2, 8)), /version 2 is not supported/));
test('malformed: truncated file', async () => {
  const path = await broken(() => undefined);
  await truncate(path, (await stat(path)).size - 1000);
  await expectInspectError(path, /beyond the end of the file.*truncated/);
});
test('malformed: shorter than the preamble', async () => expectInspectError(await broken((b) => b.subarray(0, 40)), /not a .lowbit file: 40 bytes, shorter than the 64-byte preamble/));
test('malformed: header length beyond the file', async () =>
  expectInspectError(await broken((b) => void b.writeUInt32LE(b.readUInt32LE(12) + 100, 12)), /header \[\d+, \d+\) extends beyond the end of the file/));
test('malformed: header length over the limit', async () => expectInspectError(await broken((b) => void b.writeUInt32LE(0xffffffff, 12)), /exceeds the limit/));
test('malformed: trailing bytes', async () => expectInspectError(await broken((b) => Buffer.concat([b, Buffer.alloc(3)])), /3 unexpected bytes after the header/));
test('malformed: header CRC mismatch', async () =>
  expectInspectError(
    await broken((b) => {
      const at = b.indexOf('"created":"2026', Number(b.readBigUInt64LE(16))) + 14;
      b.write('7', at);
    }),
    /header CRC-32 mismatch/,
  ));
test('malformed: invalid JSON', async () => expectInspectError(await broken((b) => editHeader(b, () => undefined, '{"format": "lowbit",')), /header is not valid JSON/));
test('malformed: missing field', async () => expectInspectError(await broken((b) => editHeader(b, (h) => delete h['tokenizer'])), /missing field "tokenizer"/));
test('malformed: unknown format code', async () =>
  expectInspectError(await broken((b) => editHeader(b, (h) => void ((tensorsOf(h)[Q] as Tensors[string]).format_code = 99))), new RegExp(`tensor "${Q}": unknown format code 99`)));
test('malformed: shape inconsistent with the array sizes', async () =>
  expectInspectError(await broken((b) => editHeader(b, (h) => void ((tensorsOf(h)[Q] as Tensors[string]).shape = [768, 512]))), /array "codes" holds \d+ bytes but int4 \[768, 512\]/));
test('malformed: offset out of range', async () =>
  expectInspectError(await broken((b) => editHeader(b, (h) => void ((tensorsOf(h)[Q] as Tensors[string]).arrays['scales'] = { offset: 64 * 1e6, bytes: 0, crc32: 0 } as never))), /array "scales"/));
test('malformed: misaligned offset', async () =>
  expectInspectError(await broken((b) => editHeader(b, (h) => void ((tensorsOf(h)[Q] as Tensors[string]).arrays['codes'] as { offset: number }).offset++)), /not a multiple of 64/));
test('malformed: overlapping arrays', async () =>
  expectInspectError(
    await broken((b) =>
      editHeader(b, (h) => {
        const t = tensorsOf(h);
        const first = Object.values(t)[0]?.arrays['data'] as { offset: number };
        ((t[Q] as Tensors[string]).arrays['codes'] as { offset: number }).offset = first.offset;
      }),
    ),
    /overlap/,
  ));
test('malformed: a tensor the config needs is missing, or of another shape than the config says (inspect checks as load does)', async () => {
  await expectInspectError(await broken((b) => editHeader(b, (h) => void delete tensorsOf(h)[Q])), new RegExp(`missing tensor "${Q.replace(/\./g, '\\.')}"`));
  await expectInspectError(
    await broken((b) => editHeader(b, (h) => void ((h['architecture'] as Record<string, unknown>)['vocab_size'] = 64000))),
    /model\.embed_tokens\.weight.*has shape/,
  );
});
test('quantize refuses a .lowbit file at once (it takes the model directory)', async () => {
  const demo = await demoFile();
  const out = join(root, 'requant.lowbit');
  const r = await runCli(['quantize', demo, '--method', 'rtn', '--backend', 'cpu', '--out', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /is a \.lowbit file, already quantized; quantize takes the model directory/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(!existsSync(out) && !existsSync(`${out}.work`));
});
test('malformed: a flipped byte in a tensor names the tensor and array', async () => {
  const path = await broken((b) => {
    const off = Number(b.readBigUInt64LE(16));
    const h = JSON.parse(b.subarray(off, off + b.readUInt32LE(12)).toString('utf8')) as Record<string, unknown>;
    const codes = (tensorsOf(h)[Q] as Tensors[string]).arrays['codes'] as { offset: number; bytes: number };
    const at = LOWBIT_PREAMBLE_BYTES + codes.offset + (codes.bytes >> 1);
    b[at] = (b[at] as number) ^ 0x10;
  });
  await expectInspectError(path, new RegExp(`tensor "${Q}": array "codes" fails its CRC-32 check`));
  await expectInspectError(path, /the data is corrupt/);
});
test('NaN in a packed tensor\'s scales (CRC intact): eval refuses it, packed and dequantized, naming the file and tensor', async () => {
  const path = await patchedArray(await demoFile(), 'scales', (a) => void a.writeUInt16LE(0x7e00, 2)); // the second scale: an f16 NaN
  for (const [weights, problem] of [
    ['packed', new RegExp(`tensor "${Q}": its int4 "scales" hold 1 NaN and 0 infinite values`)],
    ['dequant', new RegExp(`tensor "${Q}" holds \\d+ NaN and 0 infinite values`)],
  ] as const) {
    const r = await runCli(['eval', path, '--data', WIKITEXT, '--seqlen', '64', '--windows', '1', '--backend', 'cpu', '--weights', weights]);
    assert.equal(r.code, 2, `${weights}: ${r.stderr}`);
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, problem, weights);
  }
});
/** The demo model with tensor Q in SpQR (act-order permutation, outliers), the other projections RTN int4. */
const spqrDemoFile = (): Promise<string> =>
  demoExport('demo-spqr.lowbit', (name, w) => {
    if (name !== Q) return rtnInt4(name, w);
    const r = spqr(w, correlatedHessian(w.shape[1] as number, { seed: 3 }), { outlierThreshold: 0.1 });
    assert.ok(r.outliers !== null && r.outliers.col.length > 0 && r.grid?.perm, 'the SpQR tensor has outliers and a permutation');
    return FORMATS.spqr.pack(r);
  });

/** A copy of `base` with array `array` of tensor Q changed in place by `mutate` and its CRC made to match. */
async function patchedArray(base: string, array: string, mutate: (a: Buffer) => void): Promise<string> {
  const path = join(root, `patched-${n++}.lowbit`);
  const b = await readFile(base);
  const off = Number(b.readBigUInt64LE(16));
  const h = JSON.parse(b.subarray(off, off + b.readUInt32LE(12)).toString('utf8')) as Record<string, unknown>;
  const a = (tensorsOf(h)[Q] as Tensors[string]).arrays[array] as { offset: number; bytes: number };
  const at = LOWBIT_PREAMBLE_BYTES + a.offset;
  mutate(b.subarray(at, at + a.bytes));
  const crc = crc32(b.subarray(at, at + a.bytes));
  await writeFile(path, editHeader(b, (h2) => void (((tensorsOf(h2)[Q] as Tensors[string]).arrays[array] as { crc32?: number }).crc32 = crc)));
  return path;
}

test('corrupt index arrays (CRC intact): eval refuses them packed as dequantized, naming the file and tensor, instead of a NaN or a wrong perplexity', async () => {
  const good = await runCli(['eval', await spqrDemoFile(), '--data', WIKITEXT, '--seqlen', '64', '--windows', '1', '--backend', 'cpu']);
  assert.equal(good.code, 0, good.stderr);
  const cases: [string, (a: Buffer) => void, RegExp][] = [
    ['perm', (a) => void a.writeUInt16LE(60000, 0), /permutation entry 0 = 60000 is out of range or repeated/],
    ['perm', (a) => void a.writeUInt16LE(a.readUInt16LE(2), 0), /permutation entry 1 = \d+ is out of range or repeated/],
    ['outlierRowPtr', (a) => void a.writeUInt32LE(a.readUInt32LE(a.length - 4) + 1, 20), /outlier row pointers decrease at row 5/],
    ['outlierCol', (a) => void a.writeUInt16LE(60000, 0), /outlier 0's column 60000 is out of range/],
  ];
  for (const [array, mutate, problem] of cases) {
    const path = await patchedArray(await spqrDemoFile(), array, mutate);
    for (const [weights, verb] of [['packed', 'run'], ['dequant', 'unpack']] as const) {
      const r = await runCli(['eval', path, '--data', WIKITEXT, '--seqlen', '64', '--windows', '1', '--backend', 'cpu', '--weights', weights]);
      assert.equal(r.code, 2, `${array} ${weights}: exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('lowbit: error:')).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.ok(r.stderr.includes(`${path}: tensor "${Q}": cannot ${verb} spqr data`), r.stderr);
      assert.match(r.stderr, problem);
    }
  }
});

test('malformed: eval reports the same errors', async () => {
  const path = await broken((b) => void b.writeUInt32LE(3, 8));
  const r = await runCli(['eval', path, '--data', WIKITEXT, '--seqlen', '64', '--windows', '1', '--backend', 'cpu']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /version 3 is not supported/);
});

// ---- eval / generate of an export equal the model directory ----

/** The first 20k characters of WikiText-2 test: enough for the windows below, and quick to tokenize without a cache. */
async function wikitextHead(): Promise<string> {
  const path = join(root, 'wikitext-head.txt');
  await writeFile(path, (await readFile(WIKITEXT, 'utf8')).slice(0, 20_000));
  return path;
}

interface EvalJson {
  ppl: number;
  nll: number;
  tokens: number;
}

test('eval and generate: a .lowbit export (linear layers f32, the rest bf16) gives exactly the directory\'s numbers', async () => {
  const dir = `${MODELS}/lowbit-ref-15m`;
  const path = join(root, 'ref15m.lowbit');
  await writeLowbitFromModel(dir, path, {
    pack: (name, t) => (name.endsWith('_proj.weight') ? FORMATS.f32.pack(denseTensor('f32', toF32(t), t.shape[0] as number, t.shape[1] as number)) : null),
  });
  const m = await openLowbitModel(path);
  await m.source.close();
  assert.equal(m.tokenizer.hash, (await loadTokenizer(dir)).hash, 'embedded tokenizer files are byte-identical');
  const f = m.file;
  assert.equal(f.spec('model.layers.0.self_attn.q_proj.weight').format, 'f32');
  assert.equal(f.spec('model.norm.weight').format, 'bf16');
  const args = ['--data', await wikitextHead(), '--seqlen', '128', '--windows', '2', '--backend', 'cpu'];
  const [a, b] = await Promise.all([runCliJson<EvalJson>(['eval', path, ...args]), runCliJson<EvalJson>(['eval', dir, ...args])]);
  assert.equal(a.tokens, b.tokens);
  assert.equal(a.ppl, b.ppl);
  assert.equal(a.nll, b.nll);
  const gen = ['--prompt', 'The history of', '--max-tokens', '8', '--backend', 'cpu'];
  const [ga, gb] = await Promise.all([runCliJson<{ ids: number[] }>(['generate', path, ...gen]), runCliJson<{ ids: number[] }>(['generate', dir, ...gen])]);
  assert.deepEqual(ga.ids, gb.ids);
});

test('eval: an int4 export of the demo model runs and stays close to the original', async () => {
  const args = ['--data', await wikitextHead(), '--seqlen', '64', '--windows', '2', '--backend', 'cpu'];
  const [q, base] = await Promise.all([runCliJson<EvalJson>(['eval', await demoFile(), ...args]), runCliJson<EvalJson>(['eval', demoDir, ...args])]);
  assert.ok(Number.isFinite(q.ppl) && q.ppl >= base.ppl * 0.95 && q.ppl < base.ppl * 1.5, `int4 ppl ${q.ppl} vs ${base.ppl}`);
});

test('malformed (library): each header problem is one InputError naming the file and, where there is one, the tensor', async () => {
  const cases: [string, (b: Buffer) => Buffer | void, RegExp][] = [
    ['reserved bytes', (b) => void (b[40] = 1), /reserved and must be zero/],
    ['misaligned header offset', (b) => void b.writeBigUInt64LE(b.readBigUInt64LE(16) - 8n, 16), /header offset \d+ must be a multiple of 64/],
    ['version field', (b) => editHeader(b, (h) => void (h['version'] = 2)), /"version" 2 disagrees with the preamble's version 1/],
    ['format name', (b) => editHeader(b, (h) => void ((tensorsOf(h)[Q] as unknown as Record<string, unknown>)['format'] = 'int3')), /format "int3" disagrees with format_code 5 \(int4\)/],
    ['missing array', (b) => editHeader(b, (h) => void delete (tensorsOf(h)[Q] as Tensors[string]).arrays['zeros']), /arrays \[codes, scales, perm\] must be exactly \[codes, scales, zeros, perm\]/],
    ['bad params', (b) => editHeader(b, (h) => void ((tensorsOf(h)[Q] as unknown as { params: object }).params = { groupSize: 0, permuted: 0 })), /params .* do not fit int4/],
    ['metadata', (b) => editHeader(b, (h) => void (h['metadata'] = { a: 1 })), /metadata must map strings to strings/],
    ['quantization', (b) => editHeader(b, (h) => void (h['quantization'] = { method: 'rtn', config: {}, quantize_head: 'no' })), /quantize_head must be true or false/],
  ];
  for (const [what, mutate, problem] of cases) {
    const path = await broken(mutate);
    await assert.rejects(openLowbit(path), (e: Error) => {
      assert.equal(e.name, 'InputError', what);
      assert.ok(e.message.startsWith(`${path}: `), `${what}: ${e.message}`);
      assert.match(e.message, problem, what);
      if (problem.source.includes('format') || what === 'missing array' || what === 'bad params') assert.ok(e.message.includes(`tensor "${Q}"`), e.message);
      return true;
    });
  }
});

test('bytes (the browser path, openLowbitFrom + bytesReader): the same tensors as the file; truncated or flipped bytes are one InputError naming the source', async () => {
  const file = await demoFile();
  const bytes = new Uint8Array(await readFile(file));
  const f = await openLowbit(file);
  const m = await openLowbitFrom('model.lowbit', bytes.length, bytesReader('model.lowbit', bytes));
  try {
    assert.deepEqual(m.tensorNames, f.tensorNames);
    assert.deepEqual(m.header, f.header);
    for (const name of [f.tensorNames[0] as string, Q]) assert.deepEqual(await m.readPacked(name), await f.readPacked(name), name);
  } finally {
    await f.close();
    await m.close();
  }
  // fewer bytes than the size given (a short download): the header (written last) ends early
  const cut = bytes.subarray(0, bytes.length - 100);
  await assert.rejects(openLowbitFrom('cut.lowbit', bytes.length, bytesReader('cut.lowbit', cut)), (e: Error) => e.name === 'InputError' && /^cut\.lowbit: header: the file ended after \d+ of \d+ bytes/.test(e.message));
  // a flipped byte in a tensor: its CRC names it
  const flipped = Uint8Array.from(await readFile(await broken((b) => {
    const off = Number(b.readBigUInt64LE(16));
    const h = JSON.parse(b.subarray(off, off + b.readUInt32LE(12)).toString('utf8')) as Record<string, unknown>;
    const codes = (tensorsOf(h)[Q] as Tensors[string]).arrays['codes'] as { offset: number; bytes: number };
    const at = LOWBIT_PREAMBLE_BYTES + codes.offset + (codes.bytes >> 1);
    b[at] = (b[at] as number) ^ 0x10;
  })));
  const fl = await openLowbitFrom('flip.lowbit', flipped.length, bytesReader('flip.lowbit', flipped));
  await assert.rejects(fl.readPacked(Q), new RegExp(`InputError: flip\\.lowbit: tensor "${Q}": array "codes" fails its CRC-32 check`));
  // not a .lowbit at all
  await assert.rejects(openLowbitFrom('x.lowbit', 40, bytesReader('x.lowbit', new Uint8Array(40))), /InputError: x\.lowbit: not a \.lowbit file: 40 bytes, shorter than the 64-byte preamble/);
});
