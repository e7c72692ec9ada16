// Dot products of packed codes with f32 inputs for the T = 1 packed GEMVs (qgemv1, qgemv1_ilv).
// Needs the format's Q_* constants.
//
// Codes become floats without an int→float conversion (a quarter- or eighth-rate instruction on
// most GPUs, and what bounded these kernels once): a b-bit code q shifted to the top of an f32's
// mantissa under the exponent of 1.0 is the float 1 + q/2^b, exactly (shift, and, or). So the
// dots return Σ_e (1 + code[e]/2^b)·xs[e] and the caller recovers Σ code·x = 2^b·(dot − Σ x);
// the rounding matches a plain Σ code·x to a factor of two.
const ONE: u32 = 0x3f800000u; // 1.0f
const TOP: u32 = Q_MASK << (23u - Q_BITS); // a code's bits at the top of the mantissa
const SCALE_B: f32 = f32(1u << Q_BITS);
// vec4s of inputs per word (Q_BITS 2, 4, 8)
const Q_VPW: u32 = select(1u, 8u / Q_BITS, Q_BITS <= 8u && 8u % Q_BITS == 0u);

fn ones4(v: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>((v & vec4<u32>(TOP)) | vec4<u32>(ONE));
}

// Σ_e (1 + code[e]/2^b) · xv[e / 4][e % 4] over the 32/b codes of one word (Q_BITS 2, 4, 8: its
// inputs are xv[0 … Q_VPW − 1]). Every index is a constant, so the inputs stay in registers.
fn word_dot(wd: u32, xv: array<vec4<f32>, 4>) -> f32 {
  if (Q_BITS == 4u) {
    // codes 0, 2, 4, 6 of the word (bits 0, 8, 16, 24) and 1, 3, 5, 7 (bits 4, 12, 20, 28) to bits 19..22
    let lo = ones4(vec4<u32>(wd << 19u, wd << 11u, wd << 3u, wd >> 5u));
    let hi = ones4(vec4<u32>(wd << 15u, wd << 7u, wd >> 1u, wd >> 9u));
    let a = xv[0];
    let b = xv[1];
    return dot(lo, vec4<f32>(a.x, a.z, b.x, b.z)) + dot(hi, vec4<f32>(a.y, a.w, b.y, b.w));
  } else if (Q_BITS == 8u) {
    return dot(ones4(vec4<u32>(wd << 15u, wd << 7u, wd >> 1u, wd >> 9u)), xv[0]); // bits 0, 8, 16, 24 to 15..22
  }
  // 2 bits: codes 4i … 4i + 3 at bits 8i + 0, 2, 4, 6
  return dot(ones4(vec4<u32>(wd << 21u, wd << 19u, wd << 17u, wd << 15u)), xv[0])
    + dot(ones4(vec4<u32>(wd << 13u, wd << 11u, wd << 9u, wd << 7u)), xv[1])
    + dot(ones4(vec4<u32>(wd << 5u, wd << 3u, wd << 1u, wd >> 1u)), xv[2])
    + dot(ones4(vec4<u32>(wd >> 3u, wd >> 5u, wd >> 7u, wd >> 9u)), xv[3]);
}

// Σ_e (1 + code[e]/2^b) · xs[e] over one 32-code chunk whose words are cw (natural order).
fn chunk_dot(cw: array<u32, Q_BITS>, xs: array<vec4<f32>, 8>) -> f32 {
  var s = 0.0;
  if (Q_BITS == 4u) {
    for (var i = 0u; i < 4u; i++) {
      let w = cw[i];
      // codes 0, 2, 4, 6 of the word (bits 0, 8, 16, 24) and 1, 3, 5, 7 (bits 4, 12, 20, 28) to bits 19..22
      let lo = ones4(vec4<u32>(w << 19u, w << 11u, w << 3u, w >> 5u));
      let hi = ones4(vec4<u32>(w << 15u, w << 7u, w >> 1u, w >> 9u));
      let a = xs[2u * i];
      let b = xs[2u * i + 1u];
      s += dot(lo, vec4<f32>(a.x, a.z, b.x, b.z)) + dot(hi, vec4<f32>(a.y, a.w, b.y, b.w));
    }
  } else if (Q_BITS == 8u) {
    for (var i = 0u; i < 8u; i++) {
      let w = cw[i];
      s += dot(ones4(vec4<u32>(w << 15u, w << 7u, w >> 1u, w >> 9u)), xs[i]); // bits 0, 8, 16, 24 to 15..22
    }
  } else if (Q_BITS == 2u) {
    for (var i = 0u; i < 8u; i++) {
      let byte = cw[i >> 2u] >> ((i & 3u) * 8u); // codes 4i .. 4i + 3 at bits 0, 2, 4, 6
      s += dot(ones4(vec4<u32>(byte << 21u, byte << 19u, byte << 17u, byte << 15u)), xs[i]);
    }
  } else {
    for (var e = 0u; e < 32u; e++) {
      s += chunk_code1(cw, e) * xs[e >> 2u][e & 3u];
    }
  }
  return s;
}

// 1 + code[e]/2^b for code e of a 32-code chunk whose words are cw (natural order, any width: a
// code may straddle two words). With e a constant (an unrolled loop) the shifts are constants.
fn chunk_code1(cw: array<u32, Q_BITS>, e: u32) -> f32 {
  let bit = e * Q_BITS;
  let wi = bit >> 5u;
  let sh = bit & 31u;
  var v = cw[wi] >> sh;
  if (sh + Q_BITS > 32u) {
    v |= cw[wi + 1u] << (32u - sh);
  }
  return bitcast<f32>(((v << (23u - Q_BITS)) & TOP) | ONE);
}
