// The KV cache as f16 (Backend.attention with f16 caches): the kernel binds the caches k and v as
// array<KV>, one vec2<u32> (four halves of a row-major [S, Ckv] cache, element 2i in the low half
// of word i, as webgpu tensors store f16) per entry; these read them widened to f32.
alias KV = vec2<u32>;

fn widen4(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

// elements 4j … 4j + 3 of the key cache
fn k4(j: u32) -> vec4<f32> {
  return widen4(k[j]);
}

// element e of the key cache
fn k1(e: u32) -> f32 {
  return unpack2x16float(k[e / 4u][(e / 2u) % 2u])[e % 2u];
}

fn v4(j: u32) -> vec4<f32> {
  return widen4(v[j]);
}

fn v1(e: u32) -> f32 {
  return unpack2x16float(v[e / 4u][(e / 2u) % 2u])[e % 2u];
}
