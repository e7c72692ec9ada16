import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotPositiveDefiniteError, cholesky, choleskyInverse, choleskyUpper, inverseHessianFactor } from '../src/quant/linalg.js';
import { correlatedHessian } from '../tools/parity/synthetic.js';

const A = [4, 12, -16, 12, 37, -43, -16, -43, 98];

function matmul(X: ArrayLike<number>, Y: ArrayLike<number>, n: number): Float64Array {
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) Z[i * n + j] = (Z[i * n + j] as number) + (X[i * n + k] as number) * (Y[k * n + j] as number);
  return Z;
}
const transpose = (X: ArrayLike<number>, n: number): Float64Array => Float64Array.from({ length: n * n }, (_, i) => X[(i % n) * n + Math.floor(i / n)] as number);
const maxAbsDiff = (X: ArrayLike<number>, Y: ArrayLike<number>): number => Array.from(X, (x, i) => Math.abs(x - (Y[i] as number))).reduce((a, b) => Math.max(a, b), 0);
const eye = (n: number): Float64Array => Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));

test('cholesky: the textbook 3×3 case', () => {
  assert.deepEqual(Array.from(cholesky(A, 3)), [2, 0, 0, 6, 1, 0, -8, 5, 3]);
  assert.deepEqual(Array.from(choleskyUpper(A, 3)), [2, 6, -8, 0, 1, 5, 0, 0, 3]);
});

test('choleskyInverse: the known inverse of the 3×3 case', () => {
  const inv = choleskyInverse(cholesky(A, 3), 3);
  const want = [49.36111111111111, -13.555555555555555, 2.111111111111111, -13.555555555555555, 3.7777777777777777, -0.5555555555555556, 2.111111111111111, -0.5555555555555556, 0.1111111111111111];
  assert.ok(maxAbsDiff(inv, want) < 1e-12, `max diff ${maxAbsDiff(inv, want)}`);
  assert.ok(maxAbsDiff(matmul(A, inv, 3), eye(3)) < 1e-12);
});

test('inverseHessianFactor: Uᵀ·U = H⁻¹, U upper, on a correlated 40×40 Hessian', () => {
  const n = 40;
  const { H } = correlatedHessian(n, { seed: 3 });
  const U = inverseHessianFactor(H, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assert.equal(U[i * n + j], 0);
  const HinvH = matmul(matmul(transpose(U, n), U, n), H, n);
  assert.ok(maxAbsDiff(HinvH, eye(n)) < 1e-8, `‖UᵀU·H − I‖max = ${maxAbsDiff(HinvH, eye(n))}`);
});

test('cholesky throws a clear error when the matrix is not positive definite', () => {
  assert.throws(() => cholesky([1, 2, 2, 1], 2, 'H (damped)'), (e: unknown) => e instanceof NotPositiveDefiniteError && /H \(damped\) is not positive definite: pivot 1.*percdamp/.test(e.message));
  assert.throws(() => cholesky([1, 2, 3], 2), /expected \[2, 2\]/);
});
