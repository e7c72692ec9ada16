/**
 * WebGPU test helpers: one backend per test file on whatever adapter exists
 * (lavapipe in CI), seeded random data, and the CONVENTIONS §3 comparisons.
 */
import assert from 'node:assert/strict';
import { createNodeWebGpuBackend } from '../src/backend/webgpu/node.js';
import type { WebGpuBackend, WebGpuBackendOptions } from '../src/backend/webgpu/webgpu.js';
import { f32ArrayToBf16, f32ArrayToF16, bf16ArrayToF32, f16ArrayToF32 } from '../src/tensor/dtype.js';
import { tensor, type HostTensor } from '../src/tensor/tensor.js';

/** A WebGPU backend, or the reason there is none (the suite then skips by name). */
export async function tryWebGpu(opts: WebGpuBackendOptions = {}): Promise<{ b?: WebGpuBackend; skip?: string }> {
  try {
    return { b: await createNodeWebGpuBackend(opts) };
  } catch (e) {
    const skip = `SKIPPED webgpu tests: no WebGPU adapter (${(e as Error).message})`;
    console.log(skip);
    return { skip };
  }
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo));
  }
  return out;
}

export type WeightDType = 'f32' | 'bf16' | 'f16';

/**
 * A weight in `dtype` and its exact f32 value (16-bit rounding happens here,
 * so the reference sees the very numbers the GPU widens).
 */
export function weight(dtype: WeightDType, shape: number[], v: Float32Array): { host: HostTensor; exact: Float32Array } {
  if (dtype === 'f32') return { host: tensor('f32', shape, v), exact: v };
  const bits = dtype === 'bf16' ? f32ArrayToBf16(v) : f32ArrayToF16(v);
  const exact = dtype === 'bf16' ? bf16ArrayToF32(bits) : f16ArrayToF32(bits);
  return { host: tensor(dtype, shape, bits), exact };
}

/** Normalized MSE Σ(a−b)²/Σref² (CONVENTIONS §3: ≤ 1e-10 for f32 reductions and matmuls). */
export function nmse(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) throw new Error(`length ${a.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return den === 0 ? num : num / den;
}

/** The worst elementwise violation of |a − b| ≤ atol + rtol·|ref|, as a message, or null. */
export function closeViolation(a: Float32Array, ref: Float32Array, rtol: number, atol: number): string | null {
  if (a.length !== ref.length) return `length ${a.length} vs ${ref.length}`;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - ref[i]!);
    if (!(d <= atol + rtol * Math.abs(ref[i]!))) return `element ${i}: ${a[i]} vs ${ref[i]} (|Δ| ${d})`;
  }
  return null;
}

/** f32 matmul/reduction rule: nMSE ≤ 1e-10. */
export const NMSE_F32 = 1e-10;

/** Asserts the f32 matmul/reduction rule (nMSE ≤ NMSE_F32). */
export function assertNmse(got: Float32Array, ref: Float32Array, what: string): void {
  const e = nmse(got, ref);
  assert.ok(e <= NMSE_F32, `${what}: nMSE ${e.toExponential(2)} > ${NMSE_F32}`);
}

/** Asserts the elementwise f32 rule |Δ| ≤ 1e-6 + 1e-5·|ref|. */
export function assertClose(got: Float32Array, ref: Float32Array, what: string): void {
  const v = closeViolation(got, ref, 1e-5, 1e-6);
  assert.equal(v, null, `${what}: ${v}`);
}

/** Runs fn, returning the kernel files of every dispatch it issued on `on`, in order. */
export function dispatchedFiles(on: WebGpuBackend, fn: () => void): string[][] {
  const files: string[][] = [];
  const dispatch = on.ctx.dispatch.bind(on.ctx);
  on.ctx.dispatch = (d) => {
    files.push([...d.kernel.files]);
    dispatch(d);
  };
  try {
    fn();
  } finally {
    on.ctx.dispatch = dispatch;
  }
  return files;
}
