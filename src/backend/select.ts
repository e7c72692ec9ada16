/**
 * Backend selection (browser-safe): `auto` takes WebGPU on a hardware adapter
 * and the CPU otherwise (no `GPU`, no adapter, or a software adapter such as
 * lavapipe/llvmpipe/SwiftShader, which is slower than the CPU backend);
 * `webgpu` forces WebGPU on any adapter and fails clearly without one; `cpu`
 * is the CPU backend.
 */
import type { Backend } from './backend.js';
import { adapterName, WebGpuBackend, type WebGpuBackendOptions } from './webgpu/webgpu.js';

import type { BackendKind } from './kind.js';

export type { BackendKind };

export interface SelectedBackend {
  readonly backend: Backend;
  readonly chose: 'cpu' | 'webgpu';
  /** Why, in a few words: "NVIDIA H200, forced", "software adapter llvmpipe, using the CPU". */
  readonly reason: string;
}

const SOFTWARE = /lavapipe|llvmpipe|swiftshader|software|warp|basic render/i;

/** Whether an adapter is a software rasterizer (CPU emulation of a GPU). */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (info.isFallbackAdapter === true || legacy === true) return true;
  return SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

export async function selectBackend(
  kind: BackendKind,
  gpu: GPU | undefined,
  makeCpu: () => Backend,
  opts: WebGpuBackendOptions = {},
): Promise<SelectedBackend> {
  if (kind === 'cpu') return { backend: makeCpu(), chose: 'cpu', reason: 'requested' };
  const adapter = gpu ? await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' }) : null;
  if (kind === 'webgpu') {
    if (!gpu) throw new Error('--backend webgpu: this runtime has no WebGPU (no navigator.gpu)');
    if (!adapter) throw new Error('--backend webgpu: no WebGPU adapter found (requestAdapter returned null; is a Vulkan/Metal/D3D12 driver installed?)');
    const backend = await WebGpuBackend.create(gpu, { ...opts, adapter });
    const soft = isSoftwareAdapter(adapter) ? 'software adapter, ' : '';
    return { backend, chose: 'webgpu', reason: `${adapterName(adapter.info)}, ${soft}forced` };
  }
  if (!gpu) return { backend: makeCpu(), chose: 'cpu', reason: 'no WebGPU in this runtime' };
  if (!adapter) return { backend: makeCpu(), chose: 'cpu', reason: 'no WebGPU adapter' };
  if (isSoftwareAdapter(adapter)) {
    return { backend: makeCpu(), chose: 'cpu', reason: `only a software WebGPU adapter (${adapterName(adapter.info)})` };
  }
  const backend = await WebGpuBackend.create(gpu, { ...opts, adapter });
  return { backend, chose: 'webgpu', reason: `${adapterName(adapter.info)}, hardware adapter` };
}
