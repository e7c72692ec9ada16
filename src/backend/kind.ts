/** Which backend to run on (browser- and Node-safe, no WebGPU types): see select.ts. */
export type BackendKind = 'auto' | 'cpu' | 'webgpu';
