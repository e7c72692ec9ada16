// dst = src as vec4s: the bandwidth probe of bench/webgpu-copy.ts (a read and a
// write per element). Header: WG. Grid: 2-D over n4.
struct Params {
  n4: u32,
  stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i < p.n4) {
    dst[i] = src[i];
  }
}
