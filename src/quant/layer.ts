/**
 * Small pieces every quantization method uses: argument checks, config
 * resolution, the Hessian copy, the act-order permutation and the layer error.
 */
import type { HostTensor } from '../tensor/tensor.js';
import { shapeStr } from '../tensor/tensor.js';
import type { LayerError, LayerStats, MethodOptions } from './types.js';

/** [out, in] of W, after checking W and (when given) H: [in, in]. */
export function layerDims(method: string, W: HostTensor<'f32'>, stats: LayerStats | null): { out: number; inn: number } {
  if (W.dtype !== 'f32' || W.shape.length !== 2) throw new Error(`${method}: W must be a 2-D f32 [out, in] tensor, got ${W.dtype} ${shapeStr(W.shape)}`);
  const [out, inn] = W.shape as [number, number];
  if (out < 1 || inn < 1) throw new Error(`${method}: W ${shapeStr(W.shape)} is empty`);
  if (stats !== null && stats.H.length !== inn * inn) {
    throw new Error(`${method}: H must be [in, in] = [${inn}, ${inn}] for W ${shapeStr(W.shape)}, got ${stats.H.length} values`);
  }
  return { out, inn };
}

/** Defaults overridden by the options that are set (undefined leaves the default). */
export function resolveConfig<C extends object>(defaults: C, opts: MethodOptions<C>): C {
  const cfg: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'onProgress' || v === undefined) continue;
    if (!(k in defaults)) throw new Error(`unknown config option '${k}'`);
    cfg[k] = v;
  }
  return Object.freeze(cfg) as C;
}

/** Throws unless n is an integer ≥ min. */
export function checkInt(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer ≥ ${min}, got ${n}`);
}

/** A Float64 copy of H: [n, n]. */
export const hessianF64 = (H: ArrayLike<number>): Float64Array => Float64Array.from(H as ArrayLike<number>);

/** Column order by decreasing diag H, ties by increasing index (a stable act-order).  H: [n, n] → perm [n]. */
export function actOrder(H: ArrayLike<number>, n: number): Uint32Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => (H[b * n + b] as number) - (H[a * n + a] as number) || a - b);
  return Uint32Array.from(idx);
}

/** P[:, perm] for a row-major [rows, n] matrix. */
export function permuteColumns(P: Float64Array, rows: number, n: number, perm: Uint32Array): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) for (let c = 0; c < n; c++) out[r * n + c] = P[r * n + (perm[c] as number)] as number;
  return out;
}

/** H[perm][:, perm].  H: [n, n]. */
export function permuteSymmetric(H: Float64Array, n: number, perm: Uint32Array): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const pi = (perm[i] as number) * n;
    for (let j = 0; j < n; j++) out[i * n + j] = H[pi + (perm[j] as number)] as number;
  }
  return out;
}

/** Layout-order [out, in] codes back to original column order (static groups): codes[:, perm⁻¹]. */
export function unpermuteCodes(codes: Uint8Array, out: number, n: number, perm: Uint32Array): Uint8Array {
  const res = new Uint8Array(out * n);
  for (let r = 0; r < out; r++) for (let c = 0; c < n; c++) res[r * n + (perm[c] as number)] = codes[r * n + c] as number;
  return res;
}

/** tr(ΔW·H·ΔWᵀ) and its ratio to tr(W·H·Wᵀ).  W, What: [out, in] original order; H: [in, in] undamped. */
export function layerError(W: Float32Array, What: Float32Array, H: ArrayLike<number>, out: number, n: number): LayerError {
  let proxy = 0;
  let total = 0;
  const d = new Float64Array(n);
  const w = new Float64Array(n);
  for (let r = 0; r < out; r++) {
    for (let j = 0; j < n; j++) {
      w[j] = W[r * n + j] as number;
      d[j] = (W[r * n + j] as number) - (What[r * n + j] as number);
    }
    for (let i = 0; i < n; i++) {
      let hd = 0;
      let hw = 0;
      const ri = i * n;
      for (let j = 0; j < n; j++) {
        const h = H[ri + j] as number;
        hd += h * (d[j] as number);
        hw += h * (w[j] as number);
      }
      proxy += (d[i] as number) * hd;
      total += (w[i] as number) * hw;
    }
  }
  return { proxy, relative: total > 0 ? proxy / total : proxy === 0 ? 0 : Infinity };
}
