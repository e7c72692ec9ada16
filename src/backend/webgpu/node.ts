/**
 * Node adapter: the WebGPU backend on Dawn through the npm `webgpu` package
 * (lavapipe, Vulkan, Metal, D3D12). The native module is loaded on first use,
 * so a machine where it cannot load still runs the CPU backend.
 */
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu.js';

let nodeGpu: Promise<GPU> | undefined;

/** The process-wide `GPU` object of the `webgpu` package (loaded and created once). */
export function nodeGpuInstance(): Promise<GPU> {
  nodeGpu ??= import('webgpu').then((m) => m.create([]));
  return nodeGpu;
}

export async function createNodeWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return WebGpuBackend.create(await nodeGpuInstance(), opts);
}
