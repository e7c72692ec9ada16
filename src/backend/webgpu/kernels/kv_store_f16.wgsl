// Writes into an f16 KV cache (after kv_f16.wgsl; k and v bound read_write): elements e and e + 1
// (e even) of a row-major [S, Ckv] cache, as one word, each rounded to the nearest f16 (ties to
// even, subnormals kept, beyond the f16 range ±Inf, NaN a quiet NaN) exactly as the host's f32ToF16
// does. pack2x16float would leave the rounding to the implementation.
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

// the values a store of (a, b) keeps, which later reads of the cache see
fn kv_kept(a: f32, b: f32) -> vec2<f32> {
  return unpack2x16float(pack_f16(a, b));
}

fn k_store2(e: u32, a: f32, b: f32) {
  k[e / 4u][(e / 2u) % 2u] = pack_f16(a, b);
}

fn v_store2(e: u32, a: f32, b: f32) {
  v[e / 4u][(e / 2u) % 2u] = pack_f16(a, b);
}
