// The KV cache as f16 (Backend.attention with f16 caches), element 2i in the low half of word i of a
// row-major [S, Ckv] cache, as webgpu tensors store f16. The kernel binds the key cache k as
// array<KK> (eight halves an entry: q·k reads a key row 16 bytes at a time) and the value cache v
// as array<KV> (four halves: a thread's value column). On the H200 the value pass holds its loads
// as loaded (VR) and widens them at the product: widened at the load, the U loads in flight a thread
// holds took twice the registers and the f16 cache's attention ran 60–70 % slower than f32's
// (bench/results/h200/decode19/).
alias KK = vec4<u32>;
alias KV = vec2<u32>;
alias VR = vec2<u32>;

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

fn widen4(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// elements 8j … 8j + 7 of the key cache
fn k8(j: u32) -> array<vec4<f32>, 2> {
  let w = k[j];
  return array<vec4<f32>, 2>(widen4(w.xy), widen4(w.zw));
}

// elements 4j … 4j + 3 of the key cache
fn k4(j: u32) -> vec4<f32> {
  let w = k[j / 2u];
  return widen4(select(w.xy, w.zw, (j & 1u) == 1u));
}

// element e of the key cache
fn k1(e: u32) -> f32 {
  return unpack2x16float(k[e / 8u][(e / 2u) % 4u])[e % 2u];
}

// element e of the value cache
fn v1(e: u32) -> f32 {
  return unpack2x16float(v[e / 4u][(e / 2u) % 2u])[e % 2u];
}

// a value column as loaded (v[j]), widened
fn vwide(x: VR) -> vec4<f32> {
  return widen4(x);
}

// four values an f16 holds exactly, as a loaded column
fn vr_of(x: vec4<f32>) -> VR {
  return vec2<u32>(pack_f16(x.x, x.y), pack_f16(x.z, x.w));
}

// value e alone as a loaded column (the others zero): its bits, not re-rounded
fn v_raw1(e: u32) -> VR {
  return vec2<u32>((v[e / 4u][(e / 2u) % 2u] >> (16u * (e % 2u))) & 0xffffu, 0u);
}
