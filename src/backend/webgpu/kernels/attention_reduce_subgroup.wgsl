// block_reduce for attention_decode.wgsl with subgroups of a fixed size SG dividing WG (header:
// `enable subgroups;`, SG): one subgroup reduction, then the WG / SG partials through red (x
// used): two barriers. Call in uniform control flow.

// x reduced over the workgroup (max, or sum), returned to every thread; red is free again after.
fn block_reduce(lid: u32, x: f32, is_max: bool) -> f32 {
  let s = select(subgroupAdd(x), subgroupMax(x), is_max);
  if (lid % SG == 0u) {
    red[lid / SG].x = s;
  }
  workgroupBarrier();
  var r = red[0].x;
  for (var i = 1u; i < WG / SG; i++) {
    let b = red[i].x;
    r = select(r + b, max(r, b), is_max);
  }
  workgroupBarrier();
  return r;
}
