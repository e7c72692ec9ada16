// row_sums for the packed T = 1 GEMVs with subgroups of size SG dividing TPR: the sums of each of
// v[0 … NR − 1] over the TPR consecutive threads of a row group, all NR at once: NR subgroupAdds,
// then (TPR > SG) one barrier for every row's partials together, where row_sum (gemv_reduce_*)
// takes two per value. Call in uniform control flow.
var<workgroup> red_rows: array<f32, (WG / SG) * NR>;

fn row_sums(v: array<f32, NR>, lid: u32) -> array<f32, NR> {
  var s: array<f32, NR>;
  for (var i = 0u; i < NR; i++) {
    s[i] = subgroupAdd(v[i]);
  }
  if (TPR == SG) {
    return s;
  }
  if (lid % SG == 0u) {
    for (var i = 0u; i < NR; i++) {
      red_rows[(lid / SG) * NR + i] = s[i];
    }
  }
  workgroupBarrier();
  let base = (lid / TPR) * (TPR / SG);
  for (var i = 0u; i < NR; i++) {
    var total = 0.0;
    for (var k = 0u; k < TPR / SG; k++) {
      total += red_rows[(base + k) * NR + i];
    }
    s[i] = total;
  }
  return s;
}
