// sample.wgsl's workgroup reductions with subgroups of a fixed size SG dividing WG (header:
// `enable subgroups;`, SG): subgroupAdd / subgroupMax, then the WG/SG partials through workgroup
// memory, read by every thread in the same order (so every thread returns the same value): two
// barriers instead of log2(WG) + 1. Call in uniform control flow.
var<workgroup> part: array<vec4<f32>, WG / SG>;

// v summed over the workgroup, returned to every thread.
fn sum4(lid: u32, v: vec4<f32>) -> vec4<f32> {
  let s = subgroupAdd(v);
  if (lid % SG == 0u) {
    part[lid / SG] = s;
  }
  workgroupBarrier();
  var t = vec4<f32>(0.0);
  for (var i = 0u; i < WG / SG; i++) {
    t += part[i];
  }
  workgroupBarrier();
  return t;
}

// the largest v of the workgroup (v is never NaN here), returned to every thread.
fn max1(lid: u32, v: f32) -> f32 {
  let s = subgroupMax(v);
  if (lid % SG == 0u) {
    part[lid / SG].x = s;
  }
  workgroupBarrier();
  var t = part[0].x;
  for (var i = 1u; i < WG / SG; i++) {
    t = max(t, part[i].x);
  }
  workgroupBarrier();
  return t;
}
