// sample.wgsl's workgroup reductions with subgroups of a fixed size SG dividing WG (header:
// `enable subgroups;`, SG): subgroupAdd / subgroupMax, each subgroup's first lane filing its
// result among PARTS = WG/SG partials, then
// - up to 16 partials: every thread reads them all, in the same order (two barriers);
// - more: every subgroup folds them (lane l those ≡ l mod SG: one read a lane at WG ≤ SG²) and
//   thread 0 publishes the first subgroup's result, which every thread reads (three barriers).
// Either way every thread returns the same value. On the H200 (SG 32, decode17/run2 and run3) the
// full read was the faster at 512 threads (V = 32000: 62.6 against 69.9 µs) and the slower at 1024
// (V = 128256: 213.8 against 205.6 µs, where the tree of sample_reduce_shared.wgsl took 205.8).
// Call in uniform control flow.
const PARTS = WG / SG;
var<workgroup> part: array<vec4<f32>, PARTS>;
var<workgroup> whole: vec4<f32>;

// v summed over the workgroup, returned to every thread.
fn sum4(lid: u32, v: vec4<f32>) -> vec4<f32> {
  let s = subgroupAdd(v);
  if (lid % SG == 0u) {
    part[lid / SG] = s;
  }
  workgroupBarrier();
  var t = vec4<f32>(0.0);
  if (PARTS <= 16u) {
    for (var j = 0u; j < PARTS; j++) {
      t += part[j];
    }
  } else {
    for (var j = lid % SG; j < PARTS; j += SG) {
      t += part[j];
    }
    t = subgroupAdd(t);
    if (lid == 0u) {
      whole = t;
    }
    workgroupBarrier();
    t = whole;
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
  if (PARTS <= 16u) {
    for (var j = 1u; j < PARTS; j++) {
      t = max(t, part[j].x);
    }
  } else {
    for (var j = lid % SG; j < PARTS; j += SG) {
      t = max(t, part[j].x);
    }
    t = subgroupMax(t);
    if (lid == 0u) {
      whole.x = t;
    }
    workgroupBarrier();
    t = whole.x;
  }
  workgroupBarrier();
  return t;
}
