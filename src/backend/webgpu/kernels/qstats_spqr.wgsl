// SpQR bilevel statistics (FORMATS.spqr: arrays 0 codes, 1 scaleCodes, 2 zeroCodes,
// 3 scaleStats, 4 zeroStats, 5 outlierRowPtr, 6 outlierCol, 7 outlierVal, 8 perm), in the GPU
// image's row-major layout (webgpu/packed.ts): scale and zero codes [out, nGroups], each row's
// Q_QQ_BITS-bit codes packed along its groups; second-level stats [nStat, nGroups, 2]; nGroups
// in header word 15. The first-level (scale, zero) of group g, row r, each a code on the fp16
// grid of its β2 = Q_QQ_GROUP-row chunk: deq(q, s, z) = s · f32(q − z), two roundings.
fn q_stats(g: u32, r: u32) -> vec2<f32> {
  let nG = q_groups();
  let row = r * q_row_words(nG, Q_QQ_BITS);
  let sc = f32(q_bits(q_off(1u) + row, g, Q_QQ_BITS));
  let zc = f32(q_bits(q_off(2u) + row, g, Q_QQ_BITS));
  let st = 2u * ((r / Q_QQ_GROUP) * nG + g);
  let s = q_f16(q_off(3u), st) * (sc - q_f16(q_off(3u), st + 1u));
  let z = q_f16(q_off(4u), st) * (zc - q_f16(q_off(4u), st + 1u));
  return vec2<f32>(s, z);
}

// q_stats of groups g0 … g0 + 3 of row r at once (the packed T = 1 GEMV's run of sub-groups): the
// four scale and zero codes from one 64-bit window of their rows (4·Q_QQ_BITS ≤ 32 bits), the
// codes widened without an int→float conversion (2^23 + q is exact in f32), the second-level
// pairs from four consecutive words (q_words4). Groups past the row read neighbouring words (in
// the buffer; the caller discards them).
fn q_stats4(g0: u32, r: u32) -> array<vec2<f32>, 4> {
  return q_stats4_from(g0, r, q_stats4_block(g0, r));
}

// The second-level (step, zero) pairs of groups g0 … g0 + 3 in row r's β2 block, scale's then
// zero's: what every row of the block shares (a caller holding several rows of one block loads
// them once).
fn q_stats4_block(g0: u32, r: u32) -> array<vec4<u32>, 2> {
  let st = (r / Q_QQ_GROUP) * q_groups() + g0; // word of group g0's (step, zero) pair
  return array<vec4<u32>, 2>(q_words4(q_off(3u) + st), q_words4(q_off(4u) + st));
}

// q_stats4 of row r with its block's second-level pairs `blk` (q_stats4_block).
fn q_stats4_from(g0: u32, r: u32, blk: array<vec4<u32>, 2>) -> array<vec2<f32>, 4> {
  let row = r * q_row_words(q_groups(), Q_QQ_BITS);
  let sc = q_bits4(q_off(1u) + row, g0);
  let zc = q_bits4(q_off(2u) + row, g0);
  var out: array<vec2<f32>, 4>;
  for (var k = 0u; k < 4u; k++) {
    let a = unpack2x16float(blk[0][k]);
    let b = unpack2x16float(blk[1][k]);
    out[k] = vec2<f32>(a.x * (sc[k] - a.y), b.x * (zc[k] - b.y));
  }
  return out;
}

// Codes c … c + 3 of a Q_QQ_BITS-bit row starting at word `row`, as floats.
fn q_bits4(row: u32, c: u32) -> vec4<f32> {
  let bit = c * Q_QQ_BITS;
  let i = row + (bit >> 5u);
  let s = bit & 31u;
  var v = q_word(i) >> s;
  if (s != 0u) {
    v |= q_word(i + 1u) << (32u - s);
  }
  let m = (1u << Q_QQ_BITS) - 1u;
  let q = vec4<u32>(v, v >> Q_QQ_BITS, v >> (2u * Q_QQ_BITS), v >> (3u * Q_QQ_BITS)) & vec4<u32>(m);
  return bitcast<vec4<f32>>(q | vec4<u32>(0x4b000000u)) - vec4<f32>(8388608.0);
}
