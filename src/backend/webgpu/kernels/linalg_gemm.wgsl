// Sub-matrix update for the blocked linear algebra: C += alpha · op(A) · op(B)
// on strided sub-blocks, M×N×K, op(A)(m, k) = A[aOff + m·lda + k] (or
// A[aOff + k·lda + m] with TRANS_A), op(B)(k, n) = B[bOff + k·ldb + n] (or
// B[bOff + n·ldb + k] with TRANS_B), C[cOff + m·ldc + n]. A_FROM_C / B_FROM_C
// read that operand from C's buffer (a disjoint region of the same matrix;
// WebGPU forbids binding one buffer as read and read_write at once). LOWER
// skips the tiles strictly above C's diagonal (symmetric updates).
// Header: BM, BN, BK (64, 64, 16: 16×16 threads of 4×4 outputs), TRANS_A,
// TRANS_B, A_FROM_C, B_FROM_C, LOWER. Grid: x over N tiles, y over M tiles.
struct Params {
  M: u32,
  N: u32,
  K: u32,
  aOff: u32,
  lda: u32,
  bOff: u32,
  ldb: u32,
  cOff: u32,
  ldc: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> As: array<f32, BK * BM>;
var<workgroup> Bs: array<f32, BK * BN>;

fn loadA(m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) {
    return 0.0;
  }
  let i = select(p.aOff + m * p.lda + k, p.aOff + k * p.lda + m, TRANS_A);
  if (A_FROM_C) {
    return c[i];
  }
  return a[i];
}

fn loadB(k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) {
    return 0.0;
  }
  let i = select(p.bOff + k * p.ldb + n, p.bOff + n * p.ldb + k, TRANS_B);
  if (B_FROM_C) {
    return c[i];
  }
  return b[i];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  if (LOWER && n0 > m0 + BM - 1u) {
    return;
  }
  let t = lid.y * 16u + lid.x;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var e = 0u; e < (BK * BM) / 256u; e++) {
      let idx = t + e * 256u;
      // the contiguous index of each operand runs fastest across threads
      var mm = idx / BK;
      var ka = idx % BK;
      if (TRANS_A) {
        mm = idx % BM;
        ka = idx / BM;
      }
      As[ka * BM + mm] = loadA(m0 + mm, k0 + ka);
      var nn = idx % BN;
      var kb = idx / BN;
      if (TRANS_B) {
        nn = idx / BK;
        kb = idx % BK;
      }
      Bs[kb * BN + nn] = loadB(k0 + kb, n0 + nn);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = As[kk * BM + lid.y * 4u + i];
        bv[i] = Bs[kk * BN + lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = fma(av[i], bv[j], acc[i * 4u + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (m < p.M && n < p.N) {
        let ci = p.cOff + m * p.ldc + n;
        c[ci] = c[ci] + p.alpha * acc[i * 4u + j];
      }
    }
  }
}
