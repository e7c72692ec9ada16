// The KV cache as f16 (Backend.attention with f16 caches), element 2i in the low half of word i of a
// row-major [S, Ckv] cache, as webgpu tensors store f16. The kernel binds the key cache k as
// array<KK> (eight halves an entry: q·k reads a key row 16 bytes at a time) and the value cache v
// as array<KV> (four halves: a thread's value column). On the H200 the value pass holds its loads
// as loaded (VR) and widens them at the product: widened at the load, the U loads in flight a thread
// holds took twice the registers and the f16 cache's attention ran 60–70 % slower than f32's
// (bench/results/h200/decode19/). After f16_bits.wgsl (pack_f16).
alias KK = vec4<u32>;
alias KV = vec2<u32>;
alias VR = vec2<u32>;

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
