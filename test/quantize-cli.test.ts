/**
 * `lowbit quantize` through the CLI: the main command alone quantizes the
 * demo model; a job killed mid-way and resumed writes the same bytes as an
 * uninterrupted one; bad flags are one-line errors with exit 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { defaultModelDir } from '../src/cli/paths.js';
import { runCli, runCliJson } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const SMALL = ['--calib-samples', '8', '--calib-seqlen', '64', '--backend', 'cpu'];

interface QuantizeJson {
  out: string;
  bytes: number;
  avg_bits: number;
  layers: { name: string; rel_error: number; avg_bits: number; format: string }[];
}

test('quantize: GPTQ 4-bit on the embedded model, --json report, inspect agrees on the bits', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-q-'));
  try {
    const out = join(dir, 'demo.lowbit');
    const r = await runCliJson<QuantizeJson>(['quantize', '--method', 'gptq', '--bits', '4', '--group-size', '64', ...SMALL, '--out', out]);
    assert.equal(r.layers.length, 6 * 7);
    assert.ok(r.layers.every((l) => l.format === 'int4' && l.rel_error > 0 && l.rel_error < 0.05), 'per-layer relative errors in (0, 5 %)');
    assert.ok(Math.abs(r.avg_bits - (4 + (16 + 4) / 64)) < 1e-12, `avg bits ${r.avg_bits}`); // 4-bit codes + fp16 scale + 4-bit zero per 64
    assert.ok(!existsSync(`${out}.work`), 'work directory removed after success');
    const info = await runCliJson<{ quantizedBits: number }>(['inspect', out]);
    assert.ok(Math.abs(info.quantizedBits - 4.3125) < 1e-12, `inspect says ${info.quantizedBits}`);
    // KL of the quantized model against the original on the default text: small, positive; itself: zero
    const ev = ['--windows', '2', '--seqlen', '128', '--backend', 'cpu'];
    const k = await runCliJson<{ ppl: number; kl: number; top1: number; compare_ppl: number }>(['eval', '--compare', out, ...ev]);
    assert.ok(k.kl > 1e-4 && k.kl < 0.2, `KL ${k.kl}`);
    assert.ok(k.top1 > 0.7 && k.top1 < 1, `top-1 agreement ${k.top1}`);
    assert.ok(Math.abs(k.compare_ppl / k.ppl - 1) < 0.1, `ppl ${k.ppl} vs quantized ${k.compare_ppl}`);
    const self = await runCliJson<{ kl: number; top1: number }>(['eval', out, '--compare', out, ...ev]);
    assert.ok(Math.abs(self.kl) < 1e-6 && self.top1 === 1, `self KL ${self.kl}, top-1 ${self.top1}`);
    // several compared models in one pass: each row equals its single-model run
    type Row = { compare: string; kl: number; top1: number; compare_ppl: number };
    const many = await runCliJson<{ ppl: number; compares: Row[] }>(['eval', '--compare', out, '--compare', defaultModelDir(), ...ev]);
    assert.equal(many.compares.length, 2);
    assert.equal(many.ppl, k.ppl);
    assert.deepEqual([many.compares[0]?.kl, many.compares[0]?.top1, many.compares[0]?.compare_ppl], [k.kl, k.top1, k.compare_ppl]);
    assert.ok(Math.abs(many.compares[1]?.kl ?? 1) < 1e-6 && many.compares[1]?.compare_ppl === k.ppl, 'the base model compared with itself');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quantize: --gptq-engine backend on the CPU backend (reference ops) is recorded and agrees with the host engine', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-engine-'));
  try {
    type EngineJson = { gptq_engine: string; layers: { rel_error: number; engine: string }[] };
    const args = ['quantize', '--method', 'gptq', '--bits', '4', ...SMALL];
    const dev = await runCliJson<EngineJson>([...args, '--gptq-engine', 'backend', '--out', join(dir, 'b.lowbit')]);
    const host = await runCliJson<EngineJson>([...args, '--out', join(dir, 'h.lowbit')]);
    assert.equal(dev.gptq_engine, 'backend');
    assert.equal(host.gptq_engine, 'host'); // auto on the CPU backend
    assert.ok(dev.layers.every((l) => l.engine === 'backend') && host.layers.every((l) => l.engine === 'host'));
    const worst = Math.max(...dev.layers.map((l, i) => Math.abs(l.rel_error / (host.layers[i]?.rel_error as number) - 1)));
    assert.ok(worst <= 0.03, `relative errors differ by up to ${(100 * worst).toFixed(2)} %`);
    const header = (await readFile(join(dir, 'b.lowbit'))).toString('latin1');
    assert.match(header, /"engine":"backend"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quantize: --method spqr --gptq-engine backend on the CPU backend (reference ops) is recorded and agrees with the host engine', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-spqr-engine-'));
  try {
    type EngineJson = { gptq_engine: string; layers: { rel_error: number; engine: string; format: string }[] };
    const args = ['quantize', '--method', 'spqr', ...SMALL];
    const dev = await runCliJson<EngineJson>([...args, '--gptq-engine', 'backend', '--out', join(dir, 'b.lowbit')]);
    const host = await runCliJson<EngineJson>([...args, '--out', join(dir, 'h.lowbit')]);
    assert.equal(dev.gptq_engine, 'backend');
    assert.equal(host.gptq_engine, 'host'); // auto on the CPU backend
    assert.ok(dev.layers.every((l) => l.engine === 'backend' && l.format === 'spqr') && host.layers.every((l) => l.engine === 'host'));
    const worst = Math.max(...dev.layers.map((l, i) => Math.abs(l.rel_error / (host.layers[i]?.rel_error as number) - 1)));
    assert.ok(worst <= 0.03, `relative errors differ by up to ${(100 * worst).toFixed(2)} %`);
    const header = (await readFile(join(dir, 'b.lowbit'))).toString('latin1');
    assert.match(header, /"method":"spqr"/);
    assert.match(header, /"engine":"backend"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quantize --quantize-head: the tied head is stored quantized as lm_head.weight and the model still evaluates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-head-'));
  try {
    const out = join(dir, 'head.lowbit');
    const r = await runCliJson<QuantizeJson>(['quantize', '--method', 'rtn', '--bits', '8', '--quantize-head', ...SMALL, '--out', out]);
    assert.equal(r.layers.length, 6 * 7 + 1);
    assert.equal(r.layers.at(-1)?.name, 'lm_head.weight');
    const info = await runCliJson<{ config: { tieWordEmbeddings: boolean }; tensors: { name: string; format: string }[] | number }>(['inspect', out]);
    assert.equal(info.config.tieWordEmbeddings, false);
    const ev = ['--windows', '2', '--seqlen', '128', '--backend', 'cpu'];
    const k = await runCliJson<{ kl: number; top1: number }>(['eval', '--compare', out, ...ev]);
    assert.ok(k.kl > 0 && k.kl < 0.01, `8-bit everything incl. the head: KL ${k.kl}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quantize: a job killed mid-way and resumed writes byte-identical output', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-kill-'));
  try {
    const args = ['quantize', '--method', 'spqr', ...SMALL];
    const whole = join(dir, 'whole.lowbit');
    const r = await runCli([...args, '--out', whole]);
    assert.equal(r.code, 0, r.stderr);
    // stderr is not a terminal here: a line a block instead of the bar
    assert.deepEqual(r.stderr.match(/^block \d+\/6 done/gm), [1, 2, 3, 4, 5, 6].map((b) => `block ${b}/6 done`));
    // kill -9 once block 2's checkpoint exists
    const cut = join(dir, 'cut.lowbit');
    const child = spawn(process.execPath, [CLI, ...args, '--out', cut], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const work = `${cut}.work`;
        if (existsSync(work) && readdirSync(work).includes('block-0002.safetensors')) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the job finished before it could be killed'));
      });
    });
    await exited;
    assert.ok(!existsSync(cut), 'no output after the kill');
    const resumed = await runCli([...args, '--out', cut, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming at block [2-5]/);
    assert.ok((await readFile(cut)).equals(await readFile(whole)), 'resumed output differs from the uninterrupted one');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quantize: bad flags and inputs are one-line errors (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [['--method', 'awq'], /--method: "awq" is not one of rtn, gptq, spqr/],
    [['--bits', '5'], /--bits: 5-bit codes have no packed format/],
    [['--method', 'rtn', '--act-order'], /--act-order: does not apply to --method rtn/],
    [['--method', 'rtn', '--no-act-order'], /--no-act-order: does not apply to --method rtn/],
    [['--calib', '/nonexistent/calib.txt'], /\/nonexistent\/calib.txt/],
    [['--out', 'x.bin'], /x.bin: the output file must end in .lowbit/],
    [['--calib-seqlen', '100000'], /--calib-seqlen: 100000 exceeds the model's max_position_embeddings/],
    [['--gptq-engine', 'gpu'], /--gptq-engine: "gpu" is not auto, host or backend/],
    [['--method', 'rtn', '--gptq-engine', 'backend'], /--gptq-engine: does not apply to --method rtn/],
    [['--method', 'spqr', '--bits', '9'], /--bits: SpQR codes have 2 to 8 bits, got 9/],
    [['--method', 'spqr', '--qq-bits', '1'], /--qq-bits: SpQR codes have 2 to 8 bits, got 1/],
    [['--method', 'spqr', '--group-size', '0'], /--group-size: SpQR needs groups/],
  ];
  for (const [flags, want] of cases) {
    const r = await runCli(['quantize', ...flags, '--calib-samples', '2']);
    assert.equal(r.code, 2, `${flags.join(' ')}: exit ${r.code}, ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('quantize: the bits stored as inspect counts them, SpQR τ = ∞ recorded as "inf", SpQR --no-act-order stores no permutation, too little damping a --percdamp error, a resume on another engine refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-q-'));
  try {
    const out = join(dir, 'spqr.lowbit');
    const r = await runCliJson<{ config: Record<string, unknown>; avg_bits: number; stored_bits: number; quantize_head: boolean }>(['quantize', '--method', 'spqr', '--outlier-threshold', 'inf', ...SMALL, '--json', '--out', out]);
    assert.equal(r.config['outlierThreshold'], 'inf');
    assert.equal(r.quantize_head, false);
    assert.ok(Math.abs(r.avg_bits - 3.625) < 1e-12, `formula ${r.avg_bits}`); // 3 + 2·3/16 + 2·32/256 (the paper's count)
    const info = await runCliJson<{ quantizedBits: number; quantization: { config: Record<string, unknown> } }>(['inspect', out]);
    assert.equal(info.quantization.config['outlierThreshold'], 'inf');
    assert.equal(r.stored_bits, info.quantizedBits);
    assert.ok(r.stored_bits > r.avg_bits, 'the file also stores the permutation and the outliers\' row pointers');
    assert.equal(r.config['permutation'], 'act_order', 'SpQR\'s default order');
    // --no-act-order: SpQR in the columns' own order, no permutation stored (the same formula bits)
    const id = await runCliJson<{ config: Record<string, unknown>; avg_bits: number; stored_bits: number }>(['quantize', '--method', 'spqr', '--no-act-order', '--outlier-threshold', 'inf', ...SMALL, '--json', '--out', join(dir, 'spqr-id.lowbit')]);
    assert.equal(id.config['permutation'], 'identity');
    assert.equal(id.avg_bits, r.avg_bits);
    assert.ok(id.stored_bits < r.stored_bits && id.stored_bits > id.avg_bits, `stored ${id.stored_bits} vs ${r.stored_bits} with the permutation`);

    const pd = join(dir, 'pd0.lowbit');
    const bad = await runCli(['quantize', '--method', 'gptq', '--percdamp', '0', '--calib-samples', '1', '--calib-seqlen', '16', '--backend', 'cpu', '--json', '--out', pd]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^lowbit: error: --percdamp: H \(damped\) is not positive definite/m);
    assert.ok(!existsSync(pd) && !existsSync(`${pd}.work`), 'no file, no work directory');

    // blocks done by the host engine (CPU backend) are not finished by the backend engine (WebGPU)
    const mix = join(dir, 'mix.lowbit');
    const first = await runCli(['quantize', '--method', 'gptq', ...SMALL, '--keep-work', '--json', '--out', mix]);
    assert.equal(first.code, 0, first.stderr);
    const resumed = await runCli(['quantize', '--method', 'gptq', '--calib-samples', '8', '--calib-seqlen', '64', '--backend', 'webgpu', '--resume', '--json', '--out', mix]);
    assert.equal(resumed.code, 2, resumed.stderr);
    assert.match(resumed.stderr, /belongs to a different job \(model, method, config, engine or calibration differ\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
