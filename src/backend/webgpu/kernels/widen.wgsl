// out[i] = w[i] as f32: widens a 16-bit tensor (e.g. a bf16 bias) once.
// Header: WG. Weight access from a wload_* file. Grid: 2-D over n.
struct Params {
  n: u32,
  stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i < p.n) {
    out[i] = w_load1(i);
  }
}
