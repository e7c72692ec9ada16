// int2/3/4/8 group statistics (FORMATS.int*: arrays 0 codes, 1 scales, 2 zeros, 3 perm) in the GPU
// image (webgpu/packed.ts): array 1 holds one u32 per group and row, [out, nGroups] row-major, the
// fp16 scale in the low half and the zero (an integer, exact in fp16) in the high half; array 2 is
// empty; nGroups in header word 15. (scale, zero) of group g, row r: Ŵ = scale · (code − zero),
// exact in f32.
fn q_stats(g: u32, r: u32) -> vec2<f32> {
  return unpack2x16float(q_word(q_off(1u) + r * q_word(15u) + g));
}
