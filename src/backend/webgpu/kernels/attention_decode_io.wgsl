// attention_decode.wgsl's inputs when q is rotated already and the new key is in the cache (the
// op `attention`): q [T, Cq], the K and V caches [S, Ckv] (f32 or f16), read only.
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<KK>; // KK, KV: kv_f32.wgsl or kv_f16.wgsl
@group(0) @binding(3) var<storage, read> v: array<KV>;

// The query of head h, row t into qs (zero-padded to whole vec4s).
fn load_q(lid: u32, h: u32, t: u32, P: u32) {
  for (var i = lid; i < HD4 * 4u; i += WG) {
    var x = 0.0;
    if (i < HD) {
      x = q[t * p.Cq + h * HD + i];
    }
    qs[i / 4u][i % 4u] = x;
  }
}

// Every key is read from the cache.
fn new_key(lid: u32, h: u32, t: u32, P: u32) -> bool {
  return false;
}

fn qk_new() -> f32 {
  return 0.0;
}

fn vn_col(c: u32) -> vec4<f32> {
  return vec4<f32>(0.0);
}
