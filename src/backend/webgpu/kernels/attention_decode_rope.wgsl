// attention_decode.wgsl's inputs with RoPE and the KV-cache append folded in (Backend.ropeKvAttention,
// T = 1): q, k and v come raw from the fused projection row qkv = (q | k | v) [T, Cq + 2·Ckv], rotated
// here as rope_kv.wgsl does (HF half-split pairs (i, i + half) of each head, cos/sin row P). Every
// workgroup of a KV head rotates that head's new key into workgroup memory (kn, vn) and uses it
// there; the first query head of the group also writes it to cache row P (attention_flash.wgsl calls
// this in the key split holding row P only), which no workgroup of this dispatch reads (the others
// read rows < P only), so no ordering between workgroups is needed.
// A position at or beyond the cache or the tables writes nothing and attends the cache as stored
// (the host rejects such positions when it knows them).
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<KK>; // KK, KV: kv_f32.wgsl or kv_f16.wgsl
@group(0) @binding(3) var<storage, read_write> v: array<KV>;
@group(0) @binding(6) var<storage, read> cosT: array<f32>;
@group(0) @binding(7) var<storage, read> sinT: array<f32>;

var<workgroup> kn: array<vec4<f32>, HD4>; // the new key, rotated, zero-padded
var<workgroup> vn: array<vec4<f32>, HD4>; // the new value

// Element i (< HD) of the rotated head row that starts at qkv[base], at position P.
fn rot(base: u32, i: u32, P: u32) -> f32 {
  let j = i % p.half;
  let c = cosT[P * p.half + j];
  let s = sinT[P * p.half + j];
  let a = qkv[base + j];
  let b = qkv[base + j + p.half];
  return select(a * c - b * s, b * c + a * s, i >= p.half);
}

fn load_q(lid: u32, h: u32, t: u32, P: u32) {
  let row = t * (p.Cq + 2u * p.Ckv);
  for (var i = lid; i < HD4 * 4u; i += WG) {
    var x = 0.0;
    if (i < HD) {
      x = rot(row + h * HD, i, P);
    }
    qs[i / 4u][i % 4u] = x;
  }
}

fn new_key(lid: u32, h: u32, t: u32, P: u32) -> bool {
  let fresh = P < p.S && P < p.maxPos;
  let kh = h / p.group;
  let row = t * (p.Cq + 2u * p.Ckv);
  let leader = h % p.group == 0u;
  // element pairs (i, i + 1), one cache word each when it is f16 (HD is even)
  for (var i = 2u * lid; i < HD4 * 4u; i += 2u * WG) {
    var kx = vec2<f32>(0.0);
    var vx = vec2<f32>(0.0);
    if (i < HD) {
      // as the cache keeps them (rounded to f16 in an f16 cache), so attention to the new key
      // equals attention to the stored one
      kx = kv_kept(rot(row + p.Cq + kh * HD, i, P), rot(row + p.Cq + kh * HD, i + 1u, P));
      let vo = row + p.Cq + p.Ckv + kh * HD + i;
      vx = kv_kept(qkv[vo], qkv[vo + 1u]);
      if (fresh && leader) {
        let e = P * p.Ckv + kh * HD + i;
        k_store2(e, kx.x, kx.y);
        v_store2(e, vx.x, vx.y);
      }
    }
    kn[i / 4u][i % 4u] = kx.x;
    kn[i / 4u][i % 4u + 1u] = kx.y;
    vn[i / 4u][i % 4u] = vx.x;
    vn[i / 4u][i % 4u + 1u] = vx.y;
  }
  return fresh;
}

fn qk_new() -> f32 {
  var d = 0.0;
  for (var i = 0u; i < HD4; i++) {
    d += dot(qs[i], kn[i]);
  }
  return d;
}

// Value column c of the new value (dim c in x when HD % 4 != 0).
fn vn_col(c: u32) -> vec4<f32> {
  if (VEC) {
    return vn[c];
  }
  return vec4<f32>(vn[c / 4u][c % 4u], 0.0, 0.0, 0.0);
}
