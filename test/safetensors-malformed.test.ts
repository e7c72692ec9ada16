// Malformed safetensors files and model directories, each written by the test
// into a temp dir. Every case must fail with an InputError whose message is
// "<file>: <problem>" naming the right file and the specific problem.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InputError } from '../src/io/errors.js';
import { openSafetensorsModel } from '../src/io/safetensors-sharded.js';
import { openSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { tensor } from '../src/tensor/tensor.js';

let base = '';
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'lowbit-safetensors-bad-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});
let dirCount = 0;
async function freshDir(): Promise<string> {
  const dir = join(base, `case-${++dirCount}`);
  await mkdir(dir);
  return dir;
}

/** Asserts `p` rejects with an InputError for `file` whose problem contains `problem`. */
async function rejectsInput(p: Promise<unknown>, file: string, problem: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.ok(e.message.includes(problem), `"${e.message}" should contain "${problem}"`);
    return true;
  });
}

/** `[u64 LE length][header][dataBytes zeros]`; `length` defaults to the header's byte count. */
function rawFile(header: string | Uint8Array, dataBytes: number, length?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

const entry = (dtype: string, shape: unknown, offsets: unknown): unknown => ({ dtype, shape, data_offsets: offsets });
const hdr = (o: Record<string, unknown>): string => JSON.stringify(o);

const headerCases: { name: string; bytes: Uint8Array; problem: string }[] = [
  { name: 'truncated file', bytes: new Uint8Array(5), problem: 'file is 5 bytes, shorter than the 8-byte header length' },
  {
    name: 'header length beyond the file',
    bytes: rawFile(' '.repeat(1016), 0, 9999999n),
    problem: 'header length 9999999 exceeds the file size 1024',
  },
  {
    name: 'header length over the 100 MiB bound',
    bytes: rawFile('{}', 0, 100n * 1024n * 1024n + 1n),
    problem: 'header length 104857601 exceeds the limit of 104857600 bytes',
  },
  { name: 'header length near 2^64', bytes: rawFile('{}', 0, 2n ** 64n - 1n), problem: 'header length 18446744073709551615 exceeds the limit' },
  { name: 'non-JSON header', bytes: rawFile('{"w": {"dtype": ', 0), problem: 'header is not valid JSON (' },
  { name: 'header not UTF-8', bytes: rawFile(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), 0), problem: 'header is not valid UTF-8' },
  { name: 'header an array', bytes: rawFile('[1, 2]', 0), problem: 'header is not a JSON object' },
  { name: 'header null', bytes: rawFile('null', 0), problem: 'header is not a JSON object' },
  {
    name: '__metadata__ with a non-string value',
    bytes: rawFile(hdr({ __metadata__: { format: 'pt', n: 1 } }), 0),
    problem: '__metadata__ must map strings to strings, but "n" holds 1',
  },
  { name: '__metadata__ not an object', bytes: rawFile(hdr({ __metadata__: 'pt' }), 0), problem: '__metadata__ is not a JSON object' },
  { name: 'entry not an object', bytes: rawFile(hdr({ w: 3 }), 0), problem: 'tensor "w": entry is not a JSON object' },
  {
    name: 'unsupported dtype F64',
    bytes: rawFile(hdr({ w: entry('F64', [1], [0, 8]) }), 8),
    problem: 'tensor "w": unsupported dtype "F64" (lowbit reads F32, F16, BF16, I8, U8, I16, I32, I64, BOOL)',
  },
  { name: 'unknown dtype', bytes: rawFile(hdr({ w: entry('Q4_K', [1], [0, 1]) }), 1), problem: 'tensor "w": unsupported dtype "Q4_K"' },
  { name: 'dtype missing', bytes: rawFile(hdr({ w: { shape: [1], data_offsets: [0, 4] } }), 4), problem: 'tensor "w": dtype is missing' },
  {
    name: 'negative dim',
    bytes: rawFile(hdr({ w: entry('F32', [2, -1], [0, 0]) }), 0),
    problem: 'tensor "w": shape [2,-1] must hold non-negative integers',
  },
  { name: 'non-integer dim', bytes: rawFile(hdr({ w: entry('F32', [1.5], [0, 4]) }), 4), problem: 'tensor "w": shape [1.5] must hold' },
  { name: 'string dim', bytes: rawFile(hdr({ w: entry('F32', ['2'], [0, 8]) }), 8), problem: 'tensor "w": shape ["2"] must hold' },
  { name: 'shape missing', bytes: rawFile(hdr({ w: { dtype: 'F32', data_offsets: [0, 4] } }), 4), problem: 'tensor "w": shape is missing' },
  {
    name: 'shape too large',
    bytes: rawFile(hdr({ w: entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }), 4),
    problem: 'tensor "w": shape [1073741824, 1073741824, 1073741824] is too large',
  },
  {
    name: 'data_offsets not a pair',
    bytes: rawFile(hdr({ w: entry('F32', [1], [0]) }), 4),
    problem: 'tensor "w": data_offsets [0] must be [begin, end], two non-negative integers',
  },
  {
    name: 'offsets outside the data section',
    bytes: rawFile(hdr({ w: entry('F32', [4], [0, 16]) }), 8),
    problem: 'tensor "w": data_offsets [0, 16]: end is outside the data section of 8 bytes',
  },
  {
    name: 'begin after end',
    bytes: rawFile(hdr({ w: entry('F32', [1], [8, 4]) }), 8),
    problem: 'tensor "w": data_offsets [8, 4]: begin is after end',
  },
  {
    name: 'byte length ≠ numel × dtype size',
    bytes: rawFile(hdr({ x: entry('F32', [2, 2], [0, 12]) }), 12),
    problem: 'tensor "x": data_offsets [0, 12] hold 12 bytes but F32 [2, 2] needs 16',
  },
  {
    name: 'overlapping neighbours',
    bytes: rawFile(hdr({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }), 12),
    problem: 'tensors "a" [0, 8] and "b" [4, 12] overlap',
  },
  {
    name: 'a tensor inside another, listed after a later one',
    bytes: rawFile(hdr({ c: entry('U8', [4], [20, 24]), a: entry('U8', [16], [0, 16]), b: entry('U8', [4], [8, 12]) }), 24),
    problem: 'tensors "a" [0, 16] and "b" [8, 12] overlap',
  },
];

for (const c of headerCases) {
  test(`malformed file: ${c.name}`, async () => {
    const path = join(await freshDir(), 'bad.safetensors');
    await writeFile(path, c.bytes);
    await rejectsInput(openSafetensors(path), path, c.problem);
  });
}

test('gaps between tensors and empty tensors anywhere are accepted', async () => {
  const path = join(await freshDir(), 'gaps.safetensors');
  const bytes = rawFile(hdr({ a: entry('U8', [2], [4, 6]), e: entry('F32', [0, 3], [5, 5]), b: entry('I16', [1], [10, 12]) }), 16);
  bytes.set([7, 8], bytes.length - 16 + 4); // a's two bytes after a 4-byte gap
  await writeFile(path, bytes);
  const src = await openSafetensors(path);
  try {
    assert.deepEqual([...src.tensors.keys()], ['a', 'e', 'b']); // file order
    assert.deepEqual([...(await src.read('a')).data], [7, 8]);
    assert.deepEqual((await src.read('e')).shape, [0, 3]);
  } finally {
    await src.close();
  }
});

test('open: missing file, a directory, and an unknown tensor name', async () => {
  const dir = await freshDir();
  await rejectsInput(openSafetensors(join(dir, 'nope.safetensors')), join(dir, 'nope.safetensors'), 'no such file or directory');
  await rejectsInput(openSafetensors(dir), dir, 'not a regular file');
  const path = join(dir, 'ok.safetensors');
  await writeSafetensors(path, [['w', tensor('u8', [1], Uint8Array.of(1))]]);
  const src = await openSafetensors(path);
  await rejectsInput(src.read('nope'), path, 'no tensor named "nope"');
  await src.close();
  await assert.rejects(src.read('w'), /after close/);
});

test('a file truncated after open fails the read of the lost tensor, naming it', async () => {
  const path = join(await freshDir(), 'x.safetensors');
  await writeSafetensors(path, [
    ['a', tensor('u8', [8], new Uint8Array(8).fill(3))],
    ['b', tensor('f32', [4], new Float32Array(4))],
  ]);
  const src = await openSafetensors(path);
  try {
    const fh = await open(path, 'r');
    const size = (await fh.stat()).size;
    await fh.close();
    await truncate(path, size - 6);
    assert.deepEqual([...(await src.read('a')).data], [3, 3, 3, 3, 3, 3, 3, 3]);
    await rejectsInput(src.read('b'), path, 'tensor "b": the file ended after 10 of 16 bytes');
  } finally {
    await src.close();
  }
});

test('a tensor larger than one JavaScript array (a sparse 4 GiB file) is an InputError naming it, not an internal error', async () => {
  const path = join(await freshDir(), 'huge.safetensors');
  const bytes = 2 ** 32 + 16; // U8: past the largest typed array (2^32 elements in Node 20)
  const json = new TextEncoder().encode(hdr({ huge: entry('U8', [bytes], [0, bytes]) }));
  await writeFile(path, rawFile(json, 0));
  await truncate(path, 8 + json.length + bytes); // sparse: no disk used
  const src = await openSafetensors(path);
  try {
    await rejectsInput(src.read('huge'), path, `tensor "huge": cannot allocate ${bytes} bytes for it`);
  } finally {
    await src.close();
  }
});

// ---- model directories -------------------------------------------------

const INDEX = 'model.safetensors.index.json';
const u8 = (...v: number[]) => tensor('u8', [v.length], Uint8Array.from(v));

/** A model dir with shards s1 (tensors a, b) and s2 (tensor c) and the given index text. */
async function modelDir(index: string | Record<string, unknown>): Promise<{ dir: string; index: string }> {
  const dir = await freshDir();
  await writeSafetensors(join(dir, 's1.safetensors'), [['a', u8(1)], ['b', u8(2, 3)]], { format: 'pt' });
  await writeSafetensors(join(dir, 's2.safetensors'), [['c', u8(4)]], { format: 'pt' });
  await writeFile(join(dir, INDEX), typeof index === 'string' ? index : JSON.stringify(index));
  return { dir, index: join(dir, INDEX) };
}
const map = (weight_map: Record<string, unknown>) => ({ metadata: { total_size: 4 }, weight_map });

test('model dir: a consistent index opens, "./s1" and "s1" name the same shard', async () => {
  const { dir } = await modelDir(map({ a: 's1.safetensors', b: './s1.safetensors', c: 's2.safetensors' }));
  const src = await openSafetensorsModel(dir);
  try {
    assert.deepEqual([...src.tensors.keys()], ['a', 'b', 'c']);
    assert.deepEqual([...(await src.read('b')).data], [2, 3]);
    assert.deepEqual([...(await src.read('c')).data], [4]);
    await rejectsInput(src.read('zz'), join(dir, INDEX), 'no tensor named "zz"');
  } finally {
    await src.close();
  }
});

const indexCases: { name: string; index: string | Record<string, unknown>; problem: string }[] = [
  { name: 'index not JSON', index: '{"weight_map": {', problem: 'index is not valid JSON (' },
  { name: 'index not an object', index: '[]', problem: 'index is not a JSON object' },
  { name: 'weight_map missing', index: { metadata: {} }, problem: '"weight_map" is missing or not a JSON object' },
  { name: 'weight_map value not a string', index: map({ a: 3 }), problem: 'weight_map: tensor "a" maps to 3, not a file name' },
  {
    name: 'shard path escaping the dir with ..',
    index: map({ a: '../x.safetensors' }),
    problem: 'tensor "a": shard path "../x.safetensors" is outside the model directory',
  },
  {
    name: 'shard path escaping through a subdirectory',
    index: map({ a: 'sub/../../x.safetensors' }),
    problem: 'shard path "sub/../../x.safetensors" is outside the model directory',
  },
  { name: 'shard path ..', index: map({ a: '..' }), problem: 'shard path ".." is outside the model directory' },
  { name: 'empty shard path', index: map({ a: '' }), problem: 'tensor "a": shard path "" must be a file name relative to the model directory' },
  {
    name: 'missing shard',
    index: map({ a: 's1.safetensors', b: 's1.safetensors', c: 'model-00003-of-00003.safetensors' }),
    problem: 'weight_map names shard "model-00003-of-00003.safetensors", which does not exist',
  },
  {
    name: 'tensor in the index but not in its shard',
    index: map({ a: 's1.safetensors', b: 's1.safetensors', c: 's2.safetensors', d: 's2.safetensors' }),
    problem: 'weight_map puts tensor "d" in shard "s2.safetensors", which does not hold it',
  },
  {
    name: 'tensor mapped to the wrong shard',
    index: map({ a: 's2.safetensors', b: 's1.safetensors', c: 's2.safetensors' }),
    problem: 'weight_map puts tensor "a" in shard "s2.safetensors", which does not hold it',
  },
  {
    name: 'tensor of a shard missing from the index',
    index: map({ a: 's1.safetensors', c: 's2.safetensors' }),
    problem: 'tensor "b" of shard "s1.safetensors" is missing from weight_map',
  },
];

for (const c of indexCases) {
  test(`malformed model dir: ${c.name}`, async () => {
    const { dir, index } = await modelDir(c.index);
    await writeSafetensors(join(dir, '..', 'x.safetensors'), [['a', u8(9)]]); // exists, yet must be refused
    await rejectsInput(openSafetensorsModel(dir), index, c.problem);
  });
}

test('malformed model dir: absolute shard path, even to a valid shard', async () => {
  const { dir, index } = await modelDir('{}');
  const abs = join(dir, 's1.safetensors');
  await writeFile(index, JSON.stringify(map({ a: abs, b: abs })));
  await rejectsInput(openSafetensorsModel(dir), index, `tensor "a": shard path "${abs}" must be a file name relative to the model directory`);
});

test('malformed model dir: the same tensor in two shards', async () => {
  const { dir, index } = await modelDir(map({ a: 's1.safetensors', b: 's1.safetensors', c: 's2.safetensors' }));
  await writeSafetensors(join(dir, 's2.safetensors'), [['c', u8(4)], ['a', u8(5)]], { format: 'pt' });
  await rejectsInput(openSafetensorsModel(dir), index, 'tensor "a" is in two shards, "s1.safetensors" and "s2.safetensors"');
});

test('malformed model dir: shards that disagree on __metadata__', async () => {
  const { dir, index } = await modelDir(map({ a: 's1.safetensors', b: 's1.safetensors', c: 's2.safetensors' }));
  await writeSafetensors(join(dir, 's2.safetensors'), [['c', u8(4)]], { format: 'np' });
  await rejectsInput(openSafetensorsModel(dir), index, 'shards "s1.safetensors" and "s2.safetensors" disagree on __metadata__ "format"');
});

test('malformed model dir: a broken shard is reported against the shard file', async () => {
  const { dir } = await modelDir(map({ a: 's1.safetensors', b: 's1.safetensors', c: 's2.safetensors' }));
  await writeFile(join(dir, 's2.safetensors'), rawFile('[]', 0));
  await rejectsInput(openSafetensorsModel(dir), join(dir, 's2.safetensors'), 'header is not a JSON object');
});

test('model dir: no weights, not a directory, missing', async () => {
  const dir = await freshDir();
  await writeFile(join(dir, 'config.json'), '{}');
  await rejectsInput(openSafetensorsModel(dir), dir, 'no model.safetensors or model.safetensors.index.json in this directory');
  await rejectsInput(openSafetensorsModel(join(dir, 'config.json')), join(dir, 'config.json'), 'not a directory');
  await rejectsInput(openSafetensorsModel(join(dir, 'nope')), join(dir, 'nope'), 'no such file or directory');
});
