// EYE: out = I; else out[i, j] = 0 above the diagonal (j > i), the rest kept.
// Header: EYE, WG. Grid: x over column blocks of WG, y over rows.
struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let i = gid.y;
  if (j >= p.n) {
    return;
  }
  if (EYE) {
    out[i * p.n + j] = select(0.0, 1.0, i == j);
  } else if (j > i) {
    out[i * p.n + j] = 0.0;
  }
}
