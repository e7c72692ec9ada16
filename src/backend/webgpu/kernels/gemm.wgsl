// out[t, col0 + m0 + m] (+)= Σ_k x[t, k] · w[m, k] (+ bias[m0 + m]) for one weight chunk of `rows` rows.
// Tiled, register-blocked: a workgroup computes a BM×BN block of out (BM rows of
// x, BN rows of w), walking K in steps of BK through shared memory stored
// k-major as vec4s; each thread owns a TM×TN register tile. The next tile's
// global loads are prefetched into registers during the current tile's math.
// Header: BM, BN, BK, TM, TN (TM, TN, BK multiples of 4), WG = (BM/TM)·(BN/TN),
// ALIGNED (K % 4 == 0: vec4 global loads), HAS_BIAS, ACC (out += instead of =). Weight access from a wload_* file.
// Grid: x over ceil(rows/BN), y over ceil(T/BM).
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

const BM4 = BM / 4u;
const BN4 = BN / 4u;
const TM4 = TM / 4u;
const TN4 = TN / 4u;
const BK4 = BK / 4u;
const LX = (BM * BK4 + WG - 1u) / WG; // vec4 loads per thread per K tile
const LW = (BN * BK4 + WG - 1u) / WG;

var<workgroup> xs: array<vec4<f32>, BK * BM4>; // (k, m) at [k·BM4 + m/4][m%4]
var<workgroup> ws: array<vec4<f32>, BK * BN4>;

fn x_load4(t: u32, k: u32) -> vec4<f32> {
  if (t >= p.T) {
    return vec4<f32>(0.0);
  }
  let e = t * p.K + k;
  if (ALIGNED) {
    return select(vec4<f32>(0.0), x[e >> 2u], k < p.K);
  }
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) {
      v[c] = x[(e + c) >> 2u][(e + c) & 3u];
    }
  }
  return v;
}

fn wt_load4(r: u32, k: u32) -> vec4<f32> {
  if (r >= p.rows) {
    return vec4<f32>(0.0);
  }
  let e = r * p.K + k;
  if (ALIGNED) {
    return select(vec4<f32>(0.0), w_load4(e), k < p.K);
  }
  var v = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) {
      v[c] = w_load1(e + c);
    }
  }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t0 = wid.y * BM;
  let r0 = wid.x * BN;
  let tx = lid % (BN / TN);
  let ty = lid / (BN / TN);
  var acc: array<array<vec4<f32>, TN4>, TM>;
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN4; j++) {
      acc[i][j] = vec4<f32>(0.0);
    }
  }
  // register prefetch (software double buffering): the next K tile's global
  // loads are issued before this tile's math, and stored to shared memory after it
  var xr: array<vec4<f32>, LX>;
  var wr: array<vec4<f32>, LW>;
  for (var u = 0u; u < LX; u++) {
    let l = min(lid + u * WG, BM * BK4 - 1u);
    xr[u] = x_load4(t0 + l / BK4, (l % BK4) * 4u);
  }
  for (var u = 0u; u < LW; u++) {
    let l = min(lid + u * WG, BN * BK4 - 1u);
    wr[u] = wt_load4(r0 + l / BK4, (l % BK4) * 4u);
  }
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // registers → shared, transposed to k-major
    for (var u = 0u; u < LX; u++) {
      let l = lid + u * WG;
      if (l >= BM * BK4) {
        break;
      }
      let r = l / BK4;
      let kq = (l % BK4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        xs[(kq + c) * BM4 + r / 4u][r % 4u] = xr[u][c];
      }
    }
    for (var u = 0u; u < LW; u++) {
      let l = lid + u * WG;
      if (l >= BN * BK4) {
        break;
      }
      let r = l / BK4;
      let kq = (l % BK4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        ws[(kq + c) * BN4 + r / 4u][r % 4u] = wr[u][c];
      }
    }
    workgroupBarrier();
    let k1 = k0 + BK;
    if (k1 < p.K) {
      for (var u = 0u; u < LX; u++) {
        let l = min(lid + u * WG, BM * BK4 - 1u);
        xr[u] = x_load4(t0 + l / BK4, k1 + (l % BK4) * 4u);
      }
      for (var u = 0u; u < LW; u++) {
        let l = min(lid + u * WG, BN * BK4 - 1u);
        wr[u] = wt_load4(r0 + l / BK4, k1 + (l % BK4) * 4u);
      }
    }
    for (var k = 0u; k < BK; k++) {
      var a: array<vec4<f32>, TM4>;
      var b: array<vec4<f32>, TN4>;
      for (var i = 0u; i < TM4; i++) {
        a[i] = xs[k * BM4 + ty * TM4 + i];
      }
      for (var j = 0u; j < TN4; j++) {
        b[j] = ws[k * BN4 + tx * TN4 + j];
      }
      for (var i = 0u; i < TM; i++) {
        let av = a[i / 4u][i % 4u];
        for (var j = 0u; j < TN4; j++) {
          acc[i][j] = fma(vec4<f32>(av), b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let t = t0 + ty * TM + i;
    if (t >= p.T) {
      break;
    }
    for (var j = 0u; j < TN4; j++) {
      for (var c = 0u; c < 4u; c++) {
        let r = r0 + tx * TN + j * 4u + c;
        if (r < p.rows) {
          var v = acc[i][j][c];
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
}
