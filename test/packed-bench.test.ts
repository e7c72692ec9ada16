/**
 * The packed benchmarks at tiny shapes: `lowbit bench` on a random model built
 * in memory (webgpu when there is an adapter, else cpu) and on a random .lowbit
 * file written by bench/random-model.js, whose `inspect --json` reports the
 * weight bytes vs bf16; random SpQR at the benchmark settings is ≈ 3.76 bits plus O(out) row pointers
 * (≈ 3.8 at 7B shape).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { runCliJson } from './helpers.js';
import { tryWebGpu } from './webgpu-helpers.js';
import { LOWBIT_VERSION as VERSION } from '../src/version.gen.js';

const { b: probe } = await tryWebGpu();
const backend = probe ? 'webgpu' : 'cpu';
probe?.dispose();
const TINY = ['--dim', '128', '--layers', '2', '--heads', '4', '--ffn', '256', '--vocab', '500'];

interface BenchJson {
  lowbit: string;
  commit: string | null;
  date: string;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
  decode_tokens_per_s_sampling: number;
  decode_runs: number;
  decode_record_ms: number;
  bytes_per_token: number;
  weight_bytes_per_token: number;
  achieved_gbps: number;
  copy_gbps: number | null;
  fraction_of_roofline: number | null;
  kv_bytes_per_token: number;
  memory: { weight_bytes: number; kv_cache: string; kv_cache_bytes: number; bf16_weight_bytes: number };
  weights_packed: Record<string, number>;
}

describe('packed benchmarks (tiny shapes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-bench-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['int4', 'spqr', 'bf16']) {
    test(`lowbit bench random:llama3-8b:${format} (${backend})`, async () => {
      const r = await runCliJson<BenchJson>(['bench', `random:llama3-8b:${format}`, ...TINY, '--kv-heads', '2', '--prompt-tokens', '16', '--gen-tokens', '4', '--backend', backend]);
      assert.ok(r.prefill_tokens_per_s > 0 && r.decode_tokens_per_s > 0 && r.decode_tokens_per_s_sampling > 0);
      assert.equal(r.decode_runs, 3);
      assert.ok(r.decode_record_ms > 0 && r.decode_record_ms < 60e3, `decode_record_ms ${r.decode_record_ms}`);
      // when and what built it, for bench/results
      assert.equal(r.lowbit, VERSION);
      assert.equal(r.commit, process.env.LOWBIT_COMMIT ?? null);
      assert.ok(Math.abs(Date.parse(r.date) - Date.now()) < 3600e3, `date ${r.date}`);
      assert.ok(r.bytes_per_token > r.weight_bytes_per_token && r.achieved_gbps > 0);
      if (backend === 'webgpu') assert.ok(r.copy_gbps !== null && r.fraction_of_roofline !== null && r.fraction_of_roofline > 0);
      assert.deepEqual(r.weights_packed, format === 'bf16' ? {} : { [format]: 14 });
    });
  }

  test(`lowbit bench --kv-cache f16: the cache and the KV bytes a token reads halve (${backend})`, async () => {
    // 2 layers × 2 KV heads × hd 32, 8 + 2 rows; mean position 8 + 1.5
    const args = ['bench', 'random:llama3-8b:int4', ...TINY, '--kv-heads', '2', '--prompt-tokens', '8', '--gen-tokens', '2', '--decode-runs', '1', '--backend', backend];
    const f32 = await runCliJson<BenchJson>(args);
    const f16 = await runCliJson<BenchJson>([...args, '--kv-cache', 'f16']);
    assert.deepEqual([f32.memory.kv_cache, f16.memory.kv_cache], ['f32', 'f16']);
    assert.deepEqual([f32.memory.kv_cache_bytes, f16.memory.kv_cache_bytes], [2 * 2 * 10 * 64 * 4, 2 * 2 * 10 * 64 * 2]);
    assert.deepEqual([f32.kv_bytes_per_token, f16.kv_bytes_per_token], [2 * 2 * 9.5 * 64 * 4, 2 * 2 * 9.5 * 64 * 2]);
    assert.ok(f16.decode_tokens_per_s > 0 && f16.decode_tokens_per_s_sampling > 0);
    const bad = spawnSync(process.execPath, [fileURLToPath(new URL('../src/cli/main.js', import.meta.url)), ...args, '--kv-cache', 'q8'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--kv-cache: "q8" is not one of f32, f16/);
  });

  test(`lowbit bench random:llama3-8b:int4:head: lm_head packed too (${backend})`, async () => {
    const args = [...TINY, '--kv-heads', '2', '--prompt-tokens', '8', '--gen-tokens', '2', '--backend', backend];
    const plain = await runCliJson<BenchJson>(['bench', 'random:llama3-8b:int4', ...args]);
    const r = await runCliJson<BenchJson>(['bench', 'random:llama3-8b:int4:head', ...args, '--decode-runs', '5']);
    assert.deepEqual(r.weights_packed, { int4: 15 });
    assert.equal(r.decode_runs, 5);
    // the head's bf16 bytes (500 × 128 × 2) become int4 g128 codes and statistics: ~1/4 of them
    const saved = plain.memory.weight_bytes - r.memory.weight_bytes;
    assert.ok(saved > 0.6 * 500 * 128 * 2 && saved < 500 * 128 * 2, `saved ${saved} bytes`);
    assert.ok(plain.weight_bytes_per_token - r.weight_bytes_per_token > 0.6 * 500 * 128 * 2);
    const bad = spawnSync(process.execPath, [fileURLToPath(new URL('../src/cli/main.js', import.meta.url)), 'bench', 'random:llama3-8b:int4:tail', ...args], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /unknown random model suffix "tail"/);
  });

  test('bench/random-model.js writes a .lowbit that inspect and bench read', async () => {
    const file = join(dir, 'rand-spqr.lowbit');
    const script = fileURLToPath(new URL('../bench/random-model.js', import.meta.url));
    const w = spawnSync(process.execPath, [script, '--out', file, '--format', 'spqr', ...TINY], { encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    const ins = await runCliJson<{ bytes: number; quantizedBits: number; gpu: { weightBytes: number; bf16Bytes: number; kvBytesPerPosition: number; kvBytesPerPositionF16: number } }>(['inspect', file]);
    // 3 + 2·3/16 + 32/256 + 32·0.01·(4/5 of the rows) ≈ 3.76, plus the CSR row pointers (32 bits per row: 0.25 at in = 128)
    assert.ok(ins.quantizedBits > 3.9 && ins.quantizedBits < 4.2, `spqr bits ${ins.quantizedBits}`);
    assert.ok(ins.gpu.weightBytes < ins.gpu.bf16Bytes);
    // WebGPU images: SpQR's code fields (2 bits more per group at qqBits 3), a 64-byte header and 16-byte alignment per tensor
    assert.ok(ins.gpu.weightBytes > ins.bytes, `images ${ins.gpu.weightBytes} vs stored ${ins.bytes}`);
    assert.equal(ins.gpu.kvBytesPerPosition, 2 * 2 * 4 * 32 * 4);
    assert.equal(ins.gpu.kvBytesPerPositionF16, 2 * 2 * 4 * 32 * 2);
    const r = await runCliJson<BenchJson>(['bench', file, '--prompt-tokens', '8', '--gen-tokens', '2', '--backend', backend]);
    assert.deepEqual(r.weights_packed, { spqr: 14 });
    if (backend === 'webgpu') {
      // bench counts the uploaded images (Tensor.bytes), inspect computes them from the shapes; the runtime
      // merges q|k|v and gate|up, 3 images fewer a layer, each up to a header, 9 arrays' alignment and a row pointer apart
      const slack = 2 * 3 * (64 + 9 * 16 + 4);
      assert.ok(Math.abs(r.memory.weight_bytes - ins.gpu.weightBytes) <= slack, `bench ${r.memory.weight_bytes} vs inspect ${ins.gpu.weightBytes} bytes`);
    }
  });
});
