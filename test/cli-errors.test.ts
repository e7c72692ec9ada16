/**
 * Malformed inputs through the CLI: each must give exactly one line on stderr
 * naming the file and the problem, exit code 2, no stack trace, and no output
 * file left behind.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { DATA, MODELS, runCli } from './helpers.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'lowbit-errors-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A fresh copy of a shared model to break. */
async function copyModel(name: string): Promise<string> {
  const dir = join(root, `${name}-${n++}`);
  await cp(`${MODELS}/${name}`, dir, { recursive: true });
  return dir;
}

/** Rewrites the JSON header of a safetensors file, keeping its data bytes. */
async function rewriteHeader(file: string, mutate: (h: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void): Promise<void> {
  const buf = await readFile(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString('utf8')) as Parameters<typeof mutate>[0];
  mutate(header);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  await writeFile(file, Buffer.concat([prefix, json, buf.subarray(8 + len)]));
}

async function editJson(file: string, mutate: (j: Record<string, unknown>) => void): Promise<void> {
  const j = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  mutate(j);
  await writeFile(file, JSON.stringify(j));
}

/** Runs the CLI and checks the one-line, exit-2 contract; returns the message. */
async function expectInputError(args: string[], mustMention: string, problem: RegExp, stdout = '', env: Record<string, string> = {}): Promise<string> {
  const r = await runCli(args, env);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('backend: '));
  assert.equal(r.code, 2, `exit code for: lowbit ${args.join(' ')}\n${r.stderr}`);
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  const line = lines[0] as string;
  assert.match(line, /^lowbit: error: /);
  assert.ok(line.includes(mustMention), `"${line}" should name ${mustMention}`);
  assert.match(line, problem);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  if (stdout === '') assert.equal(r.stdout, '');
  else assert.ok(r.stdout.includes(stdout), `stdout should include ${stdout}`);
  return line;
}

const demoEval = (dir: string): string[] => ['eval', dir, '--data', `${MODELS}/lowbit-demo/valid.txt`, '--seqlen', '64', '--windows', '1', '--backend', 'cpu'];

test('truncated safetensors file', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'model.safetensors');
  await truncate(f, (await stat(f)).size - 1000);
  await expectInputError(demoEval(dir), f, /data_offsets|outside|exceeds|beyond/);
});

test('header length beyond the file', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'model.safetensors');
  const buf = await readFile(f);
  buf.writeBigUInt64LE(BigInt(buf.length + 10), 0);
  await writeFile(f, buf);
  await expectInputError(demoEval(dir), f, /header length/);
});

test('tensor offsets out of range', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'model.safetensors');
  await rewriteHeader(f, (h) => {
    const t = h['model.norm.weight'] as { data_offsets: [number, number] };
    t.data_offsets = [t.data_offsets[0] + 1e9, t.data_offsets[1] + 1e9];
  });
  await expectInputError(demoEval(dir), f, /model\.norm\.weight/);
});

test('overlapping tensors', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'model.safetensors');
  await rewriteHeader(f, (h) => {
    const a = h['model.layers.0.input_layernorm.weight'] as { data_offsets: [number, number] };
    (h['model.layers.1.input_layernorm.weight'] as { data_offsets: [number, number] }).data_offsets = [...a.data_offsets];
  });
  await expectInputError(demoEval(dir), f, /overlap/);
});

test('dtype and shape disagree with the byte length', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'model.safetensors');
  await rewriteHeader(f, (h) => {
    (h['model.norm.weight'] as { dtype: string }).dtype = 'F32';
  });
  await expectInputError(demoEval(dir), f, /model\.norm\.weight.*F32/);
});

test('a tensor whose shape does not fit the config', async () => {
  const dir = await copyModel('lowbit-demo');
  await editJson(join(dir, 'config.json'), (j) => void (j['intermediate_size'] = 512));
  await expectInputError(demoEval(dir), dir, /gate_proj\.weight" has shape \[768, 256\], the config needs \[512, 256\]/);
});

test('a weight of an integer dtype (bytes and shape consistent) is refused at load, by eval and by quantize', async () => {
  const dir = await copyModel('lowbit-demo');
  await rewriteHeader(join(dir, 'model.safetensors'), (h) => {
    const t = h['model.layers.1.mlp.down_proj.weight'] as { dtype: string };
    assert.equal(t.dtype, 'BF16');
    t.dtype = 'I16';
  });
  const problem = /tensor "model\.layers\.1\.mlp\.down_proj\.weight" has dtype i16; weights must be f32, f16 or bf16/;
  await expectInputError(demoEval(dir), dir, problem);
  const out = join(root, 'i16.lowbit');
  await expectInputError(['quantize', dir, '--method', 'rtn', '--calib-samples', '2', '--calib-seqlen', '32', '--backend', 'cpu', '--json', '--out', out], dir, problem);
  assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('i16.lowbit')), []);
});

test('a tokenizer giving ids beyond the model\'s vocab_size: eval, generate and quantize refuse the text, naming the tokenizer or model', async () => {
  const dir = await copyModel('lowbit-demo');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await cp(join(MODELS, 'lowbit-ref-15m', f), join(dir, f));
  const problem = /the tokenizer gives token id \d+, beyond the model's vocab_size 4096: not this model's tokenizer\?/;
  await expectInputError(demoEval(dir), join(dir, 'tokenizer.json'), problem);
  // ids from the token cache, put there by lowbit-ref-15m itself on the same text (the same tokenizer files, so the same key)
  const cache = { LOWBIT_CACHE_DIR: join(root, 'tok-cache') };
  const warm = await runCli(['eval', join(MODELS, 'lowbit-ref-15m'), ...demoEval(dir).slice(2)], cache);
  assert.equal(warm.code, 0, warm.stderr);
  assert.equal((await readdir(join(root, 'tok-cache', 'tokens'))).length, 1);
  await expectInputError(demoEval(dir), join(dir, 'tokenizer.json'), problem, '', cache);
  await expectInputError(['generate', dir, '--prompt', 'Once upon a time, a zebra', '--max-tokens', '2', '--backend', 'cpu'], join(dir, 'tokenizer.json'), problem);
  const out = join(root, 'tok.lowbit');
  await expectInputError(['quantize', dir, '--method', 'rtn', '--calib-samples', '2', '--calib-seqlen', '32', '--backend', 'cpu', '--json', '--out', out], join(dir, 'tokenizer.json'), problem);
  assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('tok.lowbit')), []);
});

test('quantize never removes what it did not make: --work-dir on a directory of other files, a file at <out>.work; --out a directory or under a file', async () => {
  const q = ['quantize', '--method', 'rtn', '--calib-samples', '2', '--calib-seqlen', '32', '--backend', 'cpu'];
  const keep = join(root, 'precious');
  await cp(join(MODELS, 'lowbit-demo'), keep, { recursive: true });
  const before = (await readdir(keep)).sort();
  await expectInputError([...q, '--out', join(root, 'p.lowbit'), '--work-dir', keep], keep, /exists and is not a lowbit work directory \(no job\.json\)/);
  await expectInputError([...q, '--out', join(root, 'p.lowbit'), '--work-dir', keep, '--resume'], keep, /is not a lowbit work directory/);
  assert.deepEqual((await readdir(keep)).sort(), before, 'the directory is untouched');
  const stray = join(root, 's.lowbit.work');
  await writeFile(stray, 'notes');
  await expectInputError([...q, '--out', join(root, 's.lowbit')], stray, /exists and is not a directory/);
  assert.equal(await readFile(stray, 'utf8'), 'notes');
  await writeFile(join(root, 'plain'), 'x');
  await expectInputError([...q, '--out', join(root, 'plain', 'x.lowbit')], join(root, 'plain', 'x.lowbit'), /cannot be written: a parent of it is not a directory/);
  const asDir = join(root, 'd.lowbit');
  await cp(keep, asDir, { recursive: true });
  await expectInputError([...q, '--out', asDir], asDir, /is a directory; --out names the \.lowbit file to write/);
});

test('config.json that is a directory is reported as such, not as missing', async () => {
  const dir = await copyModel('lowbit-demo');
  await unlink(join(dir, 'config.json'));
  await mkdir(join(dir, 'config.json'));
  await expectInputError(demoEval(dir), join(dir, 'config.json'), /config\.json: is a directory, not a file/);
});

test('--data that is not text (binary, not UTF-8, NUL bytes) is refused; .JSON is read as .json', async () => {
  const bin = join(root, 'random.txt');
  await writeFile(bin, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256)));
  await expectInputError([...demoEval(`${MODELS}/lowbit-demo`).slice(0, 2), '--data', bin, '--seqlen', '64', '--windows', '1', '--backend', 'cpu'], bin, /is not UTF-8 text/);
  const nul = join(root, 'nul.txt');
  await writeFile(nul, `hello\0world ${'text '.repeat(200)}`);
  await expectInputError([...demoEval(`${MODELS}/lowbit-demo`).slice(0, 2), '--data', nul, '--seqlen', '64', '--windows', '1', '--backend', 'cpu'], nul, /holds NUL bytes/);
  const rows = JSON.stringify(Array.from({ length: 40 }, (_, i) => `Row ${i} of the State of the Union text, with some words.`));
  const lower = join(root, 'rows.json');
  const upper = join(root, 'ROWS.JSON');
  await writeFile(lower, rows);
  await writeFile(upper, rows);
  const ppl = async (f: string): Promise<number> => {
    const r = await runCli(['eval', '--data', f, '--seqlen', '64', '--windows', '2', '--backend', 'cpu', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { ppl: number }).ppl;
  };
  assert.equal(await ppl(upper), await ppl(lower));
});

test('eval --compare --json: the different-tokenizer warning still reaches stderr, stdout stays one JSON object', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'tokenizer.json');
  await writeFile(f, JSON.stringify(JSON.parse(await readFile(f, 'utf8')), null, 1)); // same tokenizer, other bytes
  const r = await runCli(['eval', '--compare', dir, '--seqlen', '64', '--windows', '1', '--backend', 'cpu', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .* uses a different tokenizer file/);
  assert.ok(Number.isFinite((JSON.parse(r.stdout) as { ppl: number }).ppl));
});

test('generate piped into a reader that stops early (| head) exits 0 without an EPIPE stack', async () => {
  const { spawn } = await import('node:child_process');
  const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, 'generate', '--prompt', 'The package', '--max-tokens', '200', '--backend', 'cpu']);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy()); // the reader goes away after its first bytes
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
});

test('missing shard', async () => {
  const dir = await copyModel('lowbit-ref-15m');
  await unlink(join(dir, 'model-00002-of-00002.safetensors'));
  await expectInputError(['inspect', dir], 'model-00002-of-00002.safetensors', /does not exist/);
});

test('index naming a path outside the model directory', async () => {
  const dir = await copyModel('lowbit-ref-15m');
  await editJson(join(dir, 'model.safetensors.index.json'), (j) => {
    const map = j['weight_map'] as Record<string, string>;
    map['model.norm.weight'] = '../model-00002-of-00002.safetensors';
  });
  await expectInputError(['inspect', dir], 'model.safetensors.index.json', /outside/);
});

test('missing config field', async () => {
  const dir = await copyModel('lowbit-demo');
  await editJson(join(dir, 'config.json'), (j) => void delete j['num_hidden_layers']);
  await expectInputError(['inspect', dir], join(dir, 'config.json'), /missing field "num_hidden_layers"/);
});

test('invalid config field', async () => {
  const dir = await copyModel('lowbit-demo');
  await editJson(join(dir, 'config.json'), (j) => void (j['hidden_size'] = 'wide'));
  await expectInputError(demoEval(dir), join(dir, 'config.json'), /"hidden_size" must be a positive integer, got "wide"/);
});

test('unsupported architecture', async () => {
  const dir = await copyModel('lowbit-demo');
  await editJson(join(dir, 'config.json'), (j) => void (j['architectures'] = ['GPT2LMHeadModel']));
  await expectInputError(['generate', dir, '--prompt', 'x', '--backend', 'cpu'], join(dir, 'config.json'), /unsupported architecture "GPT2LMHeadModel"/);
});

test('missing tokenizer', async () => {
  const dir = await copyModel('lowbit-demo');
  await unlink(join(dir, 'tokenizer.json'));
  await expectInputError(demoEval(dir), join(dir, 'tokenizer.json'), /missing tokenizer/);
});

test('NaN weights are reported by inspect (and refused by eval)', async () => {
  const dir = await copyModel('lowbit-demo');
  const f = join(dir, 'model.safetensors');
  const src = await openSafetensors(f);
  const tensors: [string, Awaited<ReturnType<typeof src.read>>][] = [];
  for (const name of src.tensors.keys()) tensors.push([name, await src.read(name)]);
  await src.close();
  const bad = tensors.find(([name]) => name === 'model.layers.2.mlp.up_proj.weight')?.[1];
  assert.ok(bad && bad.dtype === 'bf16');
  (bad.data as Uint16Array)[5] = 0x7fc0; // NaN
  (bad.data as Uint16Array)[9] = 0xffc0;
  await writeSafetensors(f, tensors, { format: 'pt' });
  // inspect still prints its table, with the count on the bad tensor's row, then fails
  await expectInputError(['inspect', dir], f, /tensor "model\.layers\.2\.mlp\.up_proj\.weight" holds 2 NaN/, 'model.safetensors  2 NaN, 0 Inf');
  await expectInputError(demoEval(dir), f, /holds 2 NaN/);
  // quantize reads each weight through the same check: no output file, no work directory left
  const out = join(root, 'nan.lowbit');
  await expectInputError(['quantize', dir, '--method', 'rtn', '--calib-samples', '2', '--calib-seqlen', '32', '--backend', 'cpu', '--json', '--out', out], f, /tensor "model\.layers\.2\.mlp\.up_proj\.weight" holds 2 NaN/);
  assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('nan.lowbit')), []);
});

test('positions beyond the model\'s max_position_embeddings (lowbit-ref-15m: 1024) are refused before any work', async () => {
  const m = `${MODELS}/lowbit-ref-15m`;
  await expectInputError(['generate', m, '--prompt', 'Hi', '--max-tokens', '1023', '--backend', 'cpu'], '--max-tokens', /the prompt's 2 tokens and 1023 new ones: 1025 positions exceed the model's max_position_embeddings 1024/);
  // a prompt too long by itself is the prompt's fault, whatever --max-tokens says
  await expectInputError(['generate', m, '--prompt', 'word '.repeat(1500), '--max-tokens', '0', '--backend', 'cpu'], '--prompt', /the prompt's 1502 tokens: 1502 positions exceed the model's max_position_embeddings 1024/);
  await expectInputError(['eval', m, '--seqlen', '2048', '--backend', 'cpu'], '--seqlen', /2048 positions exceed the model's max_position_embeddings 1024/);
  await expectInputError(['bench', m, '--prompt-tokens', '1000', '--gen-tokens', '25', '--backend', 'cpu'], '--prompt-tokens', /1025 positions exceed the model's max_position_embeddings 1024/);
  await expectInputError(['bench', m, '--dim', '64', '--backend', 'cpu'], '--dim', /random: models only/);
  await expectInputError(['generate', m, '--prompt', 'Hi', '--seed', '4294967296', '--backend', 'cpu'], '--seed', /expects an integer from 0 to 4294967295/);
});

test('eval --compare: a model of another vocabulary is refused before any upload', async () => {
  const other = `${MODELS}/lowbit-demo`;
  await expectInputError(['eval', `${MODELS}/lowbit-ref-15m`, '--compare', other, '--seqlen', '64', '--windows', '1', '--backend', 'cpu'], other, /its vocabulary has 4096 tokens and .*'s 32000: KL needs the same vocabulary/);
});

test('empty data file', async () => {
  const data = join(root, 'empty.txt');
  await writeFile(data, '\n\n');
  await expectInputError(['eval', `${MODELS}/lowbit-demo`, '--data', data, '--backend', 'cpu'], data, /empty/);
});

test('seqlen larger than the data', async () => {
  const data = join(root, 'short.txt');
  await writeFile(data, 'The State of the Union is strong.');
  await expectInputError(['eval', `${MODELS}/lowbit-demo`, '--data', data, '--seqlen', '512', '--backend', 'cpu'], data, /fewer than one window of seqlen 512/);
});

test('missing model directory and bad option values', async () => {
  await expectInputError(['eval', join(root, 'nope'), '--backend', 'cpu'], join(root, 'nope'), /no such model directory/);
  await expectInputError(['eval', `${MODELS}/lowbit-demo`, '--seqlen', 'many'], '--seqlen', /expects an integer/);
  await expectInputError(['eval', `${MODELS}/lowbit-demo`, '--backend', 'tpu'], '--backend', /"tpu" is not one of/);
});

test('a truncated llama2.c checkpoint converts to nothing', async () => {
  const bin = join(root, 'cut.bin');
  const buf = await readFile(`${DATA}/stories260K/stories260K_v1.bin`);
  await writeFile(bin, buf.subarray(0, 5000));
  const out = join(root, 'converted');
  await expectInputError(['convert', 'llama2c', bin, '--tokenizer', `${DATA}/stories260K/tok512.bin`, '--out', out], bin, /truncated/);
  assert.deepEqual((await readdir(root)).filter((f) => f.includes('converted')), []);
});

test('convert: an --out under a file, or empty, is a one-line error naming it', async () => {
  const args = ['convert', 'llama2c', `${DATA}/stories260K/stories260K_v1.bin`, '--tokenizer', `${DATA}/stories260K/tok512.bin`, '--out'];
  const file = join(root, 'a-file');
  await writeFile(file, 'x');
  await expectInputError([...args, join(file, 'm')], join(file, 'm'), /cannot be written: a parent of it is not a directory/);
  await expectInputError([...args, ''], '--out', /expects a directory path, got an empty string/);
});
