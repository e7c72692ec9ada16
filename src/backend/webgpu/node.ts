/** Node adapter: the WebGPU backend on Dawn through the npm `webgpu` package (lavapipe, Vulkan, Metal, D3D12). */
import { create } from 'webgpu';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu.js';

let nodeGpu: GPU | undefined;

/** The process-wide `GPU` object of the `webgpu` package (created once). */
export function nodeGpuInstance(): GPU {
  nodeGpu ??= create([]);
  return nodeGpu;
}

export function createNodeWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return WebGpuBackend.create(nodeGpuInstance(), opts);
}
