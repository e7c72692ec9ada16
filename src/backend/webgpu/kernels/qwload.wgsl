// Weight access for gemm.wgsl from a packed tensor (prefill): w_load1/w_load4 decode
// Ŵ[r, c] (layout column order; x is gathered by perm first) from the codes (q_code of
// qcodes.wgsl: interleaved or natural order) and q_stats (a qstats_* file). The dense part only:
// SpQR's outliers are added by qoutliers.wgsl after the GEMM. Uses gemm's p.K (in) and p.rows (out; one chunk).
fn q_weight(row: u32, c: u32) -> f32 {
  let code = q_code(q_off(0u) + row * q_row_words(p.K, Q_BITS), c, p.K);
  let sz = q_stats(c / Q_GROUP_SIZE, row);
  return sz.x * (f32(code) - sz.y);
}

fn w_load1(e: u32) -> f32 {
  let r = e / p.K;
  return q_weight(r, e - r * p.K);
}

// Elements e … e+3 of one row (gemm calls it with K % 4 == 0, e % 4 == 0).
fn w_load4(e: u32) -> vec4<f32> {
  let r = e / p.K;
  let c = e - r * p.K;
  if (Q_GROUP_SIZE % 4u != 0u) {
    return vec4<f32>(q_weight(r, c), q_weight(r, c + 1u), q_weight(r, c + 2u), q_weight(r, c + 3u));
  }
  let row = q_off(0u) + r * q_row_words(p.K, Q_BITS);
  let sz = q_stats(c / Q_GROUP_SIZE, r);
  if (Q_P3 != 0u) {
    // four codes of one Q_P3 chunk (c % 4 == 0): its three words loaded once
    let b = row + (c / 32u) * 3u;
    let n = c % 32u;
    let w0 = q_word(b);
    let w1 = q_word(b + 1u);
    let w2 = q_word(b + 2u);
    let q3 = vec4<f32>(f32(p3_code(w0, w1, w2, n)), f32(p3_code(w0, w1, w2, n + 1u)), f32(p3_code(w0, w1, w2, n + 2u)), f32(p3_code(w0, w1, w2, n + 3u)));
    return sz.x * (q3 - sz.y);
  }
  let q = vec4<f32>(f32(q_code(row, c, p.K)), f32(q_code(row, c + 1u, p.K)), f32(q_code(row, c + 2u, p.K)), f32(q_code(row, c + 3u, p.K)));
  return sz.x * (q - sz.y);
}
