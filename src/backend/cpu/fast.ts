/**
 * The browser-safe fast CPU backend: the WASM SIMD GEMM on one thread. Where
 * the engine allows a shared WebAssembly memory (Node; cross-origin-isolated
 * pages) tensors live in the kernel's memory, so matmuls read weights in
 * place; elsewhere operands are copied in per call. Without WASM SIMD it is the
 * reference backend.
 */
import { CpuBackend } from './cpu.js';
import { WasmGemm, wasmSimdSupported } from './wasm-gemm.js';

export function createFastCpuBackend(): CpuBackend {
  if (!wasmSimdSupported()) return new CpuBackend({ packed: 'fast' });
  const k = WasmGemm.create();
  const arena = k.arena;
  return new CpuBackend({
    matmul: k.matmul,
    matmulName: 'wasm simd, 1 thread',
    storage: arena ? 'shared' : 'array',
    arena,
    packed: 'fast',
    qmatmul: k.qmatmul,
  });
}
