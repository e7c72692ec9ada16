/**
 * matmul launcher: out[:, col0 + …] (+)= x·Wᵀ (+ bias) over each row chunk of W.
 *
 * T = 1 (decode): gemv1.wgsl, memory-bound, RW groups of TPR threads per
 * workgroup, each group owning RT rows, reduced with subgroupAdd when the
 * device has subgroups of one fixed size; it also folds in the sublayer's
 * RMSNorm or SwiGLU input (weights up to fuseInputMaxBytes) and the SwiGLU
 * output (`glu`), which the backend runs as separate ops everywhere else.
 * 2 ≤ T ≤ gemvMaxT: gemv.wgsl, the same split with a per-token accumulator.
 * Larger T: gemm.wgsl, block tiles BM×BN with TM×TN register
 * tiles (the small variant below `largeMinT`, which wastes less on short T).
 * Every tile parameter is a header constant, so a sweep can try others
 * (`WebGpuBackendOptions.matmul`) and each variant has its own pipeline key.
 */
import type { GpuContext, KernelSpec } from '../context.js';
import type { GpuDType } from '../tensor.js';
import { ceilDiv, MAX_GROUPS, wloadFile } from './common.js';
import type { WgslName } from './wgsl.gen.js';

export interface GemmTiles {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
}

export interface GemvTiles {
  /** Thread groups (of TPR threads) per workgroup. */
  readonly RW: number;
  /** Threads per row (a power of two). */
  readonly TPR: number;
  /** Independent 8-weight loads a thread issues per row before using them (gemv1, T = 1). */
  readonly UNROLL: number;
  /** Rows per thread group, sharing each x load (gemv1, T = 1; default 1). */
  readonly RT?: number;
}

export interface MatmulTuning {
  readonly gemmLarge: GemmTiles;
  readonly gemmSmall: GemmTiles;
  /** T at which the large GEMM tiles start. */
  readonly largeMinT: number;
  /**
   * Fewest workgroups the large tiles must give (else the small tiles run):
   * a short, narrow GEMM (a small model's [512, 384] layer output is 12 large
   * tiles) would leave most of a big GPU idle.
   */
  readonly largeMinGroups: number;
  readonly gemv: GemvTiles;
  /** Largest T that takes the GEMV path (also the size of its per-token accumulator). */
  readonly gemvMaxT: number;
  /**
   * Largest 16-bit/f32 weight (bytes) whose T = 1 product folds the RMSNorm or SwiGLU input into
   * gemv1; a larger one runs the rmsnorm / silu_mul kernel into a scratch buffer first and then a
   * plain gemv1 (one more dispatch, no per-row input work).
   */
  readonly fuseInputMaxBytes: number;
  /**
   * gemv1 doubles TPR (keeping RW·TPR threads per workgroup) while ⌈rows / RT⌉·TPR is below this:
   * a projection with few rows and a long K (Llama's down projection, 4096 × 11008) would
   * otherwise leave a large GPU short of loads in flight. About the threads the GPU holds at once.
   */
  readonly gemv1MinThreads: number;
}

export const DEFAULT_MATMUL: MatmulTuning = {
  gemmLarge: { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  gemmSmall: { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 },
  largeMinT: 256,
  largeMinGroups: 256,
  gemv: { RW: 4, TPR: 32, UNROLL: 4, RT: 2 }, // the fastest 7B bf16 decode of the tilings measured on the H200 (bench/results/h200/)
  gemvMaxT: 8,
  // 7B decode on the H200: 187.4 tok/s with the norm as its own kernel vs 184.5 folded (GPU step 5.12
  // vs 5.19 ms, bench/results/h200/decode-h200.md); small weights keep it folded (one dispatch fewer)
  fuseInputMaxBytes: 32 * 2 ** 20,
  gemv1MinThreads: 1 << 18,
};

export interface MatmulDevice {
  /** Fixed subgroup size when the device has subgroups of one size, else 0 (shared-memory reduction). */
  readonly subgroupSize: number;
  /** Bytes of workgroup memory a kernel may use (the device's maxComputeWorkgroupStorageSize; WebGPU's default 16384 if unset). */
  readonly workgroupStorage?: number;
  /** Whether unpack2x16float keeps f16 subnormals (probe_f16.wgsl): qgemv1_ilv's int4 decode then takes 5 integer ops a word instead of 8. */
  readonly f16Subnormals?: boolean;
}

export interface MatmulCall {
  readonly what: string;
  readonly out: GPUBuffer;
  readonly x: GPUBuffer;
  readonly w: GPUBuffer;
  readonly wDtype: GpuDType;
  /** f32 bias of all M rows, or undefined. */
  readonly bias: GPUBuffer | undefined;
  readonly T: number;
  readonly K: number;
  /** Columns of out (at least col0 + all of W's rows). */
  readonly ldo: number;
  /** First column of out that W's row 0 writes. */
  readonly col0: number;
  /** out += instead of =. */
  readonly accumulate: boolean;
  /** This chunk: W rows m0 … m0 + rows − 1. */
  readonly m0: number;
  readonly rows: number;
  /** T = 1 only: x is normalized in the kernel (the f32 norm weight and eps). */
  readonly norm?: { readonly weight: GPUBuffer; readonly eps: number };
  /** T = 1 only: x is (gate | up), 2K floats, and the kernel reads silu(gate)·up. */
  readonly gated?: boolean;
  /** T = 1 only: w is (gate | up) and `rows` counts outputs silu(gate row)·(up row); m0 must be 0. */
  readonly glu?: boolean;
}

/** The GEMM tiles for T rows of x against M rows of W. */
export function gemmTilesFor(T: number, M: number, t: MatmulTuning): GemmTiles {
  const L = t.gemmLarge;
  return T >= t.largeMinT && ceilDiv(T, L.BM) * ceilDiv(M, L.BN) >= t.largeMinGroups ? L : t.gemmSmall;
}

export function gemmKernel(c: Pick<MatmulCall, 'wDtype' | 'K'>, tiles: GemmTiles, hasBias: boolean, acc = false): KernelSpec {
  const { BM, BN, BK, TM, TN } = tiles;
  const WG = (BM / TM) * (BN / TN);
  if (TM % 4 !== 0 || TN % 4 !== 0 || BK % 4 !== 0 || BM % TM !== 0 || BN % TN !== 0) {
    throw new Error(`gemm tiles ${BM}×${BN}×${BK}/${TM}×${TN}: TM, TN, BK must be multiples of 4 dividing BM, BN`);
  }
  return { files: [wloadFile(c.wDtype), 'gemm'], header: { BM, BN, BK, TM, TN, WG, ALIGNED: c.K % 4 === 0, HAS_BIAS: hasBias, ACC: acc } };
}

/** The row reduction for TPR threads per row: subgroupAdd when subgroups of one size divide TPR. */
function reduceSpec(TPR: number, dev: MatmulDevice): { file: WgslName; SG?: number; enable?: string[] } {
  const sg = dev.subgroupSize;
  return sg > 0 && TPR % sg === 0 ? { file: 'gemv_reduce_subgroup', SG: sg, enable: ['subgroups'] } : { file: 'gemv_reduce_shared' };
}

export function gemvKernel(c: Pick<MatmulCall, 'wDtype' | 'K'>, t: MatmulTuning, dev: MatmulDevice, hasBias: boolean, acc = false): KernelSpec {
  const { RW, TPR } = t.gemv;
  const r = reduceSpec(TPR, dev);
  const header = { RW, TPR, WG: RW * TPR, MAXT: t.gemvMaxT, ALIGNED: c.K % 8 === 0, HAS_BIAS: hasBias, ACC: acc, ...(r.SG && { SG: r.SG }) };
  return { files: [wloadFile(c.wDtype), r.file, 'gemv'], header, ...(r.enable && { enable: r.enable }) };
}

/** gemv1's tiles for `rows` weight rows of length K: the tuning's, with TPR raised per gemv1MinThreads. */
export function gemv1Tiles(rows: number, K: number, t: MatmulTuning): Required<GemvTiles> {
  const RT = t.gemv.RT ?? 1;
  const WG = t.gemv.RW * t.gemv.TPR;
  let TPR = t.gemv.TPR;
  while (ceilDiv(rows, RT) * TPR < t.gemv1MinThreads && TPR * 2 <= WG && TPR * 16 <= K) TPR *= 2;
  return { RW: WG / TPR, TPR, UNROLL: t.gemv.UNROLL, RT };
}

export function gemv1Kernel(c: Pick<MatmulCall, 'wDtype' | 'K' | 'accumulate' | 'norm' | 'gated' | 'glu'>, tiles: Required<GemvTiles>, dev: MatmulDevice, hasBias: boolean): KernelSpec {
  const { RW, TPR, UNROLL, RT } = tiles;
  const glu = c.glu === true;
  const r = reduceSpec(TPR, dev);
  const header = {
    RW,
    TPR,
    WG: RW * TPR,
    RT,
    NR: glu ? 2 * RT : RT,
    UNROLL,
    ALIGNED: c.K % 8 === 0,
    HAS_BIAS: hasBias,
    NORM: c.norm !== undefined,
    GATED: c.gated === true,
    ACC: c.accumulate,
    GLU: glu,
    ...(r.SG && { SG: r.SG }),
  };
  return { files: [wloadFile(c.wDtype), r.file, 'gemv1'], header, ...(r.enable && { enable: r.enable }) };
}

export function matmul(ctx: GpuContext, c: MatmulCall, t: MatmulTuning, dev: MatmulDevice, dummy: GPUBuffer): void {
  const buffers = { 1: c.w, 2: c.x, 3: c.out, 4: c.bias ?? dummy };
  if (c.T === 1) {
    if (c.glu && c.m0 !== 0) throw new Error(`${c.what}: the fused SwiGLU output needs gate and up rows in one buffer`);
    const tiles = gemv1Tiles(c.rows, c.K, t);
    const groups = ceilDiv(c.rows, tiles.RW * tiles.RT);
    if (groups > MAX_GROUPS) throw new Error(`${c.what}: ${c.rows} weight rows need ${groups} workgroups, more than ${MAX_GROUPS}`);
    const params = [c.K, c.m0, c.rows, c.col0, { f: c.norm?.eps ?? 0 }];
    const kernel = gemv1Kernel(c, tiles, dev, c.bias !== undefined);
    ctx.dispatch({ what: c.what, kernel, buffers: { ...buffers, 5: c.norm?.weight ?? dummy }, params, grid: [groups, 1, 1] });
    return;
  }
  if (c.norm || c.gated || c.glu) throw new Error(`${c.what}: the fused RMSNorm/SwiGLU runs only for T = 1 (got T = ${c.T})`);
  const params = [c.T, c.K, c.ldo, c.m0, c.rows, c.col0];
  if (c.T <= t.gemvMaxT) {
    const groups = ceilDiv(c.rows, t.gemv.RW);
    if (groups > MAX_GROUPS) throw new Error(`${c.what}: ${c.rows} weight rows need ${groups} workgroups, more than ${MAX_GROUPS}`);
    ctx.dispatch({ what: c.what, kernel: gemvKernel(c, t, dev, c.bias !== undefined, c.accumulate), buffers, params, grid: [groups, 1, 1] });
    return;
  }
  const tiles = gemmTilesFor(c.T, c.rows, t);
  const grid: [number, number, number] = [ceilDiv(c.rows, tiles.BN), ceilDiv(c.T, tiles.BM), 1];
  if (grid[0] > MAX_GROUPS || grid[1] > MAX_GROUPS) throw new Error(`${c.what}: grid ${grid.join('×')} exceeds ${MAX_GROUPS} workgroups per dimension`);
  ctx.dispatch({ what: c.what, kernel: gemmKernel(c, tiles, c.bias !== undefined, c.accumulate), buffers, params, grid });
}
