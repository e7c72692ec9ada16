// The KV cache as f32 (Backend.attention with f32 caches): the kernel binds the caches k and v as
// array<KV>, one vec4 (four elements of a row-major [S, Ckv] cache) per entry; these read them.
alias KV = vec4<f32>;

// elements 4j … 4j + 3 of the key cache
fn k4(j: u32) -> vec4<f32> {
  return k[j];
}

// element e of the key cache
fn k1(e: u32) -> f32 {
  return k[e / 4u][e % 4u];
}

fn v4(j: u32) -> vec4<f32> {
  return v[j];
}

fn v1(e: u32) -> f32 {
  return v[e / 4u][e % 4u];
}
