// act-order: xp[t, c] = x[t, perm[c]], the activations in the weight's layout column
// order, once per matmul (perm: u16 array number PERM_ARR of the packed tensor).
// Header: WG, PERM_ARR. Grid: 2-D over T·K.
struct Params {
  n: u32,
  K: u32,
  stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> xp: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i < p.n) {
    let t = i / p.K;
    let c = i - t * p.K;
    xp[i] = x[t * p.K + q_u16(q_off(PERM_ARR), c)];
  }
}
