// int2/3/4/8 group statistics (FORMATS.int*: arrays 0 codes, 1 scales, 2 zeros, 3 perm), in the
// GPU image's row-major layout (webgpu/packed.ts): scale fp16 [out, nGroups], zero a Q_BITS-bit
// integer packed along the groups of a row; nGroups in header word 15. (scale, zero) of group g,
// row r: Ŵ = scale · (code − zero), exact in f32.
fn q_stats(g: u32, r: u32) -> vec2<f32> {
  let nG = q_word(15u);
  let s = q_f16(q_off(1u), r * nG + g);
  let z = q_bits(q_off(2u) + r * q_row_words(nG, Q_BITS), g, Q_BITS);
  return vec2<f32>(s, f32(z));
}
