// The panel below a factored diagonal block: for rows i ≥ r0,
// L[i, j0 … j0+nb] = A[i, j0 … j0+nb] · L11⁻ᵀ by forward substitution, one
// thread per row, L11 in shared memory (a 0 pivot gives 0). Header: NB, WG.
// Grid: x over rows.
struct Params {
  n: u32,
  j0: u32,
  nb: u32,
  r0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;

var<workgroup> T: array<f32, NB * NB>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let nb = p.nb;
  for (var idx = t; idx < nb * nb; idx += WG) {
    let i = idx / nb;
    let j = idx % nb;
    T[i * NB + j] = select(0.0, a[(p.j0 + i) * p.n + p.j0 + j], i >= j);
  }
  workgroupBarrier();
  let i = p.r0 + gid.x;
  if (i >= p.n) {
    return;
  }
  var x: array<f32, NB>;
  let row = i * p.n + p.j0;
  for (var c = 0u; c < nb; c++) {
    var s = a[row + c];
    for (var k = 0u; k < c; k++) {
      s -= x[k] * T[c * NB + k];
    }
    let d = T[c * NB + c];
    x[c] = select(0.0, s / d, d > 0.0);
    a[row + c] = x[c];
  }
}
