/**
 * Node adapter: the WebGPU backend on Dawn through the npm `webgpu` package
 * (lavapipe, Vulkan, Metal, D3D12). The native module is loaded on first use,
 * so a machine where it cannot load still runs the CPU backend.
 */
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu.js';

let nodeGpu: Promise<GPU> | undefined;

/**
 * The process-wide `GPU` object of the `webgpu` package (loaded and created
 * once). $LOWBIT_DAWN_FLAGS passes Dawn options, space-separated, e.g.
 * `disable-dawn-features=timestamp_quantization` for exact GPU timestamps in benchmarks.
 */
export function nodeGpuInstance(): Promise<GPU> {
  const flags = (process.env.LOWBIT_DAWN_FLAGS ?? '').split(' ').filter((s) => s);
  nodeGpu ??= import('webgpu').then((m) => m.create(flags));
  return nodeGpu;
}

export async function createNodeWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return WebGpuBackend.create(await nodeGpuInstance(), opts);
}
