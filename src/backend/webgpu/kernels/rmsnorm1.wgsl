// RMSNorm of a few long rows, spread over many workgroups: workgroup (s, t) sums x[t, :]² over the
// whole row (vec4 loads, four in flight per thread), then writes its slice s of WG vec4s:
// out[t, :] = x[t, :] · rsqrt(mean(x[t, :]²) + eps) · nw, nw the f32 weight. Recomputing the sum
// per slice costs D floats from cache per workgroup and saves a dependent second pass, so a
// decode step's norm takes about one short kernel. The slice's x and nw are loaded with the sums,
// and the sum is reduced by row_sum (a gemv_reduce_* file in front, TPR = WG: subgroups, or a
// tree in workgroup memory). Header: WG (a power of two), TPR = WG (and SG). D % 4 == 0.
// Grid: x = ceil(D / (4·WG)) slices, y = T.
struct Params {
  D: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> nw: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let D4 = p.D / 4u;
  let row = wid.y * D4;
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  // this thread's output vec4 and its weight, in flight with the sums
  let j = wid.x * WG + lid;
  var xo = vec4<f32>(0.0);
  var wo = vec4<f32>(0.0);
  if (j < D4) {
    xo = x[row + j];
    wo = nw[j];
  }
  var i = lid;
  for (; i + 3u * WG < D4; i += 4u * WG) {
    let a = x[row + i];
    let b = x[row + i + WG];
    let c = x[row + i + 2u * WG];
    let d = x[row + i + 3u * WG];
    s0 += dot(a, a);
    s1 += dot(b, b);
    s2 += dot(c, c);
    s3 += dot(d, d);
  }
  for (; i < D4; i += WG) {
    let a = x[row + i];
    s0 += dot(a, a);
  }
  let total = row_sum((s0 + s1) + (s2 + s3), lid);
  let inv = 1.0 / sqrt(total / f32(p.D) + p.eps);
  if (j < D4) {
    out[row + j] = xo * inv * wo;
  }
}
