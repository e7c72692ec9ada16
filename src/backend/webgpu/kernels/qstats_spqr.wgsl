// SpQR bilevel statistics (FORMATS.spqr: arrays 0 codes, 1 scaleCodes, 2 zeroCodes,
// 3 scaleStats, 4 zeroStats, 5 outlierRowPtr, 6 outlierCol, 7 outlierVal, 8 perm), in the GPU
// image's row-major layout (webgpu/packed.ts): scale and zero codes [out, nGroups], each row's
// Q_QQ_BITS-bit codes packed along its groups; second-level stats [nStat, nGroups, 2]; nGroups
// in header word 15. The first-level (scale, zero) of group g, row r, each a code on the fp16
// grid of its β2 = Q_QQ_GROUP-row chunk: deq(q, s, z) = s · f32(q − z), two roundings.
fn q_stats(g: u32, r: u32) -> vec2<f32> {
  let nG = q_word(15u);
  let row = r * q_row_words(nG, Q_QQ_BITS);
  let sc = f32(q_bits(q_off(1u) + row, g, Q_QQ_BITS));
  let zc = f32(q_bits(q_off(2u) + row, g, Q_QQ_BITS));
  let st = 2u * ((r / Q_QQ_GROUP) * nG + g);
  let s = q_f16(q_off(3u), st) * (sc - q_f16(q_off(3u), st + 1u));
  let z = q_f16(q_off(4u), st) * (zc - q_f16(q_off(4u), st + 1u));
  return vec2<f32>(s, z);
}
