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

// Code of column c of the row whose words start at `row`.
fn q_code(row: u32, c: u32, K: u32) -> u32 {
  if (Q_ILV == 0u) {
    return q_bits(row, c, Q_BITS);
  }
  let i = c / Q_CPW;
  return (q_word(row + q_code_word(i, K)) >> ((c - i * Q_CPW) * Q_BITS)) & Q_MASK;
}
