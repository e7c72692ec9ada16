// sample.wgsl's workgroup reductions without subgroups: trees in its `red` (WG vec4s).
// v summed over the workgroup, returned to every thread (uniform control flow).
fn sum4(lid: u32, v: vec4<f32>) -> vec4<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// the largest v of the workgroup (NaN never wins), returned to every thread.
fn max1(lid: u32, v: f32) -> f32 {
  red[lid].x = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && red[lid + s].x > red[lid].x) {
      red[lid].x = red[lid + s].x;
    }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}
