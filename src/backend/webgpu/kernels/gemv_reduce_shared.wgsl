// row_sum for gemv: the sum of v over the TPR consecutive threads of a row,
// through shared memory (no subgroups). Call in uniform control flow.
var<workgroup> red: array<f32, WG>;

fn row_sum(v: f32, lid: u32) -> f32 {
  let lane = lid % TPR;
  red[lid] = v;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let total = red[lid - lane];
  workgroupBarrier();
  return total;
}
