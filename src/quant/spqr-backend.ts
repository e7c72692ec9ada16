/**
 * SpQR on a compute backend (the WebGPU engine; on the CPU backend the same
 * code runs the reference ops). The algorithm and its result are those of
 * methods/spqr.ts — same permutation, damping and dead columns, same blocks
 * cut at group starts, same τ_abs, same QuantResult — in f32 with H kept on
 * the device, structured like the GPTQ engine (gptq-backend.ts):
 *
 *   diag H                                             → host (n values): dead, act-order, λ
 *   U = chol(Hp⁻¹, upper), Hp = H[perm][:, perm] + diag(dead ? 1 : λ)   factorPermuted
 *   d = diag U                                         → host: τ_abs = τ·mean_j var_r(W[:, j]) / d_j²
 *   Wt = W[:, perm]ᵀ (dead columns 0)                  [n, out]
 *   per block [i1, i2): Backend.spqrBlock (group fits, bilevel stats, columns,
 *                       outliers, lazy batch update)
 *   error = Σ_r Δw_r·H·Δw_rᵀ with the undamped H       (matmul + rowDot on the device)
 *
 * The layers of one group (q/k/v, gate/up) share a factor: `factorSpqr` once,
 * `quantizeSpqrWithFactor` each.
 */
import type { Backend, Tensor } from '../backend/backend.js';
import { tensor, type HostTensor } from '../tensor/tensor.js';
import { factorPermuted, layerErrorOnBackend, type GptqTimings } from './gptq-backend.js';
import { layerDims, resolveConfig } from './layer.js';
import { checkSpqrConfig, spqrAvgBits } from './methods/spqr.js';
import { SPQR_DEFAULTS, type LayerError, type MethodOptions, type QuantResult, type SpqrConfig, type SpqrPermutation } from './types.js';

/** The damped, permuted inverse-Hessian factor of one H for SpQR, on the backend. */
export interface SpqrFactor {
  readonly n: number;
  /** U [n, n] f32 upper, layout order. */
  readonly U: Tensor;
  /** diag U (layout order), on the host for τ_abs. */
  readonly d: Float32Array;
  /** perm[j] = original column of layout column j. */
  readonly perm: Uint32Array;
  /** dead[i] = 1 where H_ii = 0 (original order). */
  readonly dead: Uint8Array;
  /** The settings it was made with (a factor is reused only for the same ones). */
  readonly permutation: SpqrPermutation;
  readonly percdamp: number;
}

const i32 = (a: ArrayLike<number>): HostTensor<'i32'> => tensor('i32', [a.length], Int32Array.from(a));

/** U, diag U, perm and dead columns of SpQR's damped H.  H: [n, n] f32 on the backend, undamped (not modified). */
export async function factorSpqr(b: Backend, H: Tensor, opts: MethodOptions<SpqrConfig> = {}): Promise<SpqrFactor> {
  const cfg = resolveConfig(SPQR_DEFAULTS, opts);
  const [n, n2] = H.shape as [number, number];
  if (H.shape.length !== 2 || n !== n2) throw new Error(`spqr: H must be square, got [${H.shape.join(', ')}]`);
  checkSpqrConfig(cfg, n);
  const dT = b.empty('f32', [n]);
  b.diagonal(dT, H);
  const diag = (await b.read(dT)).data as Float32Array;
  b.free(dT);
  // act_order: decreasing raw diag H, stable (layer.actOrder); dead inputs (H_ii = 0) get H_ii = 1, others λ = percdamp·mean|diag H|
  const idx = Array.from({ length: n }, (_, i) => i);
  if (cfg.permutation === 'act_order') idx.sort((x, y) => (diag[y] as number) - (diag[x] as number) || x - y);
  const perm = Uint32Array.from(idx);
  const dead = Uint8Array.from(diag, (v) => (v === 0 ? 1 : 0));
  let meanAbsDiag = 0;
  for (let i = 0; i < n; i++) meanAbsDiag += Math.abs(diag[i] as number) / n;
  const damp = cfg.percdamp * meanAbsDiag;
  const U = await factorPermuted(b, H, perm, Float32Array.from(perm, (c) => (dead[c] ? 1 : damp)));
  try {
    const uT = b.empty('f32', [n]);
    b.diagonal(uT, U);
    const d = (await b.read(uT)).data as Float32Array;
    b.free(uT);
    return { n, U, d, perm, dead, permutation: cfg.permutation, percdamp: cfg.percdamp };
  } catch (e) {
    b.free(U);
    throw e;
  }
}

export function freeSpqrFactor(b: Backend, f: SpqrFactor): void {
  b.free(f.U);
}

/**
 * SpQR of one layer with a factor of its H.  W: [out, in] f32 on the host;
 * w: the same on the backend (uploaded when null); H: [in, in] undamped, on the
 * backend (for the error).  Returns what methods/spqr.ts returns.
 */
export async function quantizeSpqrWithFactor(
  b: Backend,
  W: HostTensor<'f32'>,
  w: Tensor | null,
  H: Tensor,
  f: SpqrFactor,
  opts: MethodOptions<SpqrConfig> = {},
  timings?: GptqTimings,
): Promise<QuantResult> {
  const cfg = resolveConfig(SPQR_DEFAULTS, opts);
  const { out, inn: n } = layerDims('spqr', W, null);
  checkSpqrConfig(cfg, n);
  if (f.n !== n || H.shape[0] !== n) throw new Error(`spqr: factor of [${f.n}, ${f.n}] and H [${H.shape.join(', ')}] do not fit W [${out}, ${n}]`);
  if (f.permutation !== cfg.permutation || f.percdamp !== cfg.percdamp) throw new Error('spqr: the factor was made with another permutation/percdamp');
  const t0 = performance.now();
  const beta1 = Math.min(cfg.groupSize, n);
  const beta2 = Math.min(cfg.qqGroup, out);
  const nGroups = Math.ceil(n / beta1);
  const nStat = Math.ceil(out / beta2);
  const { perm, dead, d } = f;

  // τ_abs = τ · mean_j(var_rows(W[:, j]) / U_jj²), unbiased variance over the rows of the permuted, dead-zeroed W (f64)
  let sensitivity = 0;
  for (let j = 0; j < n; j++) {
    const c = perm[j] as number;
    if (dead[c]) continue;
    let mean = 0;
    for (let r = 0; r < out; r++) mean += W.data[r * n + c] as number;
    mean /= out;
    let v = 0;
    for (let r = 0; r < out; r++) v += ((W.data[r * n + c] as number) - mean) ** 2;
    sensitivity += v / (out - 1) / (d[j] as number) ** 2 / n;
  }
  const tauAbs = out >= 2 && Number.isFinite(cfg.outlierThreshold) ? cfg.outlierThreshold * sensitivity : Infinity;

  const blockEnd = (i1: number): number => {
    const i2 = Math.min(i1 + cfg.blockSize, n);
    if (i2 === n) return i2;
    const lastStart = Math.floor((i2 - 1) / beta1) * beta1; // a group must not straddle the block end
    if (lastStart + beta1 <= i2) return i2;
    return lastStart > i1 ? lastStart : Math.min(i1 + beta1, n);
  };
  const blocks: [number, number][] = [];
  for (let i1 = 0, i2 = 0; i1 < n; i1 = i2) {
    i2 = blockEnd(i1);
    blocks.push([i1, i2]);
  }
  const maxBlock = Math.max(...blocks.map(([a, c]) => c - a));

  const own = w === null ? b.upload(W) : null;
  const wDev = own ?? (w as Tensor);
  const idxW = b.upload(i32(Array.from(perm, (c) => (dead[c] ? -1 : c))));
  const t = {
    wt: b.empty('f32', [n, out]),
    u: f.U,
    fit: b.empty('f32', [2, out]),
    grid: b.empty('f32', [nGroups, 4, out]),
    stats: b.empty('f32', [nGroups, nStat, 4]),
    what: b.empty('f32', [out, n]),
    codes: b.empty('i32', [out, n]),
    err: b.empty('f32', [maxBlock, out]),
  };
  let grid: Float32Array;
  let stats: Float32Array;
  let words: Int32Array;
  let What: Float32Array;
  let weight: Float32Array;
  let error: LayerError;
  try {
    b.gatherTranspose(t.wt, wDev, idxW); // Wt = W[:, perm]ᵀ, dead columns 0
    const p = { bits: cfg.bits, groupSize: beta1, qqBits: cfg.qqBits, qqGroup: beta2, tauAbs };
    for (const [i1, i2] of blocks) {
      b.spqrBlock(t, { ...p, i1, i2 });
      opts.onProgress?.(i2, n);
    }
    grid = (await b.read(t.grid)).data as Float32Array;
    stats = (await b.read(t.stats)).data as Float32Array;
    words = (await b.read(t.codes)).data as Int32Array;
    What = (await b.read(t.what)).data as Float32Array;
    if (stats.some((v, i) => i % 2 === 0 && !(v > 0))) throw new Error('spqr: a second-level scale overflows fp16 (|w| above ~1e6?)');
    weight = new Float32Array(out * n); // Ŵ in original column order
    for (let r = 0; r < out; r++) for (let j = 0; j < n; j++) weight[r * n + (perm[j] as number)] = What[r * n + j] as number;
    const t1 = performance.now();
    if (timings) timings.columns += (t1 - t0) / 1000;
    error = await layerErrorOnBackend(b, W, wDev, weight, H);
    if (timings) timings.error += (performance.now() - t1) / 1000;
  } finally {
    for (const x of [t.wt, t.fit, t.grid, t.stats, t.what, t.codes, t.err, idxW]) b.free(x);
    if (own) b.free(own);
  }

  // the op's words: code | 0x100·outlier | fp16 residual << 16, layout order
  const codes = new Uint8Array(out * n);
  const rowPtr = new Uint32Array(out + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < out; r++) {
    for (let j = 0; j < n; j++) {
      const word = words[r * n + j] as number;
      codes[r * n + j] = word & 0xff;
      if (word & 0x100) {
        cols.push(j);
        vals.push(word >>> 16);
      }
    }
    rowPtr[r + 1] = cols.length;
  }
  const scale = new Float32Array(nGroups * out);
  const zero = new Float32Array(nGroups * out);
  const scaleCodes = new Uint8Array(nGroups * out);
  const zeroCodes = new Uint8Array(nGroups * out);
  for (let gi = 0; gi < nGroups; gi++) {
    const g = gi * 4 * out;
    scale.set(grid.subarray(g, g + out), gi * out);
    zero.set(grid.subarray(g + out, g + 2 * out), gi * out);
    scaleCodes.set(grid.subarray(g + 2 * out, g + 3 * out), gi * out);
    zeroCodes.set(grid.subarray(g + 3 * out, g + 4 * out), gi * out);
  }
  const scaleStats = new Float32Array(nGroups * nStat * 2); // [nGroups, nStat, (scale, zero)]
  const zeroStats = new Float32Array(nGroups * nStat * 2);
  for (let k = 0; k < nGroups * nStat; k++) {
    scaleStats.set(stats.subarray(4 * k, 4 * k + 2), 2 * k);
    zeroStats.set(stats.subarray(4 * k + 2, 4 * k + 4), 2 * k);
  }
  const outliers = { rowPtr, col: Uint16Array.from(cols), value: Uint16Array.from(vals) };
  return {
    format: 'spqr',
    out,
    in: n,
    weight,
    grid: { bits: cfg.bits, groupSize: beta1, codes, scale, zero, perm: cfg.permutation === 'act_order' ? perm : null },
    bilevel: { bits: cfg.qqBits, groupSize: beta2, scaleCodes, zeroCodes, scaleStats, zeroStats },
    outliers,
    method: 'spqr',
    config: cfg,
    avgBits: spqrAvgBits(cfg.bits, cfg.qqBits, beta1, beta2, outliers.col.length / (out * n)),
    error,
  };
}

/** SpQR of one layer on the backend: factor H, quantize, free the factor.  W: [out, in] host f32; H: [in, in] on the backend. */
export async function quantizeSpqrLayerOnBackend(b: Backend, W: HostTensor<'f32'>, H: Tensor, opts: MethodOptions<SpqrConfig> = {}, timings?: GptqTimings): Promise<QuantResult> {
  const t0 = performance.now();
  const f = await factorSpqr(b, H, opts);
  if (timings) timings.factor += (performance.now() - t0) / 1000;
  try {
    return await quantizeSpqrWithFactor(b, W, null, H, f, opts, timings);
  } finally {
    freeSpqrFactor(b, f);
  }
}
