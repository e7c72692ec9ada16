// block_reduce for attention_decode.wgsl without subgroups: a tree through red (its workgroup
// array of WG vec4s, x used), log2(WG) + 2 barriers. Call in uniform control flow.

// x reduced over the workgroup (max, or sum), returned to every thread; red is free again after.
fn block_reduce(lid: u32, x: f32, is_max: bool) -> f32 {
  red[lid].x = x;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      let a = red[lid].x;
      let b = red[lid + st].x;
      red[lid].x = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}
