// Writes into an f16 KV cache (after f16_bits.wgsl, whose pack_f16 rounds, and kv_f16.wgsl; k and
// v bound read_write): elements e and e + 1 (e even) of a row-major [S, Ckv] cache, as one word of
// k's eight-half or v's four-half entry.

// the values a store of (a, b) keeps, which later reads of the cache see
fn kv_kept(a: f32, b: f32) -> vec2<f32> {
  return unpack2x16float(pack_f16(a, b));
}

fn k_store2(e: u32, a: f32, b: f32) {
  k[e / 8u][(e / 2u) % 4u] = pack_f16(a, b);
}

fn v_store2(e: u32, a: f32, b: f32) {
  v[e / 4u][(e / 2u) % 2u] = pack_f16(a, b);
}
