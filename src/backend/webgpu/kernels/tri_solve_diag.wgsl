// One block row of X = L⁻¹·B in place: for columns c < ncols,
// X[i0 … i0+nb, c] ← L[i0 … i0+nb, i0 … i0+nb]⁻¹ · X[i0 … i0+nb, c], one thread
// per column (coalesced), the diagonal block in shared memory (a 0 pivot gives
// 0). Header: NB, WG. Grid: x over columns.
struct Params {
  n: u32,
  i0: u32,
  nb: u32,
  ncols: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> l: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

var<workgroup> T: array<f32, NB * NB>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let nb = p.nb;
  for (var idx = t; idx < nb * nb; idx += WG) {
    let i = idx / nb;
    let j = idx % nb;
    T[i * NB + j] = select(0.0, l[(p.i0 + i) * p.n + p.i0 + j], i >= j);
  }
  workgroupBarrier();
  let c = gid.x;
  if (c >= p.ncols) {
    return;
  }
  var v: array<f32, NB>;
  for (var r = 0u; r < nb; r++) {
    let xi = (p.i0 + r) * p.n + c;
    var s = x[xi];
    for (var k = 0u; k < r; k++) {
      s -= T[r * NB + k] * v[k];
    }
    let d = T[r * NB + r];
    v[r] = select(0.0, s / d, d > 0.0);
    x[xi] = v[r];
  }
}
