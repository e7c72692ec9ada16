// out[i, j] = a[idx[i], idx[j]] + (i = j ? diagAdd[i] : 0).  Header: WG.
// Grid: x over column blocks of WG, y over rows.
struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read> diagAdd: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let i = gid.y;
  if (j >= p.n) {
    return;
  }
  var v = a[u32(idx[i]) * p.n + u32(idx[j])];
  if (i == j) {
    v += diagAdd[i];
  }
  out[i * p.n + j] = v;
}
