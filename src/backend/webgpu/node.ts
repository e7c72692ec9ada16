/**
 * Node adapter: the WebGPU backend on Dawn through the npm `webgpu` package
 * (lavapipe, Vulkan, Metal, D3D12). The native module is loaded on first use,
 * so a machine where it cannot load still runs the CPU backend.
 */
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu.js';

/**
 * Dawn toggles on by default in Node: `disable_robustness`, no bounds check on every storage access
 * (Dawn's index clamps or the driver's robust buffer access). lowbit's kernels keep their indices
 * in bounds by construction, and CI runs every kernel test on lavapipe with the checks off, where
 * an out-of-bounds read would show. The H200 int4 decode step: 2.822 → 2.690 ms in one run
 * (bench/results/h200/decode11/). LOWBIT_ROBUST=1 leaves Dawn's defaults.
 */
export const SPEED_TOGGLES: readonly string[] = ['disable_robustness'];

/**
 * The flags the Dawn instance is created with: $LOWBIT_DAWN_FLAGS (space-separated, e.g.
 * `disable-dawn-features=timestamp_quantization` for exact GPU timestamps in benchmarks) with
 * SPEED_TOGGLES added to its `enable-dawn-features=` list, unless $LOWBIT_ROBUST is 1.
 */
export function dawnFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags = (env.LOWBIT_DAWN_FLAGS ?? '').split(' ').filter((s) => s);
  if (env.LOWBIT_ROBUST === '1') return flags;
  const key = 'enable-dawn-features=';
  const i = flags.findIndex((f) => f.startsWith(key));
  const have = i < 0 ? [] : (flags[i] as string).slice(key.length).split(',').filter((s) => s);
  const merged = `${key}${[...new Set([...have, ...SPEED_TOGGLES])].join(',')}`;
  return i < 0 ? [...flags, merged] : flags.map((f, j) => (j === i ? merged : f));
}

let nodeGpu: Promise<GPU> | undefined;

/** The process-wide `GPU` object of the `webgpu` package (loaded and created once, with dawnFlags()). */
export function nodeGpuInstance(): Promise<GPU> {
  nodeGpu ??= import('webgpu').then((m) => m.create(dawnFlags()));
  return nodeGpu;
}

export async function createNodeWebGpuBackend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return WebGpuBackend.create(await nodeGpuInstance(), opts);
}
