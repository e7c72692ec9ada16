// row_sum for gemv with subgroups of a fixed size SG dividing TPR (header:
// `enable subgroups;`, SG): subgroupAdd, then the TPR/SG partials of a row
// through shared memory. Call in uniform control flow.
var<workgroup> red: array<f32, WG / SG>;

fn row_sum(v: f32, lid: u32) -> f32 {
  let s = subgroupAdd(v);
  if (TPR == SG) {
    return s;
  }
  if (lid % SG == 0u) {
    red[lid / SG] = s;
  }
  workgroupBarrier();
  let base = (lid / TPR) * (TPR / SG);
  var total = 0.0;
  for (var i = 0u; i < TPR / SG; i++) {
    total += red[base + i];
  }
  workgroupBarrier();
  return total;
}
