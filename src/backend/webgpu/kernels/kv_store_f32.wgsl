// Writes into an f32 KV cache (after kv_f32.wgsl; k and v bound read_write): elements e and e + 1
// (e even) of a row-major [S, Ckv] cache.

// the values a store of (a, b) keeps: f32 keeps them as they are
fn kv_kept(a: f32, b: f32) -> vec2<f32> {
  return vec2<f32>(a, b);
}
fn k_store2(e: u32, a: f32, b: f32) {
  k[e / 4u][e % 4u] = a;
  k[e / 4u][e % 4u + 1u] = b;
}

fn v_store2(e: u32, a: f32, b: f32) {
  v[e / 4u][e % 4u] = a;
  v[e / 4u][e % 4u + 1u] = b;
}
