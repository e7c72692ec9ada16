// int2/3/4/8 group statistics (FORMATS.int*: arrays 0 codes, 1 scales, 2 zeros, 3 perm):
// (scale, zero) of group g, row r of an [out, in] matrix: scale fp16 [nGroups, out],
// zero a Q_BITS-bit integer packed along out. Ŵ = scale · (code − zero), exact in f32.
fn q_stats(g: u32, r: u32, out: u32) -> vec2<f32> {
  let s = q_f16(q_off(1u), g * out + r);
  let z = q_bits(q_off(2u) + g * q_row_words(out, Q_BITS), r, Q_BITS);
  return vec2<f32>(s, f32(z));
}
