/**
 * GPTQ on a compute backend (the WebGPU engine; on the CPU backend the same
 * code runs the reference ops). The algorithm and its result are those of
 * methods/gptq.ts — same blocks cut at group starts, same dead-column, damping,
 * act-order, static and on-the-fly group semantics, same QuantResult — but the
 * numbers are f32 (WGSL has no f64) and H never leaves the device:
 *
 *   d = diag H                                         → host (n values): dead columns, act-order, λ
 *   Hr = J·H[perm][:, perm]·J + diag(dead + λ)         (J reverses the order)
 *   Lr = chol(Hr), M = Lr⁻¹, U = J·M·J                 U upper, UᵀU = H⁻¹ of the permuted, damped H
 *   Wt = W[:, perm]ᵀ (dead columns 0)                  [n, out], rows of the kernel's threads
 *   per block [i1, i2): Backend.gptqBlock (column loop + lazy batch update W[:, i2:] −= E·U[i1:i2, i2:])
 *   error = Σ_r Δw_r·H·Δw_rᵀ with the undamped H       (matmul + rowDot on the device)
 *
 * U = J·chol(J·H·J)⁻¹·J is chol(H⁻¹, upper) (both are upper with a positive
 * diagonal and UᵀU = H⁻¹) and never forms H⁻¹, so one factorization and one
 * triangular inverse replace gptq's chol → cholesky_inverse → chol.
 * A factor depends only on H and the config, so the layers of one group
 * (q/k/v, gate/up) share it: `factorHessian` once, `quantizeWithFactor` each.
 */
import type { Backend, Tensor } from '../backend/backend.js';
import { intFormatFor } from '../formats/index.js';
import { checkUniformGrid, fitUniform, maxCode, quantizeUniform, type UniformParams } from '../formats/grids/uniform.js';
import { tensor, type HostTensor } from '../tensor/tensor.js';
import { checkInt, layerDims, resolveConfig } from './layer.js';
import { NotPositiveDefiniteError } from './linalg.js';
import { intAvgBits } from './methods/rtn.js';
import { GPTQ_DEFAULTS, type GptqConfig, type LayerError, type MethodOptions, type QuantResult } from './types.js';

/** The damped, permuted inverse-Hessian factor of one H, on the backend. */
export interface GptqFactor {
  readonly n: number;
  /** U [n, n] f32 upper, layout order. */
  readonly U: Tensor;
  /** perm[j] = original column of layout column j (identity without act-order). */
  readonly perm: Uint32Array;
  /** dead[i] = 1 where H_ii = 0 (original order). */
  readonly dead: Uint8Array;
  /** The settings it was made with (a factor is reused only for the same ones). */
  readonly actOrder: boolean;
  readonly percdamp: number;
}

/** Phases' wall seconds of one call (each phase ends with a backend sync when `timings` is asked for). */
export interface GptqTimings {
  factor: number;
  columns: number;
  error: number;
}

function resolveGptq(opts: MethodOptions<GptqConfig>): GptqConfig {
  const cfg = resolveConfig(GPTQ_DEFAULTS, opts);
  checkUniformGrid(cfg);
  checkInt('gptq groupSize', cfg.groupSize, 0);
  checkInt('gptq blockSize', cfg.blockSize, 1);
  if (!(cfg.percdamp >= 0)) throw new Error(`gptq percdamp must be ≥ 0, got ${cfg.percdamp}`);
  return cfg;
}

const i32 = (a: ArrayLike<number>): HostTensor<'i32'> => tensor('i32', [a.length], Int32Array.from(a));

/** U, perm and dead columns of the damped H.  H: [n, n] f32 on the backend, undamped (not modified). */
export async function factorHessian(b: Backend, H: Tensor, opts: MethodOptions<GptqConfig> = {}): Promise<GptqFactor> {
  const cfg = resolveGptq(opts);
  const [n, n2] = H.shape as [number, number];
  if (H.shape.length !== 2 || n !== n2) throw new Error(`gptq: H must be square, got [${H.shape.join(', ')}]`);
  const dT = b.empty('f32', [n]);
  b.diagonal(dT, H);
  const diag = (await b.read(dT)).data as Float32Array;
  b.free(dT);
  // dead inputs (H_ii = 0) never reach the output: H_ii = 1, W[:, i] = 0
  const dead = new Uint8Array(n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    dead[i] = diag[i] === 0 ? 1 : 0;
    d[i] = dead[i] ? 1 : (diag[i] as number);
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  if (cfg.actOrder) idx.sort((x, y) => (d[y] as number) - (d[x] as number) || x - y); // stable, as layer.actOrder
  const perm = Uint32Array.from(idx);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += d[i] as number;
  const damp = (cfg.percdamp * meanDiag) / n;

  const U = await factorPermuted(b, H, perm, Float32Array.from(perm, (c) => (dead[c] ? 1 : 0) + damp));
  return { n, U, perm, dead, actOrder: cfg.actOrder, percdamp: cfg.percdamp };
}

/**
 * U = chol(Hp⁻¹, upper) of Hp = H[perm][:, perm] + diag(add), on the backend:
 * Lr = chol(J·Hp·J), U = J·Lr⁻¹·J.  H: [n, n] f32 (not modified), perm: layout
 * → original column, add: [n] in layout order.  Throws NotPositiveDefiniteError
 * when a pivot of Lr is not > 0.  → U [n, n] f32 on the backend (the caller frees it).
 */
export async function factorPermuted(b: Backend, H: Tensor, perm: Uint32Array, add: Float32Array): Promise<Tensor> {
  const n = perm.length;
  const q = Array.from({ length: n }, (_, i) => perm[n - 1 - i] as number); // J·perm
  const qT = b.upload(i32(q));
  const addT = b.upload(tensor('f32', [n], Float32Array.from(q, (_, i) => add[n - 1 - i] as number)));
  const dT = b.empty('f32', [n]);
  const A = b.empty('f32', [n, n]);
  const M = b.empty('f32', [n, n]);
  try {
    b.permuteSymmetric(A, H, qT, addT); // Hr = J·(H[perm][:, perm] + diag(add))·J
    b.cholesky(A, A); // Lr
    b.diagonal(dT, A);
    const piv = (await b.read(dT)).data as Float32Array;
    for (let i = 0; i < n; i++) {
      if (!((piv[i] as number) > 0 && Number.isFinite(piv[i]))) {
        b.free(A);
        throw new NotPositiveDefiniteError('H (damped)', n - 1 - i, piv[i] as number);
      }
    }
    b.triInverse(M, A); // Lr⁻¹
    const rev = b.upload(i32(Array.from({ length: n }, (_, i) => n - 1 - i)));
    b.write(addT, tensor('f32', [n], new Float32Array(n)));
    b.permuteSymmetric(A, M, rev, addT); // U = J·Lr⁻¹·J
    b.free(rev);
  } finally {
    for (const t of [dT, qT, addT, M]) b.free(t);
  }
  return A;
}

export function freeFactor(b: Backend, f: GptqFactor): void {
  b.free(f.U);
}

/**
 * GPTQ of one layer with a factor of its H.  W: [out, in] f32 on the host;
 * w: the same on the backend (uploaded when null); H: [in, in] undamped, on the
 * backend (for the error).  Returns what methods/gptq.ts returns.
 */
export async function quantizeWithFactor(
  b: Backend,
  W: HostTensor<'f32'>,
  w: Tensor | null,
  H: Tensor,
  f: GptqFactor,
  opts: MethodOptions<GptqConfig> = {},
  timings?: GptqTimings,
): Promise<QuantResult> {
  const cfg = resolveGptq(opts);
  const { out, inn: n } = layerDims('gptq', W, null);
  if (f.n !== n || H.shape[0] !== n) throw new Error(`gptq: factor of [${f.n}, ${f.n}] and H [${H.shape.join(', ')}] do not fit W [${out}, ${n}]`);
  if (f.actOrder !== cfg.actOrder || f.percdamp !== cfg.percdamp) throw new Error('gptq: the factor was made with another actOrder/percdamp');
  const t0 = performance.now();
  const perChannel = cfg.groupSize === 0;
  const g = perChannel ? n : Math.min(cfg.groupSize, n);
  const nGroups = Math.ceil(n / g);
  const onTheFly = !perChannel && !cfg.staticGroups;
  const maxq = maxCode(cfg.bits);
  const { perm, dead } = f;
  const actOrder = cfg.actOrder;

  // grids fitted before the loop: per-channel on the original W, static groups on the dead-zeroed W
  const scale = new Float32Array(nGroups * out);
  const zero = new Float32Array(nGroups * out);
  const setParams = (gi: number, r: number, p: UniformParams): void => {
    scale[gi * out + r] = p.scale;
    zero[gi * out + r] = p.zero;
  };
  if (perChannel) for (let r = 0; r < out; r++) setParams(0, r, fitUniform(W.data.subarray(r * n, (r + 1) * n), cfg));
  if (cfg.staticGroups && !perChannel) {
    const row = new Float32Array(g);
    for (let gi = 0; gi < nGroups; gi++) {
      const c0 = gi * g;
      const c1 = Math.min(n, c0 + g);
      for (let r = 0; r < out; r++) {
        for (let c = c0; c < c1; c++) row[c - c0] = dead[c] ? 0 : (W.data[r * n + c] as number);
        setParams(gi, r, fitUniform(row.subarray(0, c1 - c0), cfg));
      }
    }
  }
  const group = Int32Array.from({ length: n }, (_, j) => (perChannel ? 0 : onTheFly || !actOrder ? Math.floor(j / g) : Math.floor((perm[j] as number) / g)));

  const blockEnd = (i1: number): number => {
    const i2 = Math.min(i1 + cfg.blockSize, n);
    if (!onTheFly || i2 === n) return i2;
    const lastStart = Math.floor((i2 - 1) / g) * g; // a group must not straddle the block end
    if (lastStart + g <= i2) return i2;
    return lastStart > i1 ? lastStart : Math.min(i1 + g, n);
  };
  const blocks: [number, number][] = [];
  for (let i1 = 0, i2 = 0; i1 < n; i1 = i2) {
    i2 = blockEnd(i1);
    blocks.push([i1, i2]);
  }
  const maxBlock = Math.max(...blocks.map(([a, c]) => c - a));

  const own = w === null ? b.upload(W) : null;
  const wDev = own ?? (w as Tensor);
  const permT = b.upload(i32(perm));
  const idxW = b.upload(i32(Array.from(perm, (c) => (dead[c] ? -1 : c))));
  const t = {
    wt: b.empty('f32', [n, out]),
    u: f.U,
    scale: b.upload(tensor('f32', [nGroups, out], scale)),
    zero: b.upload(tensor('f32', [nGroups, out], zero)),
    group: b.upload(i32(group)),
    perm: permT,
    what: b.empty('f32', [out, n]),
    err: b.empty('f32', [maxBlock, out]),
  };
  let weight: Float32Array;
  let error: LayerError;
  try {
    b.gatherTranspose(t.wt, wDev, idxW); // Wt = W[:, perm]ᵀ, dead columns 0
    for (const [i1, i2] of blocks) {
      b.gptqBlock(t, { i1, i2, grid: cfg, fitGroupSize: onTheFly ? g : 0 }); // Alg. 1 lines 4–10
      opts.onProgress?.(i2, n);
    }
    if (onTheFly) {
      scale.set((await b.read(t.scale)).data as Float32Array);
      zero.set((await b.read(t.zero)).data as Float32Array);
      if (scale.some((s) => !(s > 0))) throw new Error('a grid scale overflows fp16 (|w| above ~1e6?)');
    }
    weight = (await b.read(t.what)).data as Float32Array;
    const t1 = performance.now();
    if (timings) timings.columns += (t1 - t0) / 1000;
    error = await layerErrorOnBackend(b, W, wDev, weight, H);
    if (timings) timings.error += (performance.now() - t1) / 1000;
  } finally {
    for (const x of [t.wt, t.scale, t.zero, t.group, t.what, t.err, permT, idxW]) b.free(x);
    if (own) b.free(own);
  }

  // codes from Ŵ: ŵ = s·(q − z) is exact in f32, so quantize(ŵ) returns q
  const layoutPerm = actOrder && onTheFly ? perm : null; // groups over permuted columns need the permutation at decode
  const codes = new Uint8Array(out * n);
  for (let r = 0; r < out; r++) {
    for (let j = 0; j < n; j++) {
      const c = perm[j] as number;
      const k = (group[j] as number) * out + r;
      codes[r * n + (layoutPerm === null ? c : j)] = quantizeUniform(weight[r * n + c] as number, scale[k] as number, zero[k] as number, maxq);
    }
  }
  return {
    format: intFormatFor(cfg.bits),
    out,
    in: n,
    weight,
    grid: { bits: cfg.bits, groupSize: g, codes, scale, zero, perm: layoutPerm },
    bilevel: null,
    outliers: null,
    method: 'gptq',
    config: cfg,
    avgBits: intAvgBits(cfg.bits, g) + (layoutPerm === null ? 0 : 16 / out),
    error,
  };
}

/** tr(ΔW·H·ΔWᵀ) and its ratio to tr(W·H·Wᵀ) (layer.layerError) with H on the backend: two matmuls and row dots. */
export async function layerErrorOnBackend(b: Backend, W: HostTensor<'f32'>, w: Tensor, weight: Float32Array, H: Tensor): Promise<LayerError> {
  const [out, n] = W.shape as [number, number];
  const D = new Float32Array(out * n);
  for (let i = 0; i < D.length; i++) D[i] = (W.data[i] as number) - (weight[i] as number);
  const dT = b.upload(tensor('f32', [out, n], D));
  const P = b.empty('f32', [out, n]);
  const dots = b.empty('f32', [out]);
  try {
    const sum = async (x: Tensor): Promise<number> => {
      b.matmul(P, x, H); // x·H (H symmetric)
      b.rowDot(dots, x, P);
      return ((await b.read(dots)).data as Float32Array).reduce((s, v) => s + v, 0);
    };
    const proxy = await sum(dT);
    const total = await sum(w);
    return { proxy, relative: total > 0 ? proxy / total : proxy === 0 ? 0 : Infinity };
  } finally {
    for (const x of [dT, P, dots]) b.free(x);
  }
}

/** GPTQ of one layer on the backend: factor H, quantize, free the factor.  W: [out, in] host f32; H: [in, in] on the backend. */
export async function quantizeLayerOnBackend(b: Backend, W: HostTensor<'f32'>, H: Tensor, opts: MethodOptions<GptqConfig> = {}, timings?: GptqTimings): Promise<QuantResult> {
  const t0 = performance.now();
  const f = await factorHessian(b, H, opts);
  if (timings) timings.factor += (performance.now() - t0) / 1000;
  try {
    return await quantizeWithFactor(b, W, null, H, f, opts, timings);
  } finally {
    freeFactor(b, f);
  }
}
