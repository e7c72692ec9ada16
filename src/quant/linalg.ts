/**
 * Dense symmetric positive-definite linear algebra in f64, for the Hessians of
 * GPTQ-family methods. Matrices are n×n row-major Float64Arrays; only the lower
 * triangle of a symmetric input is read. Plain loops over contiguous rows.
 */

/** Thrown when a matrix that must be positive definite is not (e.g. H after too little damping). */
export class NotPositiveDefiniteError extends Error {
  constructor(what: string, pivot: number, value: number) {
    super(`${what} is not positive definite: pivot ${pivot} is ${value}; increase percdamp or check the calibration data`);
    this.name = 'NotPositiveDefiniteError';
  }
}

function checkSquare(what: string, A: ArrayLike<number>, n: number): void {
  if (A.length !== n * n) throw new Error(`${what}: expected [${n}, ${n}] (${n * n} values), got ${A.length}`);
}

/** Lower Cholesky factor L with A = L·Lᵀ.  A: [n, n] symmetric → L: [n, n] lower (zeros above). */
export function cholesky(A: ArrayLike<number>, n: number, what = 'matrix'): Float64Array {
  checkSquare('cholesky', A, n);
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = A[rj + j] as number;
    for (let k = 0; k < j; k++) d -= (L[rj + k] as number) ** 2;
    if (!(d > 0)) throw new NotPositiveDefiniteError(what, j, d);
    const ljj = Math.sqrt(d);
    L[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = A[ri + j] as number;
      for (let k = 0; k < j; k++) s -= (L[ri + k] as number) * (L[rj + k] as number);
      L[ri + j] = s / ljj;
    }
  }
  return L;
}

/** A⁻¹ from A's lower Cholesky factor (torch.cholesky_inverse).  L: [n, n] lower → A⁻¹: [n, n] symmetric. */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  checkSquare('choleskyInverse', L, n);
  // M = L⁻¹ (lower) by forward substitution, one row at a time: row_i(M) = (e_i − Σ_{k<i} L_ik row_k(M)) / L_ii.
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    M[ri + i] = 1;
    for (let k = 0; k < i; k++) {
      const lik = L[ri + k] as number;
      if (lik === 0) continue;
      const rk = k * n;
      for (let j = 0; j <= k; j++) M[ri + j] = (M[ri + j] as number) - lik * (M[rk + j] as number);
    }
    const lii = L[ri + i] as number;
    for (let j = 0; j <= i; j++) M[ri + j] = (M[ri + j] as number) / lii;
  }
  // A⁻¹ = Mᵀ·M = Σ_k row_k(M)ᵀ row_k(M); accumulate the lower triangle, then mirror.
  const X = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rk = k * n;
    for (let i = 0; i <= k; i++) {
      const mki = M[rk + i] as number;
      if (mki === 0) continue;
      const ri = i * n;
      for (let j = 0; j <= i; j++) X[ri + j] = (X[ri + j] as number) + mki * (M[rk + j] as number);
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) X[j * n + i] = X[i * n + j] as number;
  return X;
}

/** Upper Cholesky factor U with A = Uᵀ·U (torch.linalg.cholesky(A, upper=True)).  A: [n, n] → U: [n, n] upper. */
export function choleskyUpper(A: ArrayLike<number>, n: number, what = 'matrix'): Float64Array {
  const L = cholesky(A, n, what);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) U[j * n + i] = L[i * n + j] as number;
  return U;
}

/**
 * GPTQ's factor of the inverse Hessian: U = chol(chol_inverse(chol(H)), upper),
 * so H⁻¹ = Uᵀ·U and row j of U holds the OBS update of the columns after j.
 * H: [n, n] damped Hessian → U: [n, n] upper.
 */
export function inverseHessianFactor(H: ArrayLike<number>, n: number): Float64Array {
  const Hinv = choleskyInverse(cholesky(H, n, 'H (damped)'), n);
  return choleskyUpper(Hinv, n, 'H⁻¹');
}
