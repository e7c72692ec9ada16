// sample.wgsl's workgroup reductions with subgroups of a fixed size SG dividing WG (header:
// `enable subgroups;`, SG): subgroupAdd / subgroupMax; each subgroup's first lane files its result,
// every subgroup folds the WG/SG partials (lane l those ≡ l mod SG: one read a lane at WG ≤ SG²)
// and thread 0 publishes the first subgroup's result, which every thread reads: three barriers
// instead of log2(WG) + 1, no thread reading all WG/SG partials (decode17/run2: at 1024 threads
// each reading 32 made the sampler slower than the tree), and one value for the whole workgroup.
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
  for (var j = lid % SG; j < PARTS; j += SG) {
    t += part[j];
  }
  t = subgroupAdd(t);
  if (lid == 0u) {
    whole = t;
  }
  workgroupBarrier();
  let r = whole;
  workgroupBarrier();
  return r;
}

// the largest v of the workgroup (v is never NaN here), returned to every thread.
fn max1(lid: u32, v: f32) -> f32 {
  let s = subgroupMax(v);
  if (lid % SG == 0u) {
    part[lid / SG].x = s;
  }
  workgroupBarrier();
  var t = part[lid % SG % PARTS].x;
  for (var j = lid % SG; j < PARTS; j += SG) {
    t = max(t, part[j].x);
  }
  t = subgroupMax(t);
  if (lid == 0u) {
    whole.x = t;
  }
  workgroupBarrier();
  let r = whole.x;
  workgroupBarrier();
  return r;
}
