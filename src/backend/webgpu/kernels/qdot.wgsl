// Dot products of packed codes with f32 inputs for the T = 1 packed GEMVs (qgemv1, qgemv1_ilv).
// Needs the format's Q_* constants.
//
// Codes become floats without an int→float conversion (a quarter- or eighth-rate instruction on
// most GPUs, and what bounded these kernels once): a b-bit code q shifted to the top of a float's
// mantissa under the exponent of 1.0 is the float 1 + q/2^b, exactly. At 2 and 4 bits two codes 16
// bits apart in a word go together into the two halves of an f16 pair (one shift, one and-or) and
// widen to f32 by unpack2x16float: on the H200 the int4 step took 4.7 % less time than with one
// f32 (shift, and-or) per code (the integer pipe is half rate), int2 3.0 % less. At 8 bits the
// pairs made the step 1.5 % slower, so 8-bit and the other widths keep the f32 form (ones4,
// chunk_code1). So the dots return Σ_e (1 + code[e]/2^b)·xs[e] and the caller recovers
// Σ code·x = 2^b·(dot − Σ x); the rounding matches a plain Σ code·x to a factor of two.
const ONE: u32 = 0x3f800000u; // 1.0f
const TOP: u32 = Q_MASK << (23u - Q_BITS); // a code's bits at the top of an f32's mantissa
const SCALE_B: f32 = f32(1u << Q_BITS);
// vec4s of inputs per word (Q_BITS 2, 4, 8)
const Q_VPW: u32 = select(1u, 8u / Q_BITS, Q_BITS <= 8u && 8u % Q_BITS == 0u);
const HTOP: u32 = (Q_MASK << (10u - min(Q_BITS, 10u))) * 0x10001u; // a code's bits at the top of both halves' mantissas

fn ones4(v: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>((v & vec4<u32>(TOP)) | vec4<u32>(ONE));
}

// (1 + a/2^b, 1 + c/2^b) for the codes a, c at the top of the halves' mantissas in v (bits 10 − b
// and 26 − b up), other bits anywhere.
fn ones2(v: u32) -> vec2<f32> {
  return unpack2x16float((v & HTOP) | 0x3c003c00u);
}

// Σ_e (1 + code[e]/2^b) · xv[e / 4][e % 4] over the 32/b codes of one word (Q_BITS 2, 4, 8; code e
// at bits b·e; its inputs are xv[0 … Q_VPW − 1]). Every index is a constant, so the inputs stay in
// registers.
fn word_dot(wd: u32, xv: array<vec4<f32>, 4>) -> f32 {
  return word_dot_acc(wd, xv, 0.0);
}

fn word_dot_acc(wd: u32, xv: array<vec4<f32>, 4>, acc: f32) -> f32 {
  if (Q_BITS == 4u) {
    // codes j and j + 4 (bits 4j, 16 + 4j) to bits 6 and 22
    let h0 = ones2(wd << 6u);
    let h1 = ones2(wd << 2u);
    let h2 = ones2(wd >> 2u);
    let h3 = ones2(wd >> 6u);
    var s = fma(h0.x, xv[0].x, acc);
    s = fma(h1.x, xv[0].y, s);
    s = fma(h2.x, xv[0].z, s);
    s = fma(h3.x, xv[0].w, s);
    s = fma(h0.y, xv[1].x, s);
    s = fma(h1.y, xv[1].y, s);
    s = fma(h2.y, xv[1].z, s);
    return fma(h3.y, xv[1].w, s);
  } else if (Q_BITS == 8u) {
    return acc + dot(ones4(vec4<u32>(wd << 15u, wd << 7u, wd >> 1u, wd >> 9u)), xv[0]); // bits 0, 8, 16, 24 to 15..22
  }
  // 2 bits: codes j and j + 8 (bits 2j, 16 + 2j) to bits 8 and 24
  let h0 = ones2(wd << 8u);
  let h1 = ones2(wd << 6u);
  let h2 = ones2(wd << 4u);
  let h3 = ones2(wd << 2u);
  let h4 = ones2(wd);
  let h5 = ones2(wd >> 2u);
  let h6 = ones2(wd >> 4u);
  let h7 = ones2(wd >> 6u);
  return acc + dot(vec4<f32>(h0.x, h1.x, h2.x, h3.x), xv[0]) + dot(vec4<f32>(h4.x, h5.x, h6.x, h7.x), xv[1])
    + dot(vec4<f32>(h0.y, h1.y, h2.y, h3.y), xv[2]) + dot(vec4<f32>(h4.y, h5.y, h6.y, h7.y), xv[3]);
}

// The int4 word dot without the 1 + q/16 offset, for devices whose unpack2x16float keeps f16
// subnormals (the backend's probe, probe_f16.wgsl): a code masked into the low bits of a half with
// a zero exponent is the subnormal q·2^-24 (bits 0–3) or q·2^-20 (bits 4–7), exactly. Codes j and
// j + 4 of a word sit 16 bits apart (bits 4j, 16 + 4j), so one and (codes 0, 4 and 1, 5) or a
// shift by 8 and an and (codes 2, 6 and 3, 7) makes each pair: 5 integer ops a word instead of
// word_dot_acc's 8. The caller passes the inputs of codes 0, 2, 4, 6 (xv[e].x and .z) times 16, so
// every product is q·x·2^-20: returns acc + 2^-20·Σ_e code[e]·x[e]. Q_BITS 4 only.
fn word_dot_sub4(wd: u32, xv: array<vec4<f32>, 4>, acc: f32) -> f32 {
  let w8 = wd >> 8u;
  let h0 = unpack2x16float(wd & 0x000f000fu); // codes 0, 4 (·2^-24)
  let h1 = unpack2x16float(wd & 0x00f000f0u); // codes 1, 5 (·2^-20)
  let h2 = unpack2x16float(w8 & 0x000f000fu); // codes 2, 6
  let h3 = unpack2x16float(w8 & 0x00f000f0u); // codes 3, 7
  var s = fma(h0.x, xv[0].x, acc);
  s = fma(h1.x, xv[0].y, s);
  s = fma(h2.x, xv[0].z, s);
  s = fma(h3.x, xv[0].w, s);
  s = fma(h0.y, xv[1].x, s);
  s = fma(h1.y, xv[1].y, s);
  s = fma(h2.y, xv[1].z, s);
  return fma(h3.y, xv[1].w, s);
}

// The int2 word dot the same way: codes j and j + 8 of a word sit at bits 2j and 16 + 2j, so an
// and (codes 0–3 and 8–11) or a shift by 8 and an and (codes 4–7, 12–15) makes each pair, the
// subnormals q·2^-24, q·2^-22, q·2^-20, q·2^-18 at bits 0–1 … 6–7 of each half: 9 integer ops a
// word instead of word_dot_acc's 16. The caller passes the inputs times (64, 16, 4, 1) per vec4,
// so every product is q·x·2^-18: returns acc + 2^-18·Σ_e code[e]·x[e]. Q_BITS 2 only.
fn word_dot_sub2(wd: u32, xv: array<vec4<f32>, 4>, acc: f32) -> f32 {
  let w8 = wd >> 8u;
  let h0 = unpack2x16float(wd & 0x00030003u); // codes 0, 8 (·2^-24)
  let h1 = unpack2x16float(wd & 0x000c000cu); // codes 1, 9 (·2^-22)
  let h2 = unpack2x16float(wd & 0x00300030u); // codes 2, 10 (·2^-20)
  let h3 = unpack2x16float(wd & 0x00c000c0u); // codes 3, 11 (·2^-18)
  let h4 = unpack2x16float(w8 & 0x00030003u); // codes 4, 12
  let h5 = unpack2x16float(w8 & 0x000c000cu); // codes 5, 13
  let h6 = unpack2x16float(w8 & 0x00300030u); // codes 6, 14
  let h7 = unpack2x16float(w8 & 0x00c000c0u); // codes 7, 15
  return acc + dot(vec4<f32>(h0.x, h1.x, h2.x, h3.x), xv[0]) + dot(vec4<f32>(h4.x, h5.x, h6.x, h7.x), xv[1])
    + dot(vec4<f32>(h0.y, h1.y, h2.y, h3.y), xv[2]) + dot(vec4<f32>(h4.y, h5.y, h6.y, h7.y), xv[3]);
}

// 3-bit codes in qcodes.wgsl's Q_P3 chunks: codes 10k + j and 10k + 5 + j of word k (j < 5) sit at
// bits 3j and 16 + 3j, 16 bits apart, so one shift and one and-or put both at the top of an f16
// pair's mantissas (bits 7–9 and 23–25), as for 2 and 4 bits; codes 30 and 31 gather their bits
// from the three words' bits 15 and 31.
const P3_HTOP: u32 = 0x03800380u;

// (1 + code[10k + j]/8, 1 + code[10k + 5 + j]/8) from word k of a Q_P3 chunk.
fn p3_pair(wd: u32, j: u32) -> vec2<f32> {
  var v: u32;
  if (j < 3u) {
    v = wd << (7u - 3u * j);
  } else {
    v = wd >> (3u * j - 7u);
  }
  return unpack2x16float((v & P3_HTOP) | 0x3c003c00u);
}

// (1 + code[30]/8, 1 + code[31]/8) of a Q_P3 chunk.
fn p3_last(cw: array<u32, Q_BITS>) -> vec2<f32> {
  let v = ((cw[0] >> 15u) & 0x10001u) | ((cw[1 % Q_BITS] >> 14u) & 0x20002u) | ((cw[2 % Q_BITS] >> 13u) & 0x40004u);
  return unpack2x16float(((v << 7u) & P3_HTOP) | 0x3c003c00u);
}

// Q_P3 pairs through f16 subnormals (as word_dot_sub4): codes 10k + j and 10k + 5 + j of word k
// masked in place, j < 3 (bits 3j, 16 + 3j) by one and, j = 3, 4 after one shift by 9, are the
// subnormals q·2^(3·(j mod 3) − 24): 5 ands and a shift a word instead of 5 shifts and 5 and-ors.
// p3_scale(j) is the factor that makes such a product q·x again.
fn p3_pair_sub(wd: u32, j: u32) -> vec2<f32> {
  let v = select(wd, wd >> 9u, j >= 3u);
  return unpack2x16float(v & (0x00070007u << (3u * (j % 3u))));
}

const P3_SCALES = vec3<f32>(16777216.0, 2097152.0, 262144.0); // 2^24, 2^21, 2^18 by j mod 3

// codes 30 and 31 of a Q_P3 chunk as subnormals q·2^-24.
fn p3_last_sub(cw: array<u32, Q_BITS>) -> vec2<f32> {
  return unpack2x16float(((cw[0] >> 15u) & 0x10001u) | ((cw[1 % Q_BITS] >> 14u) & 0x20002u) | ((cw[2 % Q_BITS] >> 13u) & 0x40004u));
}

// Σ_e code[e] · xs[e] over one Q_P3 chunk, through p3_pair_sub: one sum per scale class.
fn chunk_dot_p3sub(cw: array<u32, Q_BITS>, xs: array<vec4<f32>, 8>) -> f32 {
  var s = vec3<f32>(0.0);
  for (var k = 0u; k < 3u; k++) {
    for (var j = 0u; j < 5u; j++) {
      let h = p3_pair_sub(cw[k % Q_BITS], j);
      let a = 10u * k + j;
      let b = a + 5u;
      s[j % 3u] += h.x * xs[a >> 2u][a & 3u] + h.y * xs[b >> 2u][b & 3u];
    }
  }
  let h = p3_last_sub(cw);
  s.x += h.x * xs[7][2] + h.y * xs[7][3];
  return dot(s, P3_SCALES);
}

// Σ_e (1 + code[e]/2^b) · xs[e] over one 32-code chunk whose words are cw (natural order, or Q_P3's).
fn chunk_dot(cw: array<u32, Q_BITS>, xs: array<vec4<f32>, 8>) -> f32 {
  var s = 0.0;
  if (Q_BITS == 3u && Q_P3 != 0u) {
    for (var k = 0u; k < 3u; k++) {
      for (var j = 0u; j < 5u; j++) {
        let h = p3_pair(cw[k % Q_BITS], j);
        let a = 10u * k + j;
        let b = a + 5u;
        s += h.x * xs[a >> 2u][a & 3u] + h.y * xs[b >> 2u][b & 3u];
      }
    }
    let h = p3_last(cw);
    s += h.x * xs[7][2] + h.y * xs[7][3];
  } else if (Q_BITS == 2u || Q_BITS == 4u || Q_BITS == 8u) {
    // word i holds codes 32i/b …, whose inputs are xs[Q_VPW·i …]
    for (var i = 0u; i < Q_BITS; i++) {
      var xv = array<vec4<f32>, 4>();
      for (var e = 0u; e < Q_VPW; e++) {
        xv[e] = xs[Q_VPW * i + e];
      }
      s += word_dot(cw[i], xv);
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
