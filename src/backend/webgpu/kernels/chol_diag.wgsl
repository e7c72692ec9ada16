// Cholesky of one diagonal block a[j0 … j0+nb, j0 … j0+nb] (nb ≤ NB) in place,
// by one workgroup in shared memory, right-looking. A pivot that is not > 0
// gives 0 on the diagonal and in the column below it. Header: NB. Grid: 1.
struct Params {
  n: u32,
  j0: u32,
  nb: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;

var<workgroup> S: array<f32, NB * NB>;
var<workgroup> piv: f32;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  let nb = p.nb;
  for (var idx = t; idx < nb * nb; idx += 256u) {
    let i = idx / nb;
    let j = idx % nb;
    S[i * NB + j] = a[(p.j0 + i) * p.n + p.j0 + j];
  }
  workgroupBarrier();
  for (var k = 0u; k < nb; k++) {
    if (t == 0u) {
      let d = S[k * NB + k];
      let l = select(0.0, sqrt(d), d > 0.0);
      S[k * NB + k] = l;
      piv = l;
    }
    workgroupBarrier();
    let l = piv;
    for (var i = k + 1u + t; i < nb; i += 256u) {
      S[i * NB + k] = select(0.0, S[i * NB + k] / l, l > 0.0);
    }
    workgroupBarrier();
    for (var idx = t; idx < nb * nb; idx += 256u) {
      let i = idx / nb;
      let j = idx % nb;
      if (j > k && i >= j) {
        S[i * NB + j] = S[i * NB + j] - S[i * NB + k] * S[j * NB + k];
      }
    }
    workgroupBarrier();
  }
  for (var idx = t; idx < nb * nb; idx += 256u) {
    let i = idx / nb;
    let j = idx % nb;
    if (i >= j) {
      a[(p.j0 + i) * p.n + p.j0 + j] = S[i * NB + j];
    }
  }
}
