// Decode matmul for small T (≤ MAXT): out[t, col0 + m0 + m] (+)= Σ_k x[t, k] · w[m, k] (+ bias).
// Memory-bound: each workgroup owns RW weight rows, TPR threads per row stream
// the row along K eight elements at a time (two vec4 loads), keep one partial
// per token, and reduce across the row's threads (row_sum, from a gemv_reduce_* file).
// Header: RW, TPR, WG = RW·TPR, MAXT, ALIGNED (K % 8 == 0), HAS_BIAS, ACC (out += instead of =).
// Grid: x over ceil(rows / RW).
struct Params {
  T: u32,
  K: u32,
  ldo: u32,
  m0: u32,
  rows: u32,
  col0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let rl = lid / TPR;
  let lane = lid % TPR;
  let r = wid.x * RW + rl;
  let live = r < p.rows;
  var acc: array<f32, MAXT>;
  for (var t = 0u; t < MAXT; t++) {
    acc[t] = 0.0;
  }
  if (live) {
    let wrow = r * p.K;
    if (ALIGNED) {
      for (var k = lane * 8u; k < p.K; k += TPR * 8u) {
        let w0 = w_load4(wrow + k);
        let w1 = w_load4(wrow + k + 4u);
        for (var t = 0u; t < p.T; t++) {
          let xe = (t * p.K + k) >> 2u;
          acc[t] += dot(w0, x[xe]) + dot(w1, x[xe + 1u]);
        }
      }
    } else {
      for (var k = lane; k < p.K; k += TPR) {
        let wv = w_load1(wrow + k);
        for (var t = 0u; t < p.T; t++) {
          let e = t * p.K + k;
          acc[t] += wv * x[e >> 2u][e & 3u];
        }
      }
    }
  }
  for (var t = 0u; t < MAXT; t++) {
    if (t < p.T) {
      let s = row_sum(acc[t], lid);
      if (live && lane == 0u) {
        var v = s;
        if (HAS_BIAS) {
          v += bias[p.m0 + r];
        }
        let o = t * p.ldo + p.col0 + p.m0 + r;
        if (ACC) {
          v += out[o];
        }
        out[o] = v;
      }
    }
  }
}
