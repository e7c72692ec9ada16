// Prints the WebGPU adapter Node sees (run on the GPU machine after setup.sh).
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('no WebGPU adapter');
const i = adapter.info;
const l = adapter.limits;
console.log(JSON.stringify({
  vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, fallback: i.isFallbackAdapter,
  features: [...adapter.features].sort(),
  limits: { maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize, maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup, subgroupMinSize: i.subgroupMinSize, subgroupMaxSize: i.subgroupMaxSize },
}));
process.exit(0);
