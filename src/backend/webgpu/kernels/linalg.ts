/**
 * Launchers of the dense linear algebra behind GPTQ: blocked Cholesky
 * (chol_diag + chol_panel + a LOWER linalg_gemm trailing update per panel of
 * NB columns), the inverse of a lower-triangular matrix (per block row: a
 * linalg_gemm update, then tri_solve_diag), permutations, gathers, the GPTQ
 * block (gptq_cols, then the lazy batch update as a linalg_gemm) and small
 * helpers. All f32, one buffer per operand (no chunked tensors).
 */
import type { UniformGridConfig } from '../../../formats/grids/uniform.js';
import type { GpuContext } from '../context.js';
import { ceilDiv, MAX_GROUPS } from './common.js';

/** Panel width of the blocked factorizations (NB×NB f32 in shared memory). */
export const LINALG_NB = 32;
const WG = 64;
const GEMM = { BM: 64, BN: 64, BK: 16 } as const;
/** Largest GPTQ block whose row segment a thread keeps in a private array. */
const GPTQ_CACHE_N = 128;

function gridOk(what: string, grid: readonly number[]): void {
  if (grid.some((g) => g > MAX_GROUPS)) throw new Error(`${what}: grid ${grid.join('×')} exceeds ${MAX_GROUPS} workgroups per dimension`);
}

/** A strided sub-matrix operand of linalg_gemm: element (i, j) at off + i·ld + j (transposed: off + j·ld + i). */
export interface SubMatrix {
  /** The buffer, or 'c' to read C's buffer (a region disjoint from what is written). */
  readonly buf: GPUBuffer | 'c';
  readonly off: number;
  readonly ld: number;
  readonly trans?: boolean;
}

export interface GemmSub {
  readonly what: string;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly a: SubMatrix;
  readonly b: SubMatrix;
  readonly c: { readonly buf: GPUBuffer; readonly off: number; readonly ld: number };
  readonly alpha: number;
  /** Skip tiles strictly above C's diagonal. */
  readonly lower?: boolean;
}

/** C += alpha · op(A) · op(B) on sub-blocks (linalg_gemm.wgsl). */
export function gemmSub(ctx: GpuContext, g: GemmSub, dummy: GPUBuffer): void {
  if (g.M === 0 || g.N === 0 || g.K === 0) return;
  const grid: [number, number, number] = [ceilDiv(g.N, GEMM.BN), ceilDiv(g.M, GEMM.BM), 1];
  gridOk(g.what, grid);
  const header = {
    ...GEMM,
    TRANS_A: g.a.trans === true,
    TRANS_B: g.b.trans === true,
    A_FROM_C: g.a.buf === 'c',
    B_FROM_C: g.b.buf === 'c',
    LOWER: g.lower === true,
  };
  ctx.dispatch({
    what: g.what,
    kernel: { files: ['linalg_gemm'], header },
    buffers: { 1: g.a.buf === 'c' ? dummy : g.a.buf, 2: g.b.buf === 'c' ? dummy : g.b.buf, 3: g.c.buf },
    params: [g.M, g.N, g.K, g.a.off, g.a.ld, g.b.off, g.b.ld, g.c.off, g.c.ld, { f: g.alpha }],
    grid,
  });
}

/** Lower Cholesky factor of a [n, n] in place (lower triangle read; upper zeroed). */
export function cholesky(ctx: GpuContext, what: string, a: GPUBuffer, n: number, dummy: GPUBuffer): void {
  const NB = LINALG_NB;
  for (let j0 = 0; j0 < n; j0 += NB) {
    const nb = Math.min(NB, n - j0);
    ctx.dispatch({ what: `${what} (diagonal block ${j0})`, kernel: { files: ['chol_diag'], header: { NB } }, buffers: { 1: a }, params: [n, j0, nb], grid: [1, 1, 1] });
    const r0 = j0 + nb;
    if (r0 >= n) break;
    const rows = n - r0;
    ctx.dispatch({ what: `${what} (panel ${j0})`, kernel: { files: ['chol_panel'], header: { NB, WG } }, buffers: { 1: a }, params: [n, j0, nb, r0], grid: [ceilDiv(rows, WG), 1, 1] });
    // A22 −= L21·L21ᵀ (lower tiles only)
    const off = r0 * n + j0;
    gemmSub(ctx, { what: `${what} (update ${j0})`, M: rows, N: rows, K: nb, a: { buf: 'c', off, ld: n }, b: { buf: 'c', off, ld: n, trans: true }, c: { buf: a, off: r0 * n + r0, ld: n }, alpha: -1, lower: true }, dummy);
  }
  triFill(ctx, `${what} (zero upper)`, a, n, false);
}

/** out = L⁻¹ for lower-triangular l [n, n]: out = I, then block row by block row X_i ← L_ii⁻¹ (X_i − L_i,<i · X_<i). */
export function triInverse(ctx: GpuContext, what: string, out: GPUBuffer, l: GPUBuffer, n: number, dummy: GPUBuffer): void {
  const NB = LINALG_NB;
  triFill(ctx, `${what} (identity)`, out, n, true);
  for (let i0 = 0; i0 < n; i0 += NB) {
    const nb = Math.min(NB, n - i0);
    // X[i0 …, 0 … i0] −= L[i0 …, 0 … i0] · X[0 … i0, 0 … i0]  (X is lower, so columns ≥ i0 of the rows above are 0)
    gemmSub(ctx, { what: `${what} (update ${i0})`, M: nb, N: i0, K: i0, a: { buf: l, off: i0 * n, ld: n }, b: { buf: 'c', off: 0, ld: n }, c: { buf: out, off: i0 * n, ld: n }, alpha: -1 }, dummy);
    const ncols = i0 + nb;
    ctx.dispatch({ what: `${what} (solve ${i0})`, kernel: { files: ['tri_solve_diag'], header: { NB, WG } }, buffers: { 1: l, 2: out }, params: [n, i0, nb, ncols], grid: [ceilDiv(ncols, WG), 1, 1] });
  }
}

/** EYE: out = I; else zeros above the diagonal of out [n, n]. */
function triFill(ctx: GpuContext, what: string, out: GPUBuffer, n: number, eye: boolean): void {
  const grid: [number, number, number] = [ceilDiv(n, 256), n, 1];
  gridOk(what, grid);
  ctx.dispatch({ what, kernel: { files: ['tri_fill'], header: { EYE: eye, WG: 256 } }, buffers: { 1: out }, params: [n], grid });
}

export function diagonal(ctx: GpuContext, what: string, out: GPUBuffer, a: GPUBuffer, n: number): void {
  const grid: [number, number, number] = [ceilDiv(n, 256), 1, 1];
  gridOk(what, grid);
  ctx.dispatch({ what, kernel: { files: ['diag'], header: { WG: 256 } }, buffers: { 1: a, 2: out }, params: [n], grid });
}

export function permuteSymmetric(ctx: GpuContext, what: string, out: GPUBuffer, a: GPUBuffer, idx: GPUBuffer, diagAdd: GPUBuffer, n: number): void {
  const grid: [number, number, number] = [ceilDiv(n, 256), n, 1];
  gridOk(what, grid);
  ctx.dispatch({ what, kernel: { files: ['perm_sym'], header: { WG: 256 } }, buffers: { 1: a, 2: idx, 3: diagAdd, 4: out }, params: [n], grid });
}

export function gatherTranspose(ctx: GpuContext, what: string, out: GPUBuffer, x: GPUBuffer, idx: GPUBuffer, n: number, R: number, C: number): void {
  const grid: [number, number, number] = [ceilDiv(R, 256), n, 1];
  gridOk(what, grid);
  ctx.dispatch({ what, kernel: { files: ['gather_t'], header: { WG: 256 } }, buffers: { 1: x, 2: idx, 3: out }, params: [R, C], grid });
}

export function rowDot(ctx: GpuContext, what: string, out: GPUBuffer, a: GPUBuffer, b: GPUBuffer, R: number, C: number): void {
  gridOk(what, [R]);
  ctx.dispatch({ what, kernel: { files: ['row_dot'], header: { WG: 256 } }, buffers: { 1: a, 2: b, 3: out }, params: [C], grid: [R, 1, 1] });
}

export interface GptqBlockCall {
  readonly what: string;
  readonly wt: GPUBuffer;
  readonly u: GPUBuffer;
  readonly scale: GPUBuffer;
  readonly zero: GPUBuffer;
  readonly group: GPUBuffer;
  readonly perm: GPUBuffer;
  readonly wHat: GPUBuffer;
  readonly err: GPUBuffer;
  readonly n: number;
  readonly out: number;
  readonly i1: number;
  readonly i2: number;
  readonly grid: UniformGridConfig;
  readonly fitG: number;
}

/** One GPTQ block: the column loop (gptq_cols), then wt[i2:, :] −= U[i1:i2, i2:]ᵀ · err. */
export function gptqBlock(ctx: GpuContext, c: GptqBlockCall, dummy: GPUBuffer): void {
  const grid: [number, number, number] = [ceilDiv(c.out, WG), 1, 1];
  gridOk(c.what, grid);
  const g = c.grid;
  ctx.dispatch({
    what: `${c.what} (columns)`,
    kernel: { files: ['gptq_cols'], header: { WG, SYM: g.sym, MSE: g.clip === 'mse', CACHE: c.i2 - c.i1 <= GPTQ_CACHE_N, CACHE_N: GPTQ_CACHE_N } },
    buffers: { 1: c.wt, 2: c.u, 3: c.scale, 4: c.zero, 5: c.group, 6: c.perm, 7: c.wHat, 8: c.err },
    params: [c.n, c.out, c.i1, c.i2, { f: 2 ** g.bits - 1 }, c.fitG, { f: g.mseGrid }, { f: g.mseNorm }, Math.floor(g.mseMaxShrink * g.mseGrid)],
    grid,
  });
  const { n, out, i1, i2 } = c;
  gemmSub(ctx, {
    what: `${c.what} (lazy update)`,
    M: n - i2,
    N: out,
    K: i2 - i1,
    a: { buf: c.u, off: i1 * n + i2, ld: n, trans: true },
    b: { buf: c.err, off: 0, ld: out },
    c: { buf: c.wt, off: i2 * out, ld: out },
    alpha: -1,
  }, dummy);
}
