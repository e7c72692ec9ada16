import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InputError } from '../src/io/errors.js';
import { encodeHeader } from '../src/io/safetensors-header.js';
import { openSafetensorsModel, writeSafetensorsSharded } from '../src/io/safetensors-sharded.js';
import { openSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { bf16ToF32, f32FromBits } from '../src/tensor/dtype.js';
import { tensor, type HostTensor } from '../src/tensor/tensor.js';

let base = '';
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'lowbit-safetensors-'));
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

const bytes = (t: HostTensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** One tensor of every dtype, odd shapes, a scalar, an empty tensor, extreme values. */
function everyDType(): [string, HostTensor][] {
  return [
    ['f32 odd', tensor('f32', [3, 5], Float32Array.from({ length: 15 }, (_, i) => (i - 7) / 3))],
    ['f32 special', tensor('f32', [6], Float32Array.of(NaN, -0, Infinity, -Infinity, f32FromBits(1), 3.4028234663852886e38))],
    ['f16', tensor('f16', [7], Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x7e00))],
    ['bf16', tensor('bf16', [2, 3, 5], Uint16Array.from({ length: 30 }, (_, i) => 0x3f80 + i * 37))],
    ['i8', tensor('i8', [5], Int8Array.of(-128, -1, 0, 1, 127))],
    ['u8', tensor('u8', [4], Uint8Array.of(0, 1, 128, 255))],
    ['i16', tensor('i16', [3], Int16Array.of(-32768, 12345, 32767))],
    ['i32', tensor('i32', [2, 2], Int32Array.of(-(2 ** 31), -1, 7, 2 ** 31 - 1))],
    ['i64', tensor('i64', [3], BigInt64Array.of(-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n))],
    ['bool', tensor('bool', [4], Uint8Array.of(1, 0, 0, 1))],
    ['scalar', tensor('f32', [], Float32Array.of(3.5))],
    ['empty', tensor('f32', [0, 3], new Float32Array(0))],
    ['__proto__', tensor('u8', [1], Uint8Array.of(42))], // a name JSON objects treat specially
  ];
}

test('round trip of every dtype, odd, scalar and empty shapes, and metadata', async () => {
  const path = join(await freshDir(), 'all.safetensors');
  const input = everyDType();
  const metadata = { format: 'pt', note: 'ünïcode ✓' };
  await writeSafetensors(path, input, metadata);

  const src = await openSafetensors(path);
  try {
    assert.deepEqual(src.metadata, metadata);
    assert.deepEqual([...src.tensors.keys()], input.map(([n]) => n)); // file order = write order
    for (const [name, want] of input) {
      const info = src.tensors.get(name);
      assert.ok(info, name);
      assert.equal(info.dtype, want.dtype, name);
      assert.deepEqual(info.shape, want.shape, name);
      assert.equal(info.byteLength, want.data.byteLength, name);
      assert.equal(info.file, path);
      const got = await src.read(name);
      assert.equal(got.dtype, want.dtype, name);
      assert.deepEqual(got.shape, want.shape, name);
      assert.equal(got.data.constructor, want.data.constructor, name);
      assert.deepEqual(bytes(got), bytes(want), name); // bitwise: NaN and -0 included
      assert.equal(got.data.byteOffset, 0, `${name}: a fresh, aligned array`);
      assert.equal(got.data.buffer.byteLength, got.data.byteLength, name);
    }
    assert.equal((await src.read('i64')).data[1], 2n ** 53n + 1n);
  } finally {
    await src.close();
  }
});

test('written files: 8-aligned data section, space padding, tensors back to back in order', async () => {
  const path = join(await freshDir(), 'layout.safetensors');
  const input = everyDType();
  await writeSafetensors(path, input, { format: 'pt' });
  const file = await readFile(path);
  const n = Number(file.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0);
  const text = file.subarray(8, 8 + n).toString('utf8');
  assert.match(text, /^\{.*\} *$/);
  const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  assert.deepEqual(header['__metadata__'], { format: 'pt' });
  let offset = 0;
  for (const [name, t] of input) {
    const e = header[name];
    assert.ok(e, name);
    assert.deepEqual(e.data_offsets, [offset, offset + t.data.byteLength], name);
    assert.deepEqual(new Uint8Array(file.subarray(8 + n + offset, 8 + n + offset + t.data.byteLength)), bytes(t), name);
    offset += t.data.byteLength;
  }
  assert.equal(file.length, 8 + n + offset);
  assert.equal(header['bf16']?.dtype, 'BF16');
  assert.equal(header['bool']?.dtype, 'BOOL');
  assert.deepEqual(header['scalar']?.shape, []);
});

test('encodeHeader pads so the data starts 8-aligned for every JSON length', () => {
  for (let len = 1; len <= 9; len++) {
    const out = encodeHeader([{ name: 'x'.repeat(len), dtype: 'u8', shape: [1] }]);
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    assert.equal(out.length, 8 + n);
    assert.equal(out.length % 8, 0, `name length ${len}`);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.subarray(8))), {
      ['x'.repeat(len)]: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
    });
  }
});

test('open reads only the header: a 3 GiB (sparse) file opens and one small tensor reads', async () => {
  const path = join(await freshDir(), 'huge.safetensors');
  const big = 3 * 2 ** 30; // above Node's 2 GiB readFile limit, so reading the whole file would fail
  const header = JSON.stringify({
    small: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
    big: { dtype: 'F32', shape: [big / 4], data_offsets: [8, 8 + big] },
  });
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  const fh = await open(path, 'w');
  await fh.write(Buffer.concat([prefix, Buffer.from(header), Buffer.from([9, 8, 7, 6])]));
  await fh.truncate(8 + header.length + 8 + big);
  await fh.close();

  const src = await openSafetensors(path);
  try {
    assert.equal(src.tensors.get('big')?.byteLength, big);
    assert.deepEqual(src.tensors.get('big')?.shape, [big / 4]);
    assert.deepEqual([...(await src.read('small')).data], [9, 8, 7, 6]);
  } finally {
    await src.close();
  }
});

test('a model directory with only model.safetensors opens as a single file', async () => {
  const dir = await freshDir();
  await writeSafetensors(join(dir, 'model.safetensors'), [['w', tensor('i32', [2], Int32Array.of(-5, 6))]]);
  const src = await openSafetensorsModel(dir);
  try {
    assert.deepEqual([...src.tensors.keys()], ['w']);
    assert.deepEqual([...(await src.read('w')).data], [-5, 6]);
  } finally {
    await src.close();
  }
});

async function* sixTensors(): AsyncGenerator<[string, HostTensor]> {
  yield ['a', tensor('f32', [10], Float32Array.from({ length: 10 }, (_, i) => i / 4))]; // 40 bytes
  yield ['b', tensor('bf16', [3, 10], Uint16Array.from({ length: 30 }, (_, i) => 0xbf00 + i))]; // 60
  yield ['c', tensor('i64', [2], BigInt64Array.of(-3n, 1n << 40n))]; // 16
  yield ['d', tensor('f32', [100], Float32Array.from({ length: 100 }, (_, i) => -i))]; // 400 > max: own shard
  yield ['e', tensor('u8', [3], Uint8Array.of(1, 2, 3))]; // 3
  yield ['f', tensor('bool', [0], new Uint8Array(0))]; // 0
}

test('sharded round trip: greedy shards, index content, values', async () => {
  const dir = join(await freshDir(), 'out'); // created by the writer
  const files = await writeSafetensorsSharded(dir, sixTensors(), { maxShardBytes: 100, metadata: { format: 'pt' } });
  const shard = (k: number): string => `model-0000${k}-of-00004.safetensors`;
  assert.deepEqual(files, [1, 2, 3, 4].map((k) => join(dir, shard(k))).concat(join(dir, 'model.safetensors.index.json')));
  assert.deepEqual((await readdir(dir)).sort(), [shard(1), shard(2), shard(3), shard(4), 'model.safetensors.index.json']);

  const index: unknown = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.deepEqual(index, {
    metadata: { total_size: 40 + 60 + 16 + 400 + 3 },
    weight_map: { a: shard(1), b: shard(1), c: shard(2), d: shard(3), e: shard(4), f: shard(4) },
  });
  const second = await openSafetensors(join(dir, shard(2)));
  assert.deepEqual([...second.tensors.keys()], ['c']);
  assert.deepEqual(second.metadata, { format: 'pt' });
  await second.close();

  const src = await openSafetensorsModel(dir);
  try {
    assert.deepEqual([...src.tensors.keys()], ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(src.metadata, { format: 'pt' });
    assert.equal(src.tensors.get('d')?.file, join(dir, shard(3)));
    for await (const [name, want] of sixTensors()) {
      const got = await src.read(name);
      assert.equal(got.dtype, want.dtype, name);
      assert.deepEqual(got.shape, want.shape, name);
      assert.deepEqual(bytes(got), bytes(want), name);
    }
  } finally {
    await src.close();
  }
});

test('sharded writer: one shard even for no tensors, and it reads back empty', async () => {
  const dir = await freshDir();
  const files = await writeSafetensorsSharded(dir, [], { maxShardBytes: 1 });
  assert.deepEqual(files, [join(dir, 'model-00001-of-00001.safetensors'), join(dir, 'model.safetensors.index.json')]);
  const src = await openSafetensorsModel(dir);
  assert.equal(src.tensors.size, 0);
  await src.close();
});

const REF_15M = join(process.cwd(), '../shared/data/models/lowbit-ref-15m');

test('reads the shared sharded model lowbit-ref-15m (values checked with python struct)', async () => {
  const src = await openSafetensorsModel(REF_15M);
  try {
    assert.equal(src.tensors.size, 74); // embed + 8 layers × 9 + final norm (lm_head tied)
    assert.deepEqual(src.metadata, { format: 'pt' });
    const info = src.tensors.get('model.embed_tokens.weight');
    assert.ok(info);
    assert.equal(info.dtype, 'bf16');
    assert.deepEqual(info.shape, [32000, 256]);
    assert.equal(info.byteLength, 32000 * 256 * 2);
    assert.equal(info.file, join(REF_15M, 'model-00001-of-00002.safetensors'));
    assert.equal(info.offset, 8 + 128);

    const embed = await src.read('model.embed_tokens.weight');
    assert.deepEqual([...embed.data.subarray(0, 4)], [0xbe48, 0x3d98, 0xbe01, 0x3ed5]);
    assert.equal(bf16ToF32(embed.data[0] as number), -0.1953125);
    assert.equal(embed.data[256], 0xbdf1); // row 1, column 0
    assert.equal(embed.data[32000 * 256 - 1], 0xbd89);

    const q = await src.read('model.layers.7.self_attn.q_proj.weight');
    assert.deepEqual(q.shape, [256, 256]);
    assert.deepEqual([q.data[0], q.data[1], q.data[257], q.data[65535]], [0xbd9a, 0xbc5b, 0x3cdc, 0x3d12]);
    const down = await src.read('model.layers.3.mlp.down_proj.weight');
    assert.deepEqual(down.shape, [256, 768]);
    assert.deepEqual([down.data[0], down.data[5 * 768 + 11]], [0x3d81, 0xbd21]);
    const norm = await src.read('model.norm.weight');
    assert.equal(bf16ToF32(norm.data[0] as number), 2.171875);
  } finally {
    await src.close();
  }
});

const listing = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();

test('atomic write: an async iterable that throws leaves no file', async () => {
  const dir = await freshDir();
  async function* failing(): AsyncGenerator<[string, HostTensor]> {
    yield ['a', tensor('u8', [2], Uint8Array.of(1, 2))];
    throw new Error('producer failed');
  }
  await assert.rejects(writeSafetensors(join(dir, 'x.safetensors'), failing()), /producer failed/);
  assert.deepEqual(await listing(dir), []);
});

test('atomic write: mismatched data, a repeated name or __metadata__ is refused, no file', async () => {
  const dir = await freshDir();
  const bad: HostTensor = { dtype: 'f32', shape: [2, 2], data: new Float32Array(3) };
  await assert.rejects(
    writeSafetensors(join(dir, 'x.safetensors'), [['ok', tensor('u8', [1], Uint8Array.of(1))], ['bad', bad]]),
    { message: 'tensor "bad": f32 [2, 2] needs 16 bytes, its data holds 12' },
  );
  const one = tensor('u8', [1], Uint8Array.of(1));
  await assert.rejects(writeSafetensors(join(dir, 'x.safetensors'), [['a', one], ['a', one]]), { message: 'tensor "a" is given twice' });
  await assert.rejects(writeSafetensors(join(dir, 'x.safetensors'), [['__metadata__', one]]), /cannot be named "__metadata__"/);
  assert.deepEqual(await listing(dir), []);
});

test('atomic write: a failing rename (target is a directory) removes the temp file', async () => {
  const dir = await freshDir();
  const target = join(dir, 'x.safetensors');
  await mkdir(target);
  await writeFile(join(target, 'keep'), 'kept');
  await assert.rejects(writeSafetensors(target, [['a', tensor('u8', [1], Uint8Array.of(1))]]), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.file, target);
    return true;
  });
  assert.deepEqual(await listing(dir), ['x.safetensors']); // no temp file beside it
  assert.equal(await readFile(join(target, 'keep'), 'utf8'), 'kept');
});

test('atomic write: an existing file is replaced whole', async () => {
  const path = join(await freshDir(), 'x.safetensors');
  await writeSafetensors(path, [['old', tensor('f32', [1000], new Float32Array(1000))]]);
  await writeSafetensors(path, [['new', tensor('i16', [2], Int16Array.of(-2, 3))]]);
  const src = await openSafetensors(path);
  assert.deepEqual([...src.tensors.keys()], ['new']);
  assert.deepEqual([...(await src.read('new')).data], [-2, 3]);
  await src.close();
});

test('sharded atomic write: a producer failing after two shards leaves no file', async () => {
  const dir = await freshDir();
  async function* failing(): AsyncGenerator<[string, HostTensor]> {
    for (let i = 0; i < 3; i++) yield [`t${i}`, tensor('u8', [8], new Uint8Array(8).fill(i))];
    throw new Error('producer failed');
  }
  await assert.rejects(writeSafetensorsSharded(dir, failing(), { maxShardBytes: 8 }), /producer failed/);
  assert.deepEqual(await listing(dir), []);
});

test('sharded atomic write: a bad tensor after a full shard leaves no file', async () => {
  const dir = await freshDir();
  const bad: HostTensor = { dtype: 'i32', shape: [3], data: new Int32Array(2) };
  const input: [string, HostTensor][] = [['a', tensor('u8', [8], new Uint8Array(8))], ['b', tensor('u8', [8], new Uint8Array(8))], ['bad', bad]];
  await assert.rejects(writeSafetensorsSharded(dir, input, { maxShardBytes: 8 }), /tensor "bad": i32 \[3\] needs 12 bytes/);
  assert.deepEqual(await listing(dir), []);
});

test('sharded atomic write: a failing index write removes the shards already in place', async () => {
  const dir = await freshDir();
  await mkdir(join(dir, 'model.safetensors.index.json')); // the index rename will fail
  await writeFile(join(dir, 'model.safetensors.index.json', 'keep'), '');
  const input: [string, HostTensor][] = [['a', tensor('u8', [8], new Uint8Array(8))], ['b', tensor('u8', [8], new Uint8Array(8))]];
  await assert.rejects(writeSafetensorsSharded(dir, input, { maxShardBytes: 8 }), InputError);
  assert.deepEqual(await listing(dir), ['model.safetensors.index.json']);
});

test('sharded writer refuses a shard size that is not a positive integer', async () => {
  const dir = await freshDir();
  for (const maxShardBytes of [0, -1, 1.5, NaN]) {
    await assert.rejects(writeSafetensorsSharded(dir, [], { maxShardBytes }), RangeError);
  }
  assert.deepEqual(await listing(dir), []);
});
