// SpQR's min-max grid (formats/grids/affine.ts) in f32, shared by spqr_fit and
// spqr_cols: quotients refined with an fma residual step so they round like
// IEEE division, round half to even (WGSL `round`), fp16 rounding to nearest
// even done by hand (no shader-f16 needed, no inf produced; the bit patterns: f16_bits.wgsl).

// x / y rounded as IEEE division: one fma residual step over the hardware quotient.
fn qdiv(x: f32, y: f32) -> f32 {
  let q = x / y;
  return q + fma(-q, y, x) / y;
}

// Whether x rounds to an infinite fp16 (|x| ≥ 65520).
fn f16_overflows(x: f32) -> bool {
  return abs(x) >= 65520.0;
}

// x rounded to the nearest fp16 value (ties to even; subnormals on the 2^-24 grid), as f32. |x| < 65520.
fn round_f16(x: f32) -> f32 {
  let a = abs(x);
  if (a == 0.0) {
    return x;
  }
  let e = i32((bitcast<u32>(a) >> 23u) & 0xffu) - 127;
  let qe = max(e, -14) - 10;
  let r = ldexp(round(ldexp(a, -qe)), qe);
  return select(r, -r, x < 0.0);
}

// (scale, zero) of the range [xmin, xmax] (affine.ts fitAffine; a constant range becomes [−1, 1]).
fn affine_params(lo: f32, hi: f32, maxq: f32) -> vec2<f32> {
  var xmin = lo;
  var xmax = hi;
  if (xmin == xmax) {
    xmin = -1.0;
    xmax = 1.0;
  }
  let s = qdiv(xmax - xmin, maxq);
  return vec2<f32>(s, qdiv(-xmin, s));
}

// clamp(round(x / max(scale, 1e-9) + zero), 0, maxq) (affine.ts quantizeAffine).
fn affine_code(x: f32, sz: vec2<f32>, maxq: f32) -> f32 {
  return clamp(round(qdiv(x, max(sz.x, 1e-9)) + sz.y), 0.0, maxq);
}

// scale · (code − zero), two roundings (affine.ts dequantizeAffine).
fn affine_deq(q: f32, sz: vec2<f32>) -> f32 {
  return sz.x * (q - sz.y);
}
