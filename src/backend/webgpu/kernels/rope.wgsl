// Rotary embedding in place, HF half-split pairs (i, i + half) in each head.
// Header: WG. Grid: x over (C / 2) pairs, y over T.
struct Params {
  C: u32,
  half: u32,
  pos0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosT: array<f32>;
@group(0) @binding(3) var<storage, read> sinT: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let pair = gid.x;
  let t = gid.y;
  if (pair >= p.C / 2u) {
    return;
  }
  let head = pair / p.half;
  let i = pair % p.half;
  let base = t * p.C + head * 2u * p.half + i;
  let tab = (p.pos0 + t) * p.half + i;
  let c = cosT[tab];
  let s = sinT[tab];
  let a = x[base];
  let b = x[base + p.half];
  x[base] = a * c - b * s;
  x[base + p.half] = b * c + a * s;
}
