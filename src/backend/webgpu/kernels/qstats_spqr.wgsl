// SpQR bilevel statistics (FORMATS.spqr: arrays 0 codes, 1 scaleCodes, 2 zeroCodes,
// 3 scaleStats, 4 zeroStats, 5 outlierRowPtr, 6 outlierCol, 7 outlierVal, 8 perm):
// the first-level (scale, zero) of group g, row r, each a Q_QQ_BITS-bit code on the
// fp16 grid of its β2 = Q_QQ_GROUP-row chunk: deq(q, s, z) = s · f32(q − z), two roundings.
fn q_stats(g: u32, r: u32, out: u32) -> vec2<f32> {
  let row = g * q_row_words(out, Q_QQ_BITS);
  let sc = f32(q_bits(q_off(1u) + row, r, Q_QQ_BITS));
  let zc = f32(q_bits(q_off(2u) + row, r, Q_QQ_BITS));
  let st = 2u * (g * ((out + Q_QQ_GROUP - 1u) / Q_QQ_GROUP) + r / Q_QQ_GROUP);
  let s = q_f16(q_off(3u), st) * (sc - q_f16(q_off(3u), st + 1u));
  let z = q_f16(q_off(4u), st) * (zc - q_f16(q_off(4u), st + 1u));
  return vec2<f32>(s, z);
}
