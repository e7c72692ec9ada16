// f32 → f16 bit patterns by integer operations, exactly as the host's f32ToF16 (tensor/dtype.ts),
// shared by the f16 KV cache (kv_f16.wgsl, kv_store_f16.wgsl) and SpQR's GPU quantizer
// (spqr_cols.wgsl, through spqr_grid.wgsl's round_f16). No shader-f16 needed.

// x rounded to the nearest f16 (ties to even, subnormals kept, beyond the f16 range ±Inf, NaN a
// quiet NaN), its bit pattern: exactly the host's f32ToF16 (pack2x16float leaves the rounding to
// the implementation)
fn f16_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let s = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) {
    return s | select(0x7c00u, 0x7e00u | ((a & 0x7fffffu) >> 13u), a > 0x7f800000u); // Inf, NaN (quiet, top payload bits kept)
  }
  if (a >= 0x477ff000u) {
    return s | 0x7c00u; // rounds to 65536 or more
  }
  if (a >= 0x38800000u) {
    // normal: drop 13 mantissa bits, ties to even, and rebias the exponent (127 → 15)
    return s | ((a + 0xfffu + ((a >> 13u) & 1u) - 0x38000000u) >> 13u);
  }
  // subnormal (or the smallest normal, when it rounds up to 1024): |x| in units of 2^-24, exact
  // in f32; WGSL's round() breaks ties to even
  return s | u32(round(bitcast<f32>(a) * 16777216.0));
}

fn pack_f16(a: f32, b: f32) -> u32 {
  return f16_bits(a) | (f16_bits(b) << 16u);
}
