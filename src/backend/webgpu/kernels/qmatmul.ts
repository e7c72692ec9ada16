/**
 * Packed-weight matmul launcher: out = x·Ŵᵀ (+ bias) with Ŵ decoded in the
 * kernel from a packed buffer (webgpu/packed.ts), never materialized.
 *
 * 0. T = 1 where qgemv1Serves (unpermuted int or SpQR, groups that are whole
 *    32-column chunks or divide one): one dispatch with the norm or SwiGLU input
 *    or SwiGLU output and SpQR's outliers folded in (`qgemv1`, called by webgpu.ts):
 *    qgemv1_ilv.wgsl on images with interleaved codes (int2/4/8, packed.ts),
 *    qgemv1.wgsl on the others (int3, SpQR).
 * 1. permuted (act-order): qgather.wgsl writes xp = x[:, perm] once (layout order).
 * 2. T ≤ gemvMaxT (decode): qgemv.wgsl, R rows per row group of TPR threads;
 *    SpQR outliers fused into it ('fused') or added by qoutliers.wgsl ('separate').
 *    T > gemvMaxT (prefill): gemm.wgsl with qwload.wgsl as its weight access
 *    (the dense tiles decoded while staged into shared memory), then qoutliers.wgsl.
 * The format's constants come from `wgslConstants(FORMATS[f], params)` (the
 * pipeline key names them); per-format statistics from qstats_<int|spqr>.wgsl.
 */
import { FORMATS, wgslConstants } from '../../../formats/index.js';
import type { FormatId, FormatParams } from '../../../formats/types.js';
import type { GpuContext, KernelSpec } from '../context.js';
import { codesInterleaved, codesPaired3 } from '../packed.js';
import { ceilDiv, grid1d, MAX_GROUPS } from './common.js';
import { gemmTilesFor, type MatmulDevice, type MatmulTuning } from './matmul.js';
import type { WgslName } from './wgsl.gen.js';

export interface PackedTuning {
  /** Rows per row group of the packed GEMV (each x load serves R rows). */
  readonly R: number;
  /** Threads per row group (a multiple of the subgroup size when there are subgroups). */
  readonly TPR: number;
  /** Row groups per workgroup. */
  readonly RG: number;
  /** SpQR outliers inside qgemv ('fused') or in a second pass ('separate'); qgemv1 (T = 1) always adds them itself. */
  readonly spqrOutliers: 'fused' | 'separate';
  /** qgemv1 (T = 1, int3 and SpQR formats): rows per thread, threads per row group, row groups per workgroup, consecutive chunks per lane step (default 1). */
  readonly int1: { readonly R: number; readonly TPR: number; readonly RG: number; readonly CU?: number };
  /** qgemv1_ilv (T = 1, interleaved int2/4/8 images): output rows per thread group, threads per group, groups per workgroup, chunks per lane in flight. */
  readonly ilv1: { readonly R: number; readonly TPR: number; readonly RG: number; readonly UN: number };
}

// The T = 1 tilings with the shortest 7B decode step on the H200, each measured against the others on one
// uploaded model (packed-decode --ilv1 / --int1 lists, bench/results/h200/decode6/experiments/):
// ilv1 (int4 g128) 4×64×2×1: step 3.13 ms vs 3.46 for 4×32×2×2 and 3.15 for 2×64×2×2 (12 tilings);
// int1 (SpQR w3 β16) 2×32×4×2: step 6.95 ms vs 10.24 for 4×32×4×2 (7 tilings); since the held outliers
// (OUT_R) 2×32×4×1: SpQR step 3.822 ms vs 4.647 at 2×32×4×2 (bench/results/h200/decode14/run1; without the
// held outliers, 3.893 vs 4.122), int3 2.917 vs 2.925 (decode13/run2).
export const DEFAULT_PACKED: PackedTuning = { R: 2, TPR: 32, RG: 4, spqrOutliers: 'fused', int1: { R: 2, TPR: 32, RG: 4, CU: 1 }, ilv1: { R: 4, TPR: 64, RG: 2, UN: 1 } };

/**
 * Whether qgemv1 serves this packed weight (int or SpQR) at T = 1: unpermuted, K
 * whole 32-column chunks, groups of whole chunks or of 8 or 16 columns (SpQR's β1 = 16).
 * Smaller groups go to qgemv: 32/g statistics per chunk and row, unrolled, made pipelines
 * that took lavapipe ~20 s each to compile at β1 = 2.
 */
export function qgemv1Serves(format: FormatId, params: FormatParams, K: number): boolean {
  const g = params.groupSize as number;
  return params.permuted !== 1 && K % 32 === 0 && (g % 32 === 0 || g === 16 || g === 8);
}

/**
 * Whether qgemv1's thread groups load SpQR's second-level statistics once per set of R rows
 * (SHARE2): a set's rows start at a multiple of R (with GLU the up rows at outRows + a multiple of
 * R), so they lie in one β2 block when R divides β2 (and, with GLU, β2 divides outRows).
 */
export function qgemv1SharesBlocks(format: FormatId, params: FormatParams, R: number, outRows: number, glu: boolean): boolean {
  const qq = params.qqGroup as number;
  return format === 'spqr' && qq % R === 0 && (!glu || outRows % qq === 0);
}

export interface QMatmulCall {
  readonly what: string;
  readonly out: GPUBuffer;
  readonly x: GPUBuffer;
  /** The packed buffer (header + arrays). */
  readonly w: GPUBuffer;
  /** Its 16 header words (GpuPackedTensor.header): qgemv1 passes them as uniforms. */
  readonly header: readonly number[];
  readonly format: FormatId;
  readonly params: FormatParams;
  readonly bias: GPUBuffer | undefined;
  readonly T: number;
  readonly K: number;
  readonly M: number;
  /** Columns of out (at least col0 + M). */
  readonly ldo: number;
  /** First column of out that W's row 0 writes. */
  readonly col0: number;
  /** The first row of the weight this buffer holds (a row chunk, GpuPackedTensor): its row r writes out column col0 + m0 + r and adds bias[m0 + r]; qmatmul only (0 when absent). */
  readonly m0?: number;
  /** out += instead of =. */
  readonly accumulate: boolean;
}

const WG1 = 256;
const statsFile = (f: FormatId): WgslName => (f === 'spqr' ? 'qstats_spqr' : 'qstats_int');
const permArray = (f: FormatId): number => FORMATS[f].arrays.indexOf('perm');

/**
 * The format's generated WGSL constants for these parameters. `permuted` is
 * fixed to 0: the kernels read x already gathered (qgather), so a permuted
 * tensor shares its pipelines with an unpermuted one.
 */
export function formatPrelude(format: FormatId, params: FormatParams): string {
  const flag = (b: boolean): string => (b ? '1u' : '0u');
  return `${wgslConstants(FORMATS[format], { ...params, permuted: 0 })}const Q_ILV: u32 = ${flag(codesInterleaved(format, params))};\nconst Q_P3: u32 = ${flag(codesPaired3(format, params))};\n`;
}

/** qgemv's uniform flags: bit 0 bias, bit 1 K % 4 == 0, bit 2 code rows of whole vec4s, bit 3 out +=. */
export function qgemvFlags(c: Pick<QMatmulCall, 'format' | 'params' | 'K'>, hasBias: boolean, accumulate = false): number {
  const bits = FORMATS[c.format].bits ?? (c.params.bits as number);
  const rowWords = Math.ceil(c.K / 32) * bits;
  return (hasBias ? 1 : 0) | (c.K % 4 === 0 ? 2 : 0) | (rowWords % 4 === 0 ? 4 : 0) | (accumulate ? 8 : 0);
}

export function qgemvKernel(c: Pick<QMatmulCall, 'format' | 'params'>, t: MatmulTuning, q: PackedTuning, dev: MatmulDevice): KernelSpec {
  const WG = q.TPR * q.RG;
  const fused = c.format === 'spqr' && q.spqrOutliers === 'fused';
  const header = { R: q.R, TPR: q.TPR, WG, MAXT: t.gemvMaxT, FUSED_OUTLIERS: fused };
  const prelude = formatPrelude(c.format, c.params);
  const sg = dev.subgroupSize;
  const files: WgslName[] = ['qpacked', 'qheader', statsFile(c.format), 'qcodes'];
  if (sg > 0 && q.TPR % sg === 0) {
    return { files: [...files, 'gemv_reduce_subgroup', 'qgemv'], header: { ...header, SG: sg }, enable: ['subgroups'], prelude };
  }
  return { files: [...files, 'gemv_reduce_shared', 'qgemv'], header, prelude };
}

export function qgemmKernel(c: Pick<QMatmulCall, 'format' | 'params' | 'K' | 'T' | 'M'>, t: MatmulTuning, hasBias: boolean, acc = false): KernelSpec {
  const { BM, BN, BK, TM, TN } = gemmTilesFor(c.T, c.M, t);
  const WG = (BM / TM) * (BN / TN);
  return {
    files: ['qpacked', 'qheader', statsFile(c.format), 'qcodes', 'qwload', 'gemm'],
    header: { BM, BN, BK, TM, TN, WG, ALIGNED: c.K % 4 === 0, HAS_BIAS: hasBias, ACC: acc },
    prelude: formatPrelude(c.format, c.params),
  };
}

/** xp[t, c] = x[t, perm[c]] (act-order), T·K elements. */
export function qgather(ctx: GpuContext, what: string, w: GPUBuffer, format: FormatId, x: GPUBuffer, xp: GPUBuffer, T: number, K: number): void {
  const { grid, stride } = grid1d(T * K, WG1);
  const kernel = { files: ['qpacked', 'qheader', 'qgather'] as WgslName[], header: { WG: WG1, PERM_ARR: permArray(format) } };
  ctx.dispatch({ what: `${what} (gather x by perm)`, kernel, buffers: { 1: w, 2: x, 3: xp }, params: [T * K, K, stride], grid });
}

/** out[:, r] += S[r, :]·x for SpQR's CSR outliers (the separate pass). */
export function qoutliers(ctx: GpuContext, what: string, c: QMatmulCall): void {
  const { grid, stride } = grid1d(c.T * c.M, WG1);
  const kernel = { files: ['qpacked', 'qheader', 'qoutliers'] as WgslName[], header: { WG: WG1 } };
  ctx.dispatch({ what: `${what} (outliers)`, kernel, buffers: { 1: c.w, 2: c.x, 3: c.out }, params: [c.T, c.K, c.ldo, c.col0 + (c.m0 ?? 0), c.M, stride], grid });
}

export interface QFused {
  /** The f32 norm weight and eps: x is normalized in the kernel. */
  readonly norm?: { readonly weight: GPUBuffer; readonly eps: number };
  /** x is (gate | up), 2K floats; the kernel reads silu(gate)·up. */
  readonly gated?: boolean;
  /** The weight is (gate | up), M rows; the kernel writes silu(gate)·up, M / 2 outputs. */
  readonly glu?: boolean;
  /**
   * With `norm`: x is a prepared norm input, [x·weight | `parts` partial sums of x²] (K + parts
   * floats, as a `normOut` producer wrote it), read instead of x and the norm weight.
   */
  readonly prep?: { readonly parts: number };
  /**
   * The producer side: the kernel also writes [out·weight | Σ out² per workgroup] to `into`
   * (the next matmul's `prep`; col0 0, no SwiGLU output, no norm input).
   */
  readonly normOut?: { readonly weight: GPUBuffer; readonly into: GPUBuffer };
}

/**
 * Rounds of SpQR outliers a qgemv1 lane holds in registers (OUT_R: one entry of each of its rows
 * per round, TPR lanes a row): 1.5× a row's mean entries over TPR, 1 to 4 (register pressure);
 * a row with more reads the rest from global memory. 1 without outliers (the array must exist).
 */
export function outlierRounds(c: Pick<QMatmulCall, 'format' | 'params' | 'M'>, TPR: number): number {
  const nnz = c.format === 'spqr' ? (c.params.outliers as number) : 0;
  return Math.min(4, Math.max(1, Math.ceil((1.5 * nnz) / c.M / TPR)));
}

/**
 * T = 1 on a packed weight that qgemv1Serves: one dispatch with the norm/SwiGLU
 * input or output, the placement and SpQR's CSR outliers folded in. Interleaved
 * int2/4/8 images: qgemv1_ilv (statistics per chunk or per set of its words).
 * Others: qgemv1, statistics once per unit of CU chunks (HOIST), per chunk, or
 * per sub-group of a chunk (groups under 32 columns; the kernel derives that
 * from Q_GROUP_SIZE). Both share qgemv1_io.wgsl (bindings, rows, epilogue).
 * Returns the partial sums of squares written with `normOut` (one per workgroup: ceil(rows / (R·RG)), else 0).
 */
export function qgemv1(ctx: GpuContext, c: QMatmulCall, f: QFused, q: PackedTuning, dev: MatmulDevice, dummy: GPUBuffer, dummyRw: GPUBuffer): number {
  const ilv = codesInterleaved(c.format, c.params);
  const { R, TPR, RG } = ilv ? q.ilv1 : q.int1;
  const WG = TPR * RG;
  const outRows = f.glu ? c.M / 2 : c.M;
  const groups = ceilDiv(outRows, R * RG);
  if (groups > MAX_GROUPS) throw new Error(`${c.what}: ${c.M} weight rows need ${groups} workgroups, more than ${MAX_GROUPS}`);
  const sg = dev.subgroupSize;
  const reduce: WgslName = sg > 0 && TPR % sg === 0 ? 'gemv_reduce_subgroup' : 'gemv_reduce_shared';
  const reduceRows: WgslName = reduce === 'gemv_reduce_subgroup' ? 'gemv_reduce_rows_subgroup' : 'gemv_reduce_rows_shared';
  const OUTLIERS = c.format === 'spqr' && (c.params.outliers as number) > 0;
  if ((c.m0 ?? 0) !== 0) throw new Error(`${c.what}: qgemv1 runs a whole packed weight (m0 = 0), not a row chunk`);
  if (f.prep && !f.norm) throw new Error(`${c.what}: a prepared norm input needs the norm's eps`);
  if (f.normOut && (f.norm || f.glu || c.col0 !== 0 || c.T !== 1)) throw new Error(`${c.what}: normOut needs one row placed at column 0 without a norm input or SwiGLU output`);
  const flags = { NR: f.glu ? 2 * R : R, NORM: f.norm !== undefined, GATED: f.gated === true, ACC: c.accumulate, HAS_BIAS: c.bias !== undefined, GLU: f.glu === true, NORM_OUT: f.normOut !== undefined, PREP: f.prep !== undefined };
  const sgHeader = reduce === 'gemv_reduce_subgroup' && { SG: sg };
  let kernel: KernelSpec;
  if (ilv) {
    const header = { R, TPR, RG, WG, UN: q.ilv1.UN, F16SUB: dev.f16Subnormals === true, ...flags, ...sgHeader };
    kernel = { files: ['qpacked', 'qheader_uniform', statsFile(c.format), 'qcodes', 'qdot', reduce, reduceRows, 'qgemv1_io', 'qgemv1_ilv'], header, prelude: formatPrelude(c.format, c.params) };
  } else {
    const CU = q.int1.CU ?? 1;
    // workgroup memory (qgemv1.wgsl): the input tile, Σ x² per row group, and the row sums' (gemv_reduce_*)
    const staged = TPR * (8 * CU + 1) * 16;
    const reductions = 4 * (RG + (sgHeader ? (WG / sg) * (1 + flags.NR) : WG));
    const room = (dev.workgroupStorage ?? 16384) - reductions;
    if (staged > room) throw new Error(`${c.what}: qgemv1 tiles TPR ${TPR} × CU ${CU} stage ${staged} bytes of inputs, more than the ${room} the device's workgroup memory leaves`);
    const g = c.params.groupSize as number;
    const HOIST = g >= 32 && ((Math.min(g, c.K) / 32) % CU === 0 || g >= c.K);
    const SHARE2 = qgemv1SharesBlocks(c.format, c.params, R, outRows, f.glu === true);
    const header = { R, TPR, RG, WG, CU, HOIST, SHARE2, F16SUB: dev.f16Subnormals === true, ...flags, OUTLIERS, OUT_R: outlierRounds(c, TPR), ...sgHeader };
    kernel = { files: ['qpacked', 'qheader_uniform', statsFile(c.format), 'qcodes', 'qdot', reduce, reduceRows, 'qgemv1_io', 'qgemv1'], header, prelude: formatPrelude(c.format, c.params) };
  }
  if (reduce === 'gemv_reduce_subgroup') kernel = { ...kernel, enable: ['subgroups'] };
  const buffers = { 1: c.w, 2: c.x, 3: c.out, 4: c.bias ?? dummy, 5: f.norm?.weight ?? f.normOut?.weight ?? dummy, 6: f.normOut?.into ?? dummyRw };
  const params = [c.K, outRows, c.col0, { f: f.norm?.eps ?? 0 }, ...c.header, f.prep?.parts ?? 0];
  ctx.dispatch({ what: c.what, kernel, buffers, params, grid: [groups, 1, 1] });
  return f.normOut ? ceilDiv(outRows, R * RG) : 0;
}

/** The matmul itself, on x already in layout order. */
export function qmatmul(ctx: GpuContext, c: QMatmulCall, t: MatmulTuning, q: PackedTuning, dev: MatmulDevice, dummy: GPUBuffer): void {
  const params = [c.T, c.K, c.ldo, c.m0 ?? 0, c.M];
  const buffers = { 1: c.w, 2: c.x, 3: c.out, 4: c.bias ?? dummy };
  const spqr = c.format === 'spqr';
  const outliers = spqr && (c.params.outliers as number) > 0;
  if (c.T <= t.gemvMaxT) {
    const groups = ceilDiv(c.M, q.R * q.RG);
    if (groups > MAX_GROUPS) throw new Error(`${c.what}: ${c.M} weight rows need ${groups} workgroups, more than ${MAX_GROUPS}`);
    const fused = spqr && q.spqrOutliers === 'fused';
    const flags = qgemvFlags(c, c.bias !== undefined, c.accumulate);
    ctx.dispatch({ what: c.what, kernel: qgemvKernel(c, t, q, dev), buffers, params: [...params, flags, c.col0], grid: [groups, 1, 1] });
    if (outliers && !fused) qoutliers(ctx, c.what, c);
    return;
  }
  const tiles = gemmTilesFor(c.T, c.M, t);
  const grid: [number, number, number] = [ceilDiv(c.M, tiles.BN), ceilDiv(c.T, tiles.BM), 1];
  if (grid[0] > MAX_GROUPS || grid[1] > MAX_GROUPS) throw new Error(`${c.what}: grid ${grid.join('×')} exceeds ${MAX_GROUPS} workgroups per dimension`);
  ctx.dispatch({ what: c.what, kernel: qgemmKernel(c, t, c.bias !== undefined, c.accumulate), buffers, params: [...params, c.col0], grid });
  if (outliers) qoutliers(ctx, c.what, c);
}
