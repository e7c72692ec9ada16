// Packed-weight access (binding 1), shared by every packed kernel. One storage
// buffer per packed tensor: a 16-word header holding each array's offset in u32
// words (the format record's array order, webgpu/packed.ts; word 15 the groups
// per row), then the arrays, each 16-byte aligned: as stored in the .lowbit file
// except the statistics, row-major (qstats_*.wgsl). u16/fp16 arrays are read as
// halves of words (element 2i in the low half); bit-packed matrices by q_bits. The header's
// words come through q_off and q_groups: from the buffer (qheader.wgsl) or from a copy in the
// kernel's uniforms (qheader_uniform.wgsl).
@group(0) @binding(1) var<storage, read> w: array<vec4<u32>>;

fn q_word(i: u32) -> u32 {
  return w[i >> 2u][i & 3u];
}

// Words i … i + 3: one 16-byte load when i is a multiple of 4.
fn q_words4(i: u32) -> vec4<u32> {
  if ((i & 3u) == 0u) {
    return w[i >> 2u];
  }
  return vec4<u32>(q_word(i), q_word(i + 1u), q_word(i + 2u), q_word(i + 3u));
}

fn q_u16(base: u32, i: u32) -> u32 {
  return (q_word(base + (i >> 1u)) >> ((i & 1u) * 16u)) & 0xffffu;
}

fn q_f16(base: u32, i: u32) -> f32 {
  return unpack2x16float(q_word(base + (i >> 1u)))[i & 1u];
}

// Code c of a b-bit row that starts at word `row` (formats/bytes.ts: a little-endian
// bit stream; for b = 3 two of every 32 codes straddle a word boundary).
fn q_bits(row: u32, c: u32, b: u32) -> u32 {
  let bit = c * b;
  let i = row + (bit >> 5u);
  let s = bit & 31u;
  var v = q_word(i) >> s;
  if (s + b > 32u) {
    v |= q_word(i + 1u) << (32u - s);
  }
  return v & ((1u << b) - 1u);
}

// u32 words of one row of a b-bit matrix with `cols` columns (rows padded to 32 codes).
fn q_row_words(cols: u32, b: u32) -> u32 {
  return ((cols + 31u) / 32u) * b;
}
