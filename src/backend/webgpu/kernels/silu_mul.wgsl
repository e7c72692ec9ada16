// out = silu(gate) · up = gate / (1 + e^−gate) · up, elementwise. With halves = K > 0, gate and
// up are the two halves of each 2K-float row of one buffer (a fused gate|up projection):
// out[t·ldo + col0 + i] (+)= silu(gate[t·2K + i]) · up[t·2K + K + i] (ACC: +=), i < K.
// Header: WG, ACC. Grid: 2-D over n (x · y workgroups cover it).
struct Params {
  n: u32,
  stride: u32,
  halves: u32,
  ldo: u32,
  col0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * p.stride;
  if (i >= p.n) {
    return;
  }
  var gi = i;
  var ui = i;
  var oi = i;
  if (p.halves > 0u) {
    let t = i / p.halves;
    let j = i - t * p.halves;
    gi = i + t * p.halves;
    ui = gi + p.halves;
    oi = t * p.ldo + p.col0 + j;
  }
  let g = gate[gi];
  var s = g / (1.0 + exp(-g)) * up[ui];
  if (ACC) {
    s += out[oi];
  }
  out[oi] = s;
}
