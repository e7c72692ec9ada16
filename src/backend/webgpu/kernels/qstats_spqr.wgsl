// SpQR bilevel statistics (FORMATS.spqr: arrays 0 codes, 1 scaleCodes, 2 zeroCodes,
// 3 scaleStats, 4 zeroStats, 5 outlierRowPtr, 6 outlierCol, 7 outlierVal, 8 perm), in the GPU
// image's layout (webgpu/packed.ts): array 1 holds each row's (scale code, zero code) fields,
// [out, nGroups] row-major, Q_PAIR bits a field (the scale code in its low half, the zero code
// in its high half), rows of whole words; array 2 is empty; second-level stats [nStat, nGroups, 2];
// array 6 each outlier's column | fp16 value << 16, array 7 empty;
// nGroups in header word 15. The first-level (scale, zero) of group g, row r, each a code on the
// fp16 grid of its β2 = Q_QQ_GROUP-row chunk: deq(q, s, z) = s · f32(q − z), two roundings.
const Q_PAIR: u32 = select(16u, 8u, Q_QQ_BITS <= 4u); // webgpu/packed.ts spqrPairField
const Q_PAIR_HALF: u32 = Q_PAIR / 2u;
const Q_QQ_MASK: u32 = (1u << Q_QQ_BITS) - 1u;

// First word of row r's code pairs.
fn q_pair_row(r: u32) -> u32 {
  return q_off(1u) + r * ((q_groups() * Q_PAIR + 31u) / 32u);
}

fn q_stats(g: u32, r: u32) -> vec2<f32> {
  let bit = g * Q_PAIR;
  let v = q_word(q_pair_row(r) + (bit >> 5u)) >> (bit & 31u);
  let sc = f32(v & Q_QQ_MASK);
  let zc = f32((v >> Q_PAIR_HALF) & Q_QQ_MASK);
  let st = 2u * ((r / Q_QQ_GROUP) * q_groups() + g);
  let s = q_f16(q_off(3u), st) * (sc - q_f16(q_off(3u), st + 1u));
  let z = q_f16(q_off(4u), st) * (zc - q_f16(q_off(4u), st + 1u));
  return vec2<f32>(s, z);
}

// q_stats of groups g0 … g0 + 3 of row r at once (the packed T = 1 GEMV's run of sub-groups): the
// four (scale, zero) code pairs from one window of the row's pairs (q_pairs4), the second-level
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
  let cp = q_pairs4(q_pair_row(r), g0);
  var out: array<vec2<f32>, 4>;
  for (var k = 0u; k < 4u; k++) {
    let a = unpack2x16float(blk[0][k]);
    let b = unpack2x16float(blk[1][k]);
    out[k] = vec2<f32>(a.x * (cp[0][k] - a.y), b.x * (cp[1][k] - b.y));
  }
  return out;
}

// The scale codes and the zero codes of groups g0 … g0 + 3 of the row whose pairs start at word
// `row`, as floats (widened without an int→float conversion: 2^23 + q is exact in f32). Byte
// fields: one 32-bit window (one load when g0 is a multiple of 4); 16-bit fields: a word a pair.
fn q_pairs4(row: u32, g0: u32) -> array<vec4<f32>, 2> {
  var f: vec4<u32>;
  if (Q_PAIR == 8u) {
    let i = row + (g0 >> 2u);
    let s = (g0 & 3u) * 8u;
    var v = q_word(i) >> s;
    if (s != 0u) {
      v |= q_word(i + 1u) << (32u - s);
    }
    f = vec4<u32>(v, v >> 8u, v >> 16u, v >> 24u);
  } else {
    for (var k = 0u; k < 4u; k++) {
      f[k] = q_word(row + ((g0 + k) >> 1u)) >> (((g0 + k) & 1u) * 16u);
    }
  }
  let m = vec4<u32>(Q_QQ_MASK);
  let big = vec4<u32>(0x4b000000u);
  let sc = bitcast<vec4<f32>>((f & m) | big) - vec4<f32>(8388608.0);
  let zc = bitcast<vec4<f32>>(((f >> vec4<u32>(Q_PAIR_HALF)) & m) | big) - vec4<f32>(8388608.0);
  return array<vec4<f32>, 2>(sc, zc);
}
