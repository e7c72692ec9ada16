// int2/3/4/8 group statistics (FORMATS.int*: arrays 0 codes, 1 scales, 2 zeros, 3 perm) in the GPU
// image (webgpu/packed.ts): array 1 holds one u32 per group and row, [out, nGroups] row-major, the
// fp16 scale in the low half and the zero (an integer, exact in fp16) in the high half; array 2 is
// empty; nGroups in header word 15. (scale, zero) of group g, row r: Ŵ = scale · (code − zero),
// exact in f32.
fn q_stats(g: u32, r: u32) -> vec2<f32> {
  return unpack2x16float(q_word(q_off(1u) + r * q_groups() + g));
}

// q_stats of groups g0 … g0 + 3 of row r (groups past the row read neighbouring words).
fn q_stats4(g0: u32, r: u32) -> array<vec2<f32>, 4> {
  let v = q_words4(q_off(1u) + r * q_groups() + g0);
  return array<vec2<f32>, 4>(unpack2x16float(v.x), unpack2x16float(v.y), unpack2x16float(v.z), unpack2x16float(v.w));
}

// No statistics shared between rows (the qstats_spqr.wgsl interface of qgemv1's sub-group path).
fn q_stats4_block(g0: u32, r: u32) -> array<vec4<u32>, 2> {
  return array<vec4<u32>, 2>();
}

fn q_stats4_from(g0: u32, r: u32, blk: array<vec4<u32>, 2>) -> array<vec2<f32>, 4> {
  return q_stats4(g0, r);
}
