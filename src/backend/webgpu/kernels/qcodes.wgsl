// Where a packed row's codes sit in the GPU image (webgpu/packed.ts). With Q_ILV (int2/4/8 in
// groups of whole 32-column chunks) every whole 128-column superchunk s of a row (four 32-code
// chunks, 4·Q_BITS words) stores its words lane-interleaved: natural word 4v + j (columns
// 128s + (4v + j)·Q_CPW …) at position j·Q_BITS + v. So stored chunk j of the superchunk (one
// 16-byte load at 4 bits) holds words v = 0 … Q_BITS − 1, word v covering Q_CPW columns of the band
// 128s + 128v/Q_BITS … + 128/Q_BITS, and the four chunks' words v cover that band side by side:
// four lanes that load the four chunks read their inputs from neighbouring addresses
// (qgemv1_ilv.wgsl). Chunks past the last whole superchunk (K % 128 columns) keep the natural
// order, as does every other format (Q_ILV 0). Needs the format's Q_* constants (wgslConstants).
const Q_CPW: u32 = select(1u, 32u / Q_BITS, 32u % Q_BITS == 0u); // codes per word (Q_ILV formats)

// Whole superchunks in a row of K columns (0 without Q_ILV: every word in natural order).
fn q_ilv_supers(K: u32) -> u32 {
  return select(0u, K / 128u, Q_ILV != 0u);
}

// The stored position, within its row, of natural word i (columns i·Q_CPW …).
fn q_code_word(i: u32, K: u32) -> u32 {
  let sw = 4u * Q_BITS;
  let s = i / sw;
  if (s >= q_ilv_supers(K)) {
    return i;
  }
  let o = i - s * sw;
  return s * sw + (o % 4u) * Q_BITS + o / 4u;
}

// The first column of the word stored at position i of its row (Q_BITS of 2, 4, 8 or Q_ILV 0
// with a whole-word code count; 3-bit rows use q_bits on natural positions).
fn q_word_col(i: u32, K: u32) -> u32 {
  let sw = 4u * Q_BITS;
  let s = i / sw;
  if (s >= q_ilv_supers(K)) {
    return i * Q_CPW;
  }
  let o = i - s * sw;
  return 128u * s + (4u * (o % Q_BITS) + o / Q_BITS) * Q_CPW;
}

// With Q_P3 (3-bit codes: int3, SpQR at 3 bits) each 32-code chunk's three words hold code
// 10k + 5h + j (k < 3, h < 2, j < 5) at bits 16h + 3j of word k, so codes j and j + 5 of a word lie
// 16 bits apart and widen as one f16 pair (qdot.wgsl); bit i of codes 30 and 31 sits at bits 15
// and 31 of word i.
// Code n (0 … 31) of the Q_P3 chunk whose words are w0, w1, w2.
fn p3_code(w0: u32, w1: u32, w2: u32, n: u32) -> u32 {
  if (n < 30u) {
    let m = n % 10u;
    let wd = select(select(w2, w1, n < 20u), w0, n < 10u);
    return (wd >> (16u * (m / 5u) + 3u * (m % 5u))) & 7u;
  }
  let s = 15u + 16u * (n - 30u);
  return ((w0 >> s) & 1u) | (((w1 >> s) & 1u) << 1u) | (((w2 >> s) & 1u) << 2u);
}

// Code of column c of the row whose words start at `row`.
fn q_code(row: u32, c: u32, K: u32) -> u32 {
  if (Q_P3 != 0u) {
    let b = row + (c / 32u) * 3u;
    let n = c % 32u;
    if (n < 30u) {
      let m = n % 10u;
      return (q_word(b + n / 10u) >> (16u * (m / 5u) + 3u * (m % 5u))) & 7u;
    }
    return p3_code(q_word(b), q_word(b + 1u), q_word(b + 2u), n);
  }
  if (Q_ILV == 0u) {
    return q_bits(row, c, Q_BITS);
  }
  let i = c / Q_CPW;
  return (q_word(row + q_code_word(i, K)) >> ((c - i * Q_CPW) * Q_BITS)) & Q_MASK;
}
