/**
 * WebGPU failures are immediate, clear Errors naming the op, shapes and bytes:
 * oversized allocations, shape mismatches, chunked tensors where one binding is
 * needed, device validation errors (surfaced at sync), and a lost device.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSoftwareAdapter, selectBackend } from '../src/backend/select.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { nodeGpuInstance } from '../src/backend/webgpu/node.js';
import { tensor } from '../src/tensor/tensor.js';
import { tryWebGpu } from './webgpu-helpers.js';

const { b: probe, skip } = await tryWebGpu();
probe?.dispose();

describe('webgpu errors and selection', { skip }, () => {
  test('an allocation larger than one binding fails at once, naming shape and bytes', async () => {
    const { b } = await tryWebGpu({ maxBindingBytes: 4096 });
    assert.ok(b);
    assert.throws(() => b.empty('f32', [2, 2000]), /empty: one row of f32\[2, 2000\] needs 8000 bytes, more than the largest storage binding of 4096 bytes/);
    // a weight of many rows is chunked instead, but an activation op refuses the chunks by name
    const big = b.empty('f32', [100, 100]);
    assert.throws(() => b.siluMul(big, big, big), /siluMul \[100, 100\]: out f32\[100, 100\] is split into 10 buffers/);
    b.dispose();
  });

  test('shape mismatches throw the shared shape messages before any GPU work', async () => {
    const { b } = await tryWebGpu();
    assert.ok(b);
    const x = b.empty('f32', [3, 64]);
    const w = b.upload(tensor('f32', [10, 65], new Float32Array(650)));
    assert.throws(() => b.matmul(b.empty('f32', [3, 10]), x, w), /matmul: x \[3, 64\] and w \[10, 65\] disagree on K/);
    assert.throws(() => b.upload(tensor('i64', [2], new BigInt64Array(2))), /upload: webgpu tensors are f32, i32, f16 or bf16, not i64\[2\]/);
    await b.sync();
    b.dispose();
  });

  for (const errorScopes of ['op', 'submit'] as const) test(`a device validation error surfaces at sync as one Error naming the op (error scopes per ${errorScopes})`, async () => {
    const { b } = await tryWebGpu({ errorScopes });
    assert.ok(b);
    const out = b.empty('f32', [4]);
    // 70000 workgroups in x exceeds maxComputeWorkgroupsPerDimension: invalid at submit
    b.ctx.dispatch({ what: 'probe op out[4]', kernel: { files: ['silu_mul'], header: { WG: 64 } }, buffers: { 1: b.ctx.device.createBuffer({ size: 16, usage: 0x80 }), 2: b.ctx.device.createBuffer({ size: 16, usage: 0x80 }), 3: (b as unknown as { buf(w: string, n: string, t: unknown): GPUBuffer }).buf('probe', 'out', out) }, params: [4, 4], grid: [70000, 1, 1] });
    await assert.rejects(b.sync(), /webgpu: .*probe op out\[4\].*validation error/s);
    b.dispose();
  });

  test('settled device waits leave nothing behind (each guard() had kept a reaction on the device-lost promise: the heap grew every generation)', async () => {
    const { b } = await tryWebGpu();
    assert.ok(b);
    const x = b.upload({ dtype: 'f32', shape: [4], data: Float32Array.of(1, 2, 3, 4) });
    for (let i = 0; i < 200; i++) assert.deepEqual([...((await b.read(x)).data as Float32Array)], [1, 2, 3, 4]);
    await b.sync();
    assert.equal(b.ctx.guardsInFlight, 0);
    const pending = [b.read(x), b.sync()];
    assert.ok(b.ctx.guardsInFlight > 0);
    await Promise.all(pending);
    assert.equal(b.ctx.guardsInFlight, 0);
    b.dispose();
  });

  test('a lost device fails pending and later calls with a clear message, without hanging', async () => {
    const { b } = await tryWebGpu();
    assert.ok(b);
    const x = b.empty('f32', [4]);
    b.ctx.device.destroy();
    await assert.rejects(b.read(x), /device lost|destroyed|used after/i);
    await new Promise((r) => setTimeout(r, 50));
    assert.throws(() => b.add(x, x, x), /webgpu device lost \(destroyed\)/);
    await assert.rejects(b.sync(), /webgpu device lost/);
  });

  test('selection: cpu when asked, webgpu forced on any adapter, auto refuses software adapters', async () => {
    const gpu = await nodeGpuInstance();
    const cpu = await selectBackend('cpu', gpu, () => new CpuBackend());
    assert.equal(cpu.chose, 'cpu');
    const forced = await selectBackend('webgpu', gpu, () => new CpuBackend());
    assert.equal(forced.chose, 'webgpu');
    assert.match(forced.reason, /forced/);
    forced.backend.dispose();
    const adapter = await gpu.requestAdapter();
    const auto = await selectBackend('auto', gpu, () => new CpuBackend());
    if (adapter && isSoftwareAdapter(adapter)) {
      assert.equal(auto.chose, 'cpu');
      assert.match(auto.reason, /software/);
    } else {
      assert.equal(auto.chose, 'webgpu');
    }
    auto.backend.dispose();
    const none = await selectBackend('auto', undefined, () => new CpuBackend());
    assert.equal(none.chose, 'cpu');
    await assert.rejects(selectBackend('webgpu', undefined, () => new CpuBackend()), /no WebGPU/);
  });
});
