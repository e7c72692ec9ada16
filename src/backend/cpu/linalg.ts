/**
 * Reference dense linear algebra and the GPTQ block, plain loops over
 * Float32Array (the WebGPU kernels are tested against these). Values are
 * stored as f32; dot products run in JS numbers (f64), which is at least as
 * accurate as the f32 accumulation of the kernels.
 *
 * Matrices are row-major [n, n] unless stated.
 */
import { dequantizeUniform, fitUniform, maxCode, quantizeUniform, type UniformGridConfig } from '../../formats/grids/uniform.js';

/**
 * Lower Cholesky factor in place: on return a holds L (zeros above the
 * diagonal), a = L·Lᵀ on entry (lower triangle read). A pivot that is not > 0
 * leaves 0 on the diagonal and in the column below it.
 */
export function cholesky(a: Float32Array, n: number): void {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j] as number;
    for (let k = 0; k < j; k++) d -= (a[rj + k] as number) ** 2;
    const ljj = d > 0 ? Math.fround(Math.sqrt(d)) : 0;
    a[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j] as number;
      for (let k = 0; k < j; k++) s -= (a[ri + k] as number) * (a[rj + k] as number);
      a[ri + j] = ljj > 0 ? s / ljj : 0;
    }
  }
  for (let i = 0; i < n; i++) a.fill(0, i * n + i + 1, (i + 1) * n);
}

/** out = L⁻¹ by forward substitution, row by row (a 0 pivot gives a 0 row).  out, l: [n, n] lower. */
export function triInverse(out: Float32Array, l: Float32Array, n: number): void {
  out.fill(0);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const lii = l[ri + i] as number;
    // row_i(X) = (e_i − Σ_{k<i} L_ik row_k(X)) / L_ii
    row.fill(0, 0, i + 1);
    row[i] = 1;
    for (let k = 0; k < i; k++) {
      const lik = l[ri + k] as number;
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) row[j] = (row[j] as number) - lik * (out[rk + j] as number);
    }
    for (let j = 0; j <= i; j++) out[ri + j] = lii > 0 ? (row[j] as number) / lii : 0;
  }
}

/** out[i, j] = a[idx[i], idx[j]] + (i = j ? diagAdd[i] : 0). */
export function permuteSymmetric(out: Float32Array, a: Float32Array, idx: Int32Array, diagAdd: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const pi = (idx[i] as number) * n;
    for (let j = 0; j < n; j++) out[i * n + j] = a[pi + (idx[j] as number)] as number;
    out[i * n + i] = (out[i * n + i] as number) + (diagAdd[i] as number);
  }
}

/** out[i, r] = idx[i] < 0 ? 0 : x[r, idx[i]].  out: [n, R], x: [R, C]. */
export function gatherTranspose(out: Float32Array, x: Float32Array, idx: Int32Array, R: number, C: number): void {
  for (let i = 0; i < idx.length; i++) {
    const c = idx[i] as number;
    for (let r = 0; r < R; r++) out[i * R + r] = c < 0 ? 0 : (x[r * C + c] as number);
  }
}

/** out[r] = Σ_c a[r, c]·b[r, c].  a, b: [R, C]. */
export function rowDot(out: Float32Array, a: Float32Array, b: Float32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += (a[r * C + c] as number) * (b[r * C + c] as number);
    out[r] = s;
  }
}

export interface GptqBlockArrays {
  readonly wt: Float32Array;
  readonly u: Float32Array;
  readonly scale: Float32Array;
  readonly zero: Float32Array;
  readonly group: Int32Array;
  readonly perm: Int32Array;
  readonly what: Float32Array;
  readonly err: Float32Array;
}

/** Backend.gptqBlock on arrays (see backend.ts).  wt: [n, out], u: [n, n], what: [out, n], err: [≥ i2 − i1, out]. */
export function gptqBlock(t: GptqBlockArrays, n: number, out: number, i1: number, i2: number, grid: UniformGridConfig, fitG: number): void {
  const maxq = maxCode(grid.bits);
  const { wt, u, scale, zero } = t;
  const col = new Float32Array(Math.max(fitG, 1));
  for (let j = i1; j < i2; j++) {
    if (fitG > 0 && j % fitG === 0) {
      const c1 = Math.min(n, j + fitG);
      const gi = j / fitG;
      for (let r = 0; r < out; r++) {
        for (let c = j; c < c1; c++) col[c - j] = wt[c * out + r] as number;
        const p = fitUniform(col.subarray(0, c1 - j), grid);
        scale[gi * out + r] = p.scale;
        zero[gi * out + r] = p.zero;
      }
    }
    const gi = t.group[j] as number;
    const d = u[j * n + j] as number;
    const pj = t.perm[j] as number;
    for (let r = 0; r < out; r++) {
      const s = scale[gi * out + r] as number;
      const z = zero[gi * out + r] as number;
      const w = wt[j * out + r] as number;
      const qhat = dequantizeUniform(quantizeUniform(w, s, z, maxq), s, z);
      t.what[r * n + pj] = qhat;
      const e = Math.fround((w - qhat) / d);
      t.err[(j - i1) * out + r] = e;
      for (let k = j + 1; k < i2; k++) wt[k * out + r] = (wt[k * out + r] as number) - e * (u[j * n + k] as number);
    }
  }
  // the lazy batch update: wt[i2:, :] −= U[i1:i2, i2:]ᵀ · err
  const acc = new Float64Array(out);
  for (let k = i2; k < n; k++) {
    acc.fill(0);
    for (let jj = 0; jj < i2 - i1; jj++) {
      const ujk = u[(i1 + jj) * n + k] as number;
      if (ujk === 0) continue;
      for (let r = 0; r < out; r++) acc[r] = (acc[r] as number) + (t.err[jj * out + r] as number) * ujk;
    }
    for (let r = 0; r < out; r++) wt[k * out + r] = (wt[k * out + r] as number) - (acc[r] as number);
  }
}
