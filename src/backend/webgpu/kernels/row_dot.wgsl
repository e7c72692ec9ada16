// out[r] = Σ_c a[r, c] · b[r, c], one workgroup per row, tree reduction in
// shared memory. Header: WG (a power of two). Grid: x over rows.
struct Params {
  C: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let row = wid.x * p.C;
  var s = 0.0;
  for (var c = t; c < p.C; c += WG) {
    s = fma(a[row + c], b[row + c], s);
  }
  part[t] = s;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (t < w) {
      part[t] += part[t + w];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    out[wid.x] = part[0];
  }
}
