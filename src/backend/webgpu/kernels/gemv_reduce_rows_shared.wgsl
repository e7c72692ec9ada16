// row_sums without subgroups: row_sum (gemv_reduce_shared.wgsl) of each value in turn. Call in
// uniform control flow.
fn row_sums(v: array<f32, NR>, lid: u32) -> array<f32, NR> {
  var s: array<f32, NR>;
  for (var i = 0u; i < NR; i++) {
    s[i] = row_sum(v[i], lid);
  }
  return s;
}
