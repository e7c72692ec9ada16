// Decode matmul on an int2/4/8 GPU image with lane-interleaved codes (qcodes.wgsl, Q_ILV), one
// token: out[col0 + r] (+)= Σ_c xin[c] · Ŵ[r, c] (+ bias[r]), Ŵ = scale · (code − zero) decoded in
// registers (qdot.wgsl), with the same folded neighbours as gemv1.wgsl: NORM, GATED, ACC, and GLU
// (the weight is gate | up, 2·rows rows; out[col0 + r] (+)= silu(y[r]) · y[rows + r]).
//
// Work split, as gemv1.wgsl's: a thread group of TPR threads (one subgroup) owns R output rows
// (NR weight rows: R, or R gate and their R up rows with GLU). Lane l walks its rows' stored
// chunks c = l, l + TPR, … (32 codes: Q_BITS words, one 16-byte load at 4 bits), UN chunks per
// step with every code and statistics load of the step issued before any product, so the group
// reads TPR consecutive chunks of each row per load. In a whole superchunk the chunk's word k
// covers Q_CPW columns of the superchunk's k-th band, beside the other three lanes' words k, so
// the lane reads its 32 inputs (norm weight or SwiGLU applied) straight from global memory at
// addresses that neighbour theirs: x is small and stays cached, and there is no workgroup
// memory or barrier in the loop. The statistics: NS sets of a chunk's words per row, each set in
// one group (one set when groups are whole superchunks).
// Header: R, TPR, RG, WG = TPR·RG, NR, UN, F16SUB (f16 subnormals kept: qdot's word_dot_sub4 / word_dot_sub2 at 4 / 2 bits), NORM, GATED, ACC, HAS_BIAS, GLU, NORM_OUT, PREP (qgemv1_io) and the format's Q_*
// constants; qpacked, qheader_uniform, qstats_int, qcodes, qdot, gemv_reduce_* and
// gemv_reduce_rows_* files and qgemv1_io before it (uniforms, bindings, weight_rows, prior_rows,
// store_rows). Grid: x over ceil(rows / (R·RG)).
// Statistics sets per chunk: NS sets of WPS consecutive words, the lane's codes of each set in one
// group. Groups of whole superchunks: one set. Groups of 32 or 64 columns: words m·WPS … cover the
// band 128·m/NS … of the superchunk, one group for NS = 128/G; at 2 bits (NS capped at Q_BITS) a
// set per word, whose 16 columns lie in one group. Other groups of whole chunks: a set per word.
const NS: u32 = select(select(Q_BITS, min(Q_BITS, 128u / Q_GROUP_SIZE), 128u % Q_GROUP_SIZE == 0u), 1u, Q_GROUP_SIZE % 128u == 0u);
const WPS: u32 = Q_BITS / NS;
// int4 / int2 with F16SUB (the device keeps f16 subnormals): word_dot_sub4, d = 2^-20·Σ code·x,
// or word_dot_sub2, d = 2^-18·Σ code·x; else word_dot_acc, d = Σ (1 + code/2^b)·x. Either way
// Σ code·x = D_MUL·d − D_OFF·Σ x.
const SUB4: bool = F16SUB && Q_BITS == 4u;
const SUB2: bool = F16SUB && Q_BITS == 2u;
const D_MUL: f32 = select(select(SCALE_B, 262144.0, SUB2), 1048576.0, SUB4);
const D_OFF: f32 = select(SCALE_B, 0.0, SUB4 || SUB2);

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let lane = lid % TPR;
  let r0 = (wid.x * RG + lid / TPR) * R;
  let rowWords = q_row_words(p.K, Q_BITS);
  let codes = q_off(0u);
  let nChunks = p.K / 32u;
  let K4 = p.K / 4u;
  let wrow = weight_rows(r0);
  let prior = prior_rows(r0);
  let nn = next_norm_rows(r0);
  var acc: array<f32, NR>;
  for (var t = 0u; t < NR; t++) {
    acc[t] = 0.0;
  }
  var ss = prep_ss(lane, TPR); // PREP: the producer's partial sums; else Σ x² as the lanes read x
  for (var c0 = lane; c0 < nChunks; c0 += TPR * UN) {
    // 1. codes and statistics of UN chunks × NR rows
    var cw: array<array<array<u32, Q_BITS>, NR>, UN>;
    var st: array<array<array<vec2<f32>, NS>, NR>, UN>;
    for (var u = 0u; u < UN; u++) {
      let c = min(c0 + u * TPR, nChunks - 1u); // past the end: reload the last chunk, unused
      for (var t = 0u; t < NR; t++) {
        let base = codes + wrow[t] * rowWords + c * Q_BITS;
        if (Q_BITS % 4u == 0u) {
          for (var v = 0u; v < Q_BITS / 4u; v++) {
            let q = w[(base >> 2u) + v];
            cw[u][t][4u * v] = q.x;
            cw[u][t][4u * v + 1u] = q.y;
            cw[u][t][4u * v + 2u] = q.z;
            cw[u][t][4u * v + 3u] = q.w;
          }
        } else {
          for (var k = 0u; k < Q_BITS; k++) {
            cw[u][t][k] = q_word(base + k);
          }
        }
        for (var m = 0u; m < NS; m++) {
          st[u][t][m] = q_stats(q_word_col(c * Q_BITS + m * WPS, p.K) / Q_GROUP_SIZE, wrow[t]);
        }
      }
    }
    // 2. per chunk and word: the word's inputs, then its products for the NR rows (every loop
    // bound a constant: the arrays stay in registers)
    for (var u = 0u; u < UN; u++) {
      let c = c0 + u * TPR;
      if (c < nChunks) {
        var d = array<array<f32, NS>, NR>(); // Σ (1 + code/2^b)·x per row and statistics set
        var sx = array<f32, NS>(); // Σ x per set
        for (var k = 0u; k < Q_BITS; k++) {
          let v0 = q_word_col(c * Q_BITS + k, p.K) / 4u;
          var xv = array<vec4<f32>, 4>();
          for (var e = 0u; e < Q_VPW; e++) {
            let v = v0 + e;
            var xe = x[v];
            if (GATED) {
              xe = silu4(xe) * x[v + K4];
            }
            if (NORM && !PREP) {
              ss += dot(xe, xe);
              xe *= nw[v];
            }
            xv[e] = xe;
          }
          sx[k / WPS] += dot(xv[0] + xv[1] + xv[2] + xv[3], vec4<f32>(1.0));
          if (SUB4) {
            xv[0] *= vec4<f32>(16.0, 1.0, 16.0, 1.0);
            xv[1] *= vec4<f32>(16.0, 1.0, 16.0, 1.0);
          }
          if (SUB2) {
            for (var e = 0u; e < 4u; e++) {
              xv[e] *= vec4<f32>(64.0, 16.0, 4.0, 1.0);
            }
          }
          for (var t = 0u; t < NR; t++) {
            if (SUB4) {
              d[t][k / WPS] = word_dot_sub4(cw[u][t][k], xv, d[t][k / WPS]);
            } else if (SUB2) {
              d[t][k / WPS] = word_dot_sub2(cw[u][t][k], xv, d[t][k / WPS]);
            } else {
              d[t][k / WPS] = word_dot_acc(cw[u][t][k], xv, d[t][k / WPS]);
            }
          }
        }
        for (var t = 0u; t < NR; t++) {
          for (var m = 0u; m < NS; m++) {
            let sz = st[u][t][m];
            acc[t] += sz.x * (D_MUL * d[t][m] - (D_OFF + sz.y) * sx[m]);
          }
        }
      }
    }
  }
  var inv = 1.0;
  if (NORM) {
    // the group's lanes read every input (or partial sum) once: Σ x² over the row
    inv = 1.0 / sqrt(row_sum(ss, lid) / f32(p.K) + p.eps);
  }
  store_rows(acc, inv, r0, lid, prior, nn);
}
