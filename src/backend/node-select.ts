/** Backend selection in Node: WebGPU through the npm `webgpu` package (Dawn), the CPU backend otherwise. */
import type { Backend } from './backend.js';
import { createCpuBackend } from './cpu/node-cpu.js';
import { selectBackend, type BackendKind, type SelectedBackend } from './select.js';
import { nodeGpuInstance } from './webgpu/node.js';
import type { WebGpuBackendOptions } from './webgpu/webgpu.js';

/** The one place the Node CPU backend is constructed. */
export const makeNodeCpuBackend = (): Backend => createCpuBackend();

export async function selectNodeBackend(kind: BackendKind, opts: WebGpuBackendOptions = {}): Promise<SelectedBackend> {
  let gpu: GPU | undefined;
  try {
    gpu = kind === 'cpu' ? undefined : await nodeGpuInstance();
  } catch {
    gpu = undefined; // the native module failed to load: no WebGPU here
  }
  return selectBackend(kind, gpu, makeNodeCpuBackend, opts);
}
