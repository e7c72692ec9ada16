// Decode matmul for one token: out[col0 + m0 + r] (+)= Σ_k xin[k] · w[r, k] (+ bias[m0 + r]),
// with the sublayer's neighbours folded in (header flags):
//   NORM:  xin = rmsnorm(x) = x · nw / sqrt(mean(x²) + eps). Σ_k w·x·nw and Σ_k x² are
//          accumulated in the same pass and the row is scaled once at the end, so the norm costs
//          no extra pass over x and no extra dispatch.
//   GATED: x = (gate | up), 2K floats; xin = silu(gate) · up (SwiGLU into the down projection).
//   ACC:   out += instead of = (the residual add).
//   GLU:   w is (gate | up), 2·rows rows; output r is silu(y[r])·y[rows + r] (SwiGLU out of the
//          gate|up projection): a thread group owns RT gate rows and their RT up rows (NR = 2·RT).
// Memory-bound: a group of TPR threads (one subgroup on most GPUs) owns RT rows; a thread reads 8
// weights (16 bytes of bf16/f16) of each of its RT rows per step and issues UNROLL independent
// steps before using any, so enough loads are in flight to saturate HBM at batch 1. The RT rows
// share each x load and its norm / SwiGLU transform, so x costs 1/RT of a load (and of an exp)
// per weight load instead of one.
// Header: RW (thread groups per workgroup), TPR, WG = RW·TPR, RT (rows or GLU units per thread
// group), NR (weight rows per group: RT, or 2·RT with GLU), UNROLL, ALIGNED (K % 8 == 0), HAS_BIAS,
// NORM, GATED, ACC, GLU; w_load1/w_load8 from a wload_* file; row_sum
// from a gemv_reduce_* file. Grid: x over ceil(rows / (RW·RT)).
struct Params {
  K: u32,
  m0: u32,
  rows: u32,
  col0: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> nw: array<vec4<f32>>;

fn silu4(g: vec4<f32>) -> vec4<f32> {
  return g / (vec4<f32>(1.0) + exp(-g));
}

fn x_at(k: u32) -> f32 {
  return x[k >> 2u][k & 3u];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let lane = lid % TPR;
  let r0 = (wid.x * RW + lid / TPR) * RT;
  var wrow: array<u32, NR>;
  for (var t = 0u; t < NR; t++) {
    var row = min(r0 + t % RT, p.rows - 1u); // dead rows read a live one and discard the result
    if (GLU && t >= RT) {
      row += p.rows; // the up row of unit t − RT
    }
    wrow[t] = row * p.K;
  }
  var acc: array<f32, NR>;
  var ss = 0.0;
  if (ALIGNED) {
    let step = TPR * 8u;
    for (var k0 = lane * 8u; k0 < p.K; k0 += step * UNROLL) {
      var wv: array<array<array<vec4<f32>, 2>, NR>, UNROLL>;
      for (var u = 0u; u < UNROLL; u++) {
        let k = min(k0 + u * step, p.K - 8u);
        for (var t = 0u; t < NR; t++) {
          wv[u][t] = w_load8(wrow[t] + k);
        }
      }
      for (var u = 0u; u < UNROLL; u++) {
        let k = k0 + u * step;
        if (k < p.K) {
          let e = k >> 2u;
          var xa = x[e];
          var xb = x[e + 1u];
          if (GATED) {
            let f = p.K >> 2u;
            xa = silu4(xa) * x[e + f];
            xb = silu4(xb) * x[e + f + 1u];
          }
          if (NORM) {
            ss += dot(xa, xa) + dot(xb, xb);
            xa *= nw[e];
            xb *= nw[e + 1u];
          }
          for (var t = 0u; t < NR; t++) {
            acc[t] += dot(wv[u][t][0], xa) + dot(wv[u][t][1], xb);
          }
        }
      }
    }
  } else {
    for (var k = lane; k < p.K; k += TPR) {
      var xv = x_at(k);
      if (GATED) {
        let g = xv;
        xv = g / (1.0 + exp(-g)) * x_at(p.K + k);
      }
      if (NORM) {
        ss += xv * xv;
        xv *= nw[k >> 2u][k & 3u];
      }
      for (var t = 0u; t < NR; t++) {
        acc[t] += w_load1(wrow[t] + k) * xv;
      }
    }
  }
  var scale = 1.0;
  if (NORM) {
    scale = 1.0 / sqrt(row_sum(ss, lid) / f32(p.K) + p.eps);
  }
  for (var t = 0u; t < RT; t++) {
    var s = row_sum(acc[t], lid) * scale;
    var up = 0.0;
    if (GLU) {
      up = row_sum(acc[RT + t], lid) * scale;
    }
    let r = r0 + t;
    if (r < p.rows && lane == 0u) {
      if (HAS_BIAS) {
        s += bias[p.m0 + r];
        if (GLU) {
          up += bias[p.m0 + p.rows + r];
        }
      }
      if (GLU) {
        s = s / (1.0 + exp(-s)) * up;
      }
      let o = p.col0 + p.m0 + r;
      if (ACC) {
        s += out[o];
      }
      out[o] = s;
    }
  }
}
