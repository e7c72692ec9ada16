// out[t, :] = weight · (x[t, :] · rsqrt(mean(x[t, :]²) + eps)); one workgroup per row.
// Header: WG (a power of two). Weight access (w_load1) comes from a wload_* file.
struct Params {
  D: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x * p.D;
  var ss = 0.0;
  for (var i = lid; i < p.D; i += WG) {
    let v = x[row + i];
    ss += v * v;
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(red[0] / f32(p.D) + p.eps);
  for (var i = lid; i < p.D; i += WG) {
    out[row + i] = w_load1(i) * (x[row + i] * inv);
  }
}
