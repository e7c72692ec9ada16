// Decode matmul on int2/3/4/8 packed weights, one token: out[col0 + r] (+)= Σ_c xin[c] · Ŵ[r, c]
// (+ bias[r]), Ŵ = scale · (code − zero) decoded in registers (qstats_int.wgsl), with the same
// folded neighbours as gemv1.wgsl (NORM, GATED, ACC). For groups that are whole multiples of
// 32 columns (or one group per row) and unpermuted codes; qgemv.wgsl serves the rest.
//
// Work split: a chunk is 32 consecutive codes of a row (Q_BITS words, 16 bytes at 4 bits), all in
// one group. A thread owns R rows and walks chunks c = lane, lane + TPR, …, CU chunks per step:
// it loads the CU × R chunks' codes first (independent loads in flight), then per chunk the 32
// inputs once, so each x value serves R rows, and adds scale·(Σ code·x − zero·Σ x) per row. TPR
// threads per row group, RG row groups per workgroup. Header: R, TPR, RG, WG = TPR·RG, CU, NORM,
// GATED, ACC, HAS_BIAS and the format's Q_* constants. Grid: x over ceil(rows / (R·RG)).
struct Params {
  K: u32,
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

// Σ_e code[e] · xs[e] over one 32-code chunk whose words are cw.
fn chunk_dot(cw: array<u32, Q_BITS>, xs: array<vec4<f32>, 8>) -> f32 {
  var s = 0.0;
  if (Q_BITS == 4u) {
    for (var i = 0u; i < 4u; i++) {
      let word = cw[i];
      let lo = vec4<f32>(unpack4xU8(word & 0x0f0f0f0fu)); // codes 0, 2, 4, 6 of the word
      let hi = vec4<f32>(unpack4xU8((word >> 4u) & 0x0f0f0f0fu)); // codes 1, 3, 5, 7
      let a = xs[2u * i];
      let b = xs[2u * i + 1u];
      s += dot(lo, vec4<f32>(a.x, a.z, b.x, b.z)) + dot(hi, vec4<f32>(a.y, a.w, b.y, b.w));
    }
  } else if (Q_BITS == 8u) {
    for (var i = 0u; i < 8u; i++) {
      s += dot(vec4<f32>(unpack4xU8(cw[i])), xs[i]);
    }
  } else {
    for (var e = 0u; e < 32u; e++) {
      let bit = e * Q_BITS;
      let wi = bit >> 5u;
      let sh = bit & 31u;
      var v = cw[wi] >> sh;
      if (sh + Q_BITS > 32u) {
        v |= cw[wi + 1u] << (32u - sh);
      }
      s += f32(v & Q_MASK) * xs[e >> 2u][e & 3u];
    }
  }
  return s;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let lane = lid % TPR;
  let r0 = (wid.x * RG + lid / TPR) * R;
  let rowWords = q_row_words(p.K, Q_BITS);
  let codes = q_off(0u);
  let nChunks = p.K / 32u;
  let chunksPerGroup = min(Q_GROUP_SIZE, p.K) / 32u;
  var acc: array<f32, R>;
  for (var i = 0u; i < R; i++) {
    acc[i] = 0.0;
  }
  var ss = 0.0;
  for (var c0 = lane; c0 < nChunks; c0 += TPR * CU) {
    // the codes of CU chunks × R rows first (independent loads in flight), then each chunk's inputs
    var cws: array<array<array<u32, Q_BITS>, R>, CU>;
    for (var u = 0u; u < CU; u++) {
      let cu = min(c0 + u * TPR, nChunks - 1u); // past the end: reload the last chunk, unused
      for (var i = 0u; i < R; i++) {
        let base = codes + min(r0 + i, p.rows - 1u) * rowWords + cu * Q_BITS;
        if (Q_BITS % 4u == 0u) {
          for (var v = 0u; v < Q_BITS / 4u; v++) {
            let q = w[(base >> 2u) + v];
            cws[u][i][4u * v] = q.x;
            cws[u][i][4u * v + 1u] = q.y;
            cws[u][i][4u * v + 2u] = q.z;
            cws[u][i][4u * v + 3u] = q.w;
          }
        } else {
          for (var v = 0u; v < Q_BITS; v++) {
            cws[u][i][v] = q_word(base + v);
          }
        }
      }
    }
    for (var u = 0u; u < CU; u++) {
      let c = c0 + u * TPR;
      if (c >= nChunks) {
        break;
      }
      let cw = cws[u];
      var xs: array<vec4<f32>, 8>;
      let e0 = c * 8u;
      for (var j = 0u; j < 8u; j++) {
        var xv = x[e0 + j];
        if (GATED) {
          xv = silu4(xv) * x[e0 + j + (p.K >> 2u)];
        }
        if (NORM) {
          ss += dot(xv, xv);
          xv *= nw[e0 + j];
        }
        xs[j] = xv;
      }
      let sx = dot(xs[0] + xs[1] + xs[2] + xs[3] + xs[4] + xs[5] + xs[6] + xs[7], vec4<f32>(1.0));
      let g = c / chunksPerGroup;
      for (var i = 0u; i < R; i++) {
        let st = q_stats(g, min(r0 + i, p.rows - 1u), p.rows);
        acc[i] += st.x * (chunk_dot(cw[i], xs) - st.y * sx);
      }
    }
  }
  var inv = 1.0;
  if (NORM) {
    inv = 1.0 / sqrt(row_sum(ss, lid) / f32(p.K) + p.eps);
  }
  for (var i = 0u; i < R; i++) {
    var s = row_sum(acc[i], lid) * inv;
    let r = r0 + i;
    if (r < p.rows && lane == 0u) {
      if (HAS_BIAS) {
        s += bias[r];
      }
      let o = p.col0 + r;
      if (ACC) {
        s += out[o];
      }
      out[o] = s;
    }
  }
}
