// out[i, r] = idx[i] < 0 ? 0 : x[r, idx[i]].  out: [n, R], x: [R, C].
// Header: WG. Grid: x over blocks of WG rows r, y over i.
struct Params {
  R: u32,
  C: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  let i = gid.y;
  if (r >= p.R) {
    return;
  }
  let c = idx[i];
  out[i * p.R + r] = select(0.0, x[r * p.C + u32(max(c, 0))], c >= 0);
}
