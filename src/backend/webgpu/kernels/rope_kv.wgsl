// RoPE of q and k plus the KV-cache append, from the fused projection output
// (Backend.ropeKv): row t of qkv = (q | k | v), Cq = nHeads·hd, Ckv = nKvHeads·hd.
// Work item j of row t: j < Cq/2 rotates q pair j into q[t]; the next Ckv/2 rotate
// k pairs into kCache[P + t]; the last Ckv/2 copy two v elements into vCache[P + t].
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
@group(0) @binding(5) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(6) var<storage, read_write> vCache: array<f32>;
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
    let dst = P * p.Ckv + e;
    vCache[dst] = qkv[src];
    vCache[dst + 1u] = qkv[src + 1u];
    return;
  }
  let isK = j >= nq;
  if (P >= p.maxPos || (isK && P >= p.S)) {
    return;
  }
  let pair = select(j, j - nq, isK);
  let i = pair % p.half;
  let off = (pair / p.half) * 2u * p.half + i; // head · hd + i
  let src = row + select(0u, p.Cq, isK) + off;
  let tab = P * p.half + i;
  let c = cosT[tab];
  let s = sinT[tab];
  let a = qkv[src];
  let b = qkv[src + p.half];
  let ra = a * c - b * s;
  let rb = b * c + a * s;
  if (isK) {
    kCache[P * p.Ckv + off] = ra;
    kCache[P * p.Ckv + off + p.half] = rb;
  } else {
    q[t * p.Cq + off] = ra;
    q[t * p.Cq + off + p.half] = rb;
  }
}
