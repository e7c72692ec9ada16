// RoPE of q and k plus the KV-cache append, from the fused projection output
// (Backend.ropeKv): row t of qkv = (q | k | v), Cq = nHeads·hd, Ckv = nKvHeads·hd.
// Work item j of row t: j < Cq/2 rotates q pair j into q[t]; the next Ckv/2 rotate
// k elements 2w and 2w + 1 into the key cache row P + t; the last Ckv/2 copy v elements
// 2w and 2w + 1 into the value cache row (an f32 cache, or one word of an f16 one: the
// caches k and v and k_store2 / v_store2 come from kv_f32.wgsl + kv_store_f32.wgsl or
// kv_f16.wgsl + kv_store_f16.wgsl).
// P = pos0 + pos[0] (pos: the op's device position or a zero word), so the grid
// does not depend on the position. Rotation as rope.wgsl (HF half-split pairs
// (i, i + half) in each head). Positions at or beyond the cache (S) or the table
// (maxPos) write nothing; the host rejects them when it knows the position.
// Header: WG. Grid: x over Cq/2 + Ckv work items, y over T.
struct Params {
  Cq: u32,
  Ckv: u32,
  half: u32,
  pos0: u32,
  S: u32,
  maxPos: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;
@group(0) @binding(4) var<storage, read_write> q: array<f32>;
@group(0) @binding(5) var<storage, read_write> k: array<KK>;
@group(0) @binding(6) var<storage, read_write> v: array<KV>;
@group(0) @binding(7) var<storage, read> pos: array<i32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let t = gid.y;
  let nq = p.Cq / 2u;
  let nk = p.Ckv / 2u;
  if (j >= nq + p.Ckv) {
    return;
  }
  let P = u32(max(i32(p.pos0) + pos[0], 0)) + t; // this row's position
  let row = t * (p.Cq + 2u * p.Ckv);
  if (j >= nq + nk) {
    // v: two elements, copied
    if (P >= p.S) {
      return;
    }
    let e = 2u * (j - nq - nk);
    let src = row + p.Cq + p.Ckv + e;
    v_store2(P * p.Ckv + e, qkv[src], qkv[src + 1u]);
    return;
  }
  let isK = j >= nq;
  if (P >= p.maxPos || (isK && P >= p.S)) {
    return;
  }
  if (isK) {
    // k: elements e and e + 1 of the row, each rotated with its partner half a head away
    let e = 2u * (j - nq);
    let src = row + p.Cq;
    k_store2(P * p.Ckv + e, rot_k(src, e, P), rot_k(src, e + 1u, P));
    return;
  }
  let i = j % p.half;
  let off = (j / p.half) * 2u * p.half + i; // head · hd + i
  let tab = P * p.half + i;
  let c = cosT[tab];
  let s = sinT[tab];
  let a = qkv[row + off];
  let b = qkv[row + off + p.half];
  q[t * p.Cq + off] = a * c - b * s;
  q[t * p.Cq + off + p.half] = b * c + a * s;
}

// element e (< Ckv) of the rotated k part that starts at qkv[src], at position P
fn rot_k(src: u32, e: u32, P: u32) -> f32 {
  let i = e % (2u * p.half);
  let m = i % p.half;
  let hb = src + e - i; // the head's first element
  let c = cosT[P * p.half + m];
  let s = sinT[P * p.half + m];
  let a = qkv[hb + m];
  let b = qkv[hb + m + p.half];
  return select(a * c - b * s, b * c + a * s, i >= p.half);
}
