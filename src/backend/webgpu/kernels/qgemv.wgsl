// Decode matmul on packed weights (T ≤ MAXT): out[t, col0 + m0 + r] (+)= Σ_c x[t, c] · Ŵ[r, c] (+ bias),
// Ŵ decoded in registers from the codes and q_stats (a qstats_* file), columns in layout
// order (x already gathered by perm). A unit's words are loaded as stored; in an interleaved
// int2/4/8 image (qcodes.wgsl) each 8-code piece then reads the inputs of the columns it covers.
//
// Work split: a workgroup is WG / TPR row groups of TPR threads (one subgroup when the
// device has them); a row group owns R consecutive rows, so each x value loaded serves R
// rows. A thread walks the rows' codes in units of U codes (the smallest run that fills whole
// vec4<u32>s: V = U·Q_BITS/128 16-byte loads per row; 32 codes at 4 and 8 bits, 64 at 2, 128 at
// 3), stride TPR units, so the TPR threads of a row group read TPR·16·V contiguous bytes per
// row per step. Per 8 codes and row: one (scale, zero) (cached while the group is unchanged),
// acc += scale·(Σ code·x − zero·Σx), Σx once per 8 columns for all R rows; 4- and 8-bit codes
// are widened four at a time by unpack4xU8. SpQR's outliers (FUSED_OUTLIERS) are added by the
// same threads from the row's CSR entries before the row sum (row_sum from a gemv_reduce_* file).
// Header: R, TPR, WG, MAXT, FUSED_OUTLIERS and the format's Q_* constants (wgslConstants);
// bias, vec4 x loads and vec4 code loads are uniform flags, so one pipeline serves every shape. Grid: x over ceil(rows / (R·WG/TPR)).
struct Params {
  T: u32,
  K: u32,
  ldo: u32,
  m0: u32,
  rows: u32,
  // bit 0: bias; bit 1: K % 4 == 0 (vec4 x loads); bit 2: row words % 4 == 0 (vec4 code loads);
  // bit 3: out += instead of =
  flags: u32,
  col0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const U: u32 = select(select(128u, 64u, Q_BITS % 2u == 0u), 32u, Q_BITS % 4u == 0u);
const V: u32 = U * Q_BITS / 128u;
const UW: u32 = 4u * V;

fn x_at(t: u32, k: u32) -> f32 {
  if (k >= p.K) {
    return 0.0;
  }
  let e = t * p.K + k;
  return x[e >> 2u][e & 3u];
}

// x[t, k … k+3], k % 4 == 0, zero past K.
fn x_vec4(t: u32, k: u32) -> vec4<f32> {
  if ((p.flags & 2u) != 0u && k + 4u <= p.K) {
    return x[(t * p.K + k) >> 2u];
  }
  return vec4<f32>(x_at(t, k), x_at(t, k + 1u), x_at(t, k + 2u), x_at(t, k + 3u));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let lane = lid % TPR;
  let r0 = (wid.x * (WG / TPR) + lid / TPR) * R;
  // token 0's sums in their own array (indexed by the unrolled row loop only, so they stay in
  // registers); tokens 1 … T−1 (batched decode) in `acc`, indexed by the runtime token count
  var acc0: array<f32, R>;
  var acc: array<f32, MAXT * R>;
  for (var i = 0u; i < R; i++) {
    acc0[i] = 0.0;
  }
  for (var i = 0u; i < MAXT * R; i++) {
    acc[i] = 0.0;
  }
  let rowWords = q_row_words(p.K, Q_BITS);
  let nGroups = (p.K + Q_GROUP_SIZE - 1u) / Q_GROUP_SIZE;
  let codes = q_off(0u);
  let nUnits = (p.K + U - 1u) / U;
  let vec = (p.flags & 4u) != 0u;
  var gc: array<u32, R>;
  var sz: array<vec2<f32>, R>;
  for (var i = 0u; i < R; i++) {
    gc[i] = 0xffffffffu;
  }
  for (var u = lane; u < nUnits; u += TPR) {
    let c0 = u * U;
    var uw: array<u32, UW * R>;
    for (var i = 0u; i < R; i++) {
      let base = codes + min(r0 + i, p.rows - 1u) * rowWords + c0 * Q_BITS / 32u;
      for (var v = 0u; v < V; v++) {
        var q: vec4<u32>;
        if (vec) {
          q = w[(base >> 2u) + v];
        } else {
          let b = base + 4u * v;
          q = vec4<u32>(q_word(b), q_word(b + 1u), q_word(b + 2u), q_word(b + 3u));
        }
        for (var k = 0u; k < 4u; k++) {
          uw[i * UW + v * 4u + k] = q[k];
        }
      }
    }
    for (var j = 0u; j < U / 8u; j++) {
      // the piece's columns: c … c + 3 and cb … cb + 3 (apart in an interleaved int8 superchunk)
      var c = c0 + j * 8u;
      var cb = c + 4u;
      if (Q_ILV != 0u) {
        let sw0 = c0 / Q_CPW; // the unit's first stored word
        if (Q_BITS == 8u) {
          c = q_word_col(sw0 + 2u * j, p.K);
          cb = q_word_col(sw0 + 2u * j + 1u, p.K);
        } else {
          c = q_word_col(sw0 + j * Q_BITS / 4u, p.K) + (j * 8u) % Q_CPW;
          cb = c + 4u;
        }
      }
      // per row: the 8 codes (or, for groups not a multiple of 8, the dequantized weights),
      // the group's scale and zero; then per token acc += scale·(Σ code·x − zero·Σ x)
      var wa: array<vec4<f32>, R>;
      var wb: array<vec4<f32>, R>;
      var ws: array<f32, R>;
      var wz: array<f32, R>;
      for (var i = 0u; i < R; i++) {
        let r = min(r0 + i, p.rows - 1u);
        if (Q_BITS == 4u) {
          let word = uw[i * UW + j];
          let lo = vec4<f32>(unpack4xU8(word & 0x0f0f0f0fu));
          let hi = vec4<f32>(unpack4xU8((word >> 4u) & 0x0f0f0f0fu));
          wa[i] = vec4<f32>(lo.x, hi.x, lo.y, hi.y);
          wb[i] = vec4<f32>(lo.z, hi.z, lo.w, hi.w);
        } else if (Q_BITS == 8u) {
          wa[i] = vec4<f32>(unpack4xU8(uw[i * UW + 2u * j]));
          wb[i] = vec4<f32>(unpack4xU8(uw[i * UW + 2u * j + 1u]));
        } else if (Q_P3 != 0u) {
          // 3-bit chunks as qcodes.wgsl's Q_P3: code e of the unit in chunk e / 32
          var cf: array<f32, 8>;
          for (var e = 0u; e < 8u; e++) {
            let wi = i * UW + ((j * 8u + e) / 32u) * 3u;
            cf[e] = f32(p3_code(uw[wi], uw[wi + 1u], uw[wi + 2u], (j * 8u + e) % 32u));
          }
          wa[i] = vec4<f32>(cf[0], cf[1], cf[2], cf[3]);
          wb[i] = vec4<f32>(cf[4], cf[5], cf[6], cf[7]);
        } else {
          var cf: array<f32, 8>;
          for (var e = 0u; e < 8u; e++) {
            let bit = (j * 8u + e) * Q_BITS;
            let wi = i * UW + (bit >> 5u);
            let s = bit & 31u;
            var v = uw[wi] >> s;
            if (s + Q_BITS > 32u) {
              v |= uw[wi + 1u] << (32u - s);
            }
            cf[e] = f32(v & Q_MASK);
          }
          wa[i] = vec4<f32>(cf[0], cf[1], cf[2], cf[3]);
          wb[i] = vec4<f32>(cf[4], cf[5], cf[6], cf[7]);
        }
        if (Q_GROUP_SIZE % 8u == 0u) {
          let g = min(c / Q_GROUP_SIZE, nGroups - 1u);
          if (g != gc[i]) {
            gc[i] = g;
            sz[i] = q_stats(g, r);
          }
          ws[i] = sz[i].x;
          wz[i] = sz[i].y;
        } else {
          for (var e = 0u; e < 4u; e++) {
            let sa = q_stats(min((c + e) / Q_GROUP_SIZE, nGroups - 1u), r);
            wa[i][e] = sa.x * (wa[i][e] - sa.y);
            let sb = q_stats(min((c + 4u + e) / Q_GROUP_SIZE, nGroups - 1u), r);
            wb[i][e] = sb.x * (wb[i][e] - sb.y);
          }
          ws[i] = 1.0;
          wz[i] = 0.0;
        }
      }
      let xa0 = x_vec4(0u, c);
      let xb0 = x_vec4(0u, cb);
      let sx0 = dot(xa0 + xb0, vec4<f32>(1.0));
      for (var i = 0u; i < R; i++) {
        acc0[i] += ws[i] * (dot(wa[i], xa0) + dot(wb[i], xb0) - wz[i] * sx0);
      }
      for (var t = 1u; t < p.T; t++) {
        let xa = x_vec4(t, c);
        let xb = x_vec4(t, cb);
        let sx = dot(xa + xb, vec4<f32>(1.0));
        for (var i = 0u; i < R; i++) {
          acc[t * R + i] += ws[i] * (dot(wa[i], xa) + dot(wb[i], xb) - wz[i] * sx);
        }
      }
    }
  }
  if (FUSED_OUTLIERS) {
    for (var i = 0u; i < R; i++) {
      let r = r0 + i;
      if (r < p.rows) {
        let e1 = q_word(q_off(5u) + r + 1u);
        for (var e = q_word(q_off(5u) + r) + lane; e < e1; e += TPR) {
          let pr = q_word(q_off(6u) + e); // column | fp16 value << 16 (webgpu/packed.ts)
          let col = pr & 0xffffu;
          let val = unpack2x16float(pr).y;
          acc0[i] += val * x_at(0u, col);
          for (var t = 1u; t < p.T; t++) {
            acc[t * R + i] += val * x_at(t, col);
          }
        }
      }
    }
  }
  for (var t = 0u; t < MAXT; t++) {
    if (t < p.T) {
      for (var i = 0u; i < R; i++) {
        let s = row_sum(select(acc[t * R + i], acc0[i], t == 0u), lid);
        let r = r0 + i;
        if (r < p.rows && lane == 0u) {
          var v = s;
          if ((p.flags & 1u) != 0u) {
            v += bias[p.m0 + r];
          }
          let o = t * p.ldo + p.col0 + p.m0 + r;
          if ((p.flags & 8u) != 0u) {
            v += out[o];
          }
          out[o] = v;
        }
      }
    }
  }
}
