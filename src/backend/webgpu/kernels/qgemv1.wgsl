// Decode matmul on packed int2/3/4/8 or SpQR weights, one token: out[col0 + r] (+)= Σ_c xin[c] · Ŵ[r, c]
// (+ bias[r]), Ŵ = scale · (code − zero) decoded in registers (q_stats from qstats_int.wgsl or
// qstats_spqr.wgsl; SpQR's zero is not an integer), plus SpQR's CSR outliers (OUTLIERS), with the
// same folded neighbours as gemv1.wgsl (NORM, GATED, ACC, GLU: the weight is gate | up, 2·rows
// rows, and out[col0 + r] (+)= silu(y[r])·y[rows + r]; a thread's NR = 2R weight rows are R gate
// rows and their R up rows). For unpermuted codes whose groups are
// whole multiples of 32 columns (or one group per row) or of 8 or 16 columns (qgemv1Serves);
// qgemv.wgsl serves the rest.
//
// Work split: a chunk is 32 consecutive codes of a row (Q_BITS words, 16 bytes at 4 bits); a unit
// is CU consecutive chunks. A thread owns R rows and walks units u = lane, lane + TPR, …, one per
// tile of TPR units: it issues the loads of its unit's CU × R chunks of codes and their statistics
// (and, up front, its rows' CSR ranges), the workgroup stages
// the tile's inputs (norm weight or SwiGLU applied) into workgroup memory, then each lane reads its
// 32·CU inputs once, so each x value serves R rows, and adds scale·(Σ code·x − zero·Σ x) per row
// and group. Groups of 32 columns or more: a chunk lies in one group; with HOIST (every unit inside
// one group: CU divides the chunks per group, or one group spans the row) the statistics are read
// once per unit and row, else once per chunk and row. Groups smaller than a chunk (SUBG, e.g.
// SpQR's β1 = 16): the chunk's NSUB = 32 / Q_GROUP_SIZE sub-groups each have their own statistics,
// Σ x and code dot (chunk_dot_sub); the statistics of a unit's sub-groups are read four groups at
// a time per row (q_stats4). With OUTLIERS the TPR threads of a row group split each of their
// rows' CSR entries (arrays 5 rowPtr and 6, each entry column | fp16 value << 16 in the GPU image, as qoutliers.wgsl): their first OUT_R rounds'
// (column, value) pairs are loaded with the first tile's codes and held, and each tile adds
// val · xin[col] for those whose column it stages, xin read from workgroup memory as staged
// (SwiGLU, norm weight), to the row's sum before the 1/rms scale; entries past OUT_R·TPR a row
// read their column, then its input, from global memory.
// TPR threads per row group, RG row groups per workgroup.
// Serves the formats whose codes are in natural order (int3, SpQR; qgemv1_ilv.wgsl serves the
// interleaved int2/4/8 images). chunk_dot and chunk_code1 from qdot.wgsl.
// SHARE2 (SpQR): the R rows of a thread group's set (gate or up) lie in one β2 block of rows, so the
// block's second-level statistics are loaded once for them (q_stats4_block / q_stats4_from).
// Header: R, TPR, RG, WG = TPR·RG, NR, CU, HOIST, SHARE2, F16SUB (f16 subnormals kept: P3SUB), NORM, GATED, ACC, HAS_BIAS, GLU, NORM_OUT, PREP (qgemv1_io), OUTLIERS, OUT_R and the format's
// Q_* constants; qpacked, qheader_uniform, a qstats_* file, qdot, gemv_reduce_* and
// gemv_reduce_rows_* files and qgemv1_io.wgsl before it (uniforms, bindings, weight_rows,
// prior_rows, store_rows). Workgroup
// memory: TPR·(8·CU + 1) vec4s. Grid: x over ceil(rows / (R·RG)).
// Groups smaller than a chunk: NSUB sub-groups of SUB codes each (1 and 32 for groups of 32 or
// more, where the SUBG code below compiles away).
const NSUB: u32 = select(1u, 32u / Q_GROUP_SIZE, Q_GROUP_SIZE < 32u);
const SUB: u32 = 32u / NSUB;
const SUBG: bool = NSUB > 1u;
const SUB_RUNS: u32 = (CU * NSUB + 3u) / 4u; // q_stats4 calls per unit and row (SUBG)
// Q_P3 codes with F16SUB (the device keeps f16 subnormals): the dots are Σ code·x (qdot.wgsl's
// p3_pair_sub); else Σ (1 + code/2^b)·x. Either way Σ code·x = D_MUL·d − D_OFF·Σ x.
const P3SUB: bool = F16SUB && Q_BITS == 3u && Q_P3 != 0u;
const D_MUL: f32 = select(SCALE_B, 1.0, P3SUB);
const D_OFF: f32 = select(SCALE_B, 0.0, P3SUB);

// chunk_dot (qdot.wgsl) per sub-group: d_j = Σ_(e in j) (1 + code[e]/2^b)·xs[e], so a sub-group's
// scale is one multiply per row and chunk (not one per input, as when it was folded into them).
fn chunk_dot_sub(cw: array<u32, Q_BITS>, xs: array<vec4<f32>, 8>) -> array<f32, NSUB> {
  var d: array<f32, NSUB>;
  for (var j = 0u; j < NSUB; j++) {
    d[j] = 0.0;
  }
  if (P3SUB) {
    // subnormal pairs (qdot.wgsl p3_pair_sub): one sum per sub-group and scale class
    var e3: array<vec3<f32>, NSUB>;
    for (var k = 0u; k < 3u; k++) {
      for (var j = 0u; j < 5u; j++) {
        let h = p3_pair_sub(cw[k % Q_BITS], j);
        let a = 10u * k + j;
        let b = a + 5u;
        e3[a / SUB][j % 3u] += h.x * xs[a >> 2u][a & 3u];
        e3[b / SUB][j % 3u] += h.y * xs[b >> 2u][b & 3u];
      }
    }
    let h = p3_last_sub(cw);
    e3[30u / SUB].x += h.x * xs[7][2];
    e3[31u / SUB].x += h.y * xs[7][3];
    for (var j = 0u; j < NSUB; j++) {
      d[j] = dot(e3[j], P3_SCALES);
    }
    return d;
  }
  if (Q_BITS == 3u && Q_P3 != 0u) {
    // f16 pairs of codes a = 10k + j and b = a + 5 (qdot.wgsl p3_pair), each to its sub-group
    for (var k = 0u; k < 3u; k++) {
      for (var j = 0u; j < 5u; j++) {
        let h = p3_pair(cw[k % Q_BITS], j);
        let a = 10u * k + j;
        let b = a + 5u;
        d[a / SUB] += h.x * xs[a >> 2u][a & 3u];
        d[b / SUB] += h.y * xs[b >> 2u][b & 3u];
      }
    }
    let h = p3_last(cw);
    d[30u / SUB] += h.x * xs[7][2];
    d[31u / SUB] += h.y * xs[7][3];
    return d;
  }
  for (var e = 0u; e < 32u; e++) {
    d[e / SUB] += chunk_code1(cw, e) * xs[e >> 2u][e & 3u];
  }
  return d;
}

// xin[c], the input as staged (SwiGLU / norm weight applied, without the 1/rms), for an outlier.
fn x_in(c: u32) -> f32 {
  var v = x[c >> 2u][c & 3u];
  if (GATED) {
    v = v / (1.0 + exp(-v)) * x[(p.K + c) >> 2u][c & 3u];
  }
  if (NORM && !PREP) {
    v *= nw[c >> 2u][c & 3u];
  }
  return v;
}

// The inputs of one tile (TPR units: one per lane) in workgroup memory, staged once per workgroup:
// unit by unit, CU·8 vec4s and one vec4 of padding, so the lanes' reads (a unit apart) fall in
// distinct banks. Read straight from global memory instead, a lane's 32 inputs sit 128·CU bytes
// from its neighbour's: every x load of the warp touched 32 cache lines, which bounded the kernel
// at a quarter of copy bandwidth.
const UNIT_V4: u32 = 8u * CU + 1u;
var<workgroup> xt: array<vec4<f32>, TPR * UNIT_V4>;
var<workgroup> ssg: array<f32, RG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let lane = lid % TPR;
  let r0 = (wid.x * RG + lid / TPR) * R;
  let wrow = weight_rows(r0);
  let prior = prior_rows(r0);
  let nn = next_norm_rows(r0);
  let rowWords = q_row_words(p.K, Q_BITS);
  let codes = q_off(0u);
  let nChunks = p.K / 32u;
  let nUnits = (nChunks + CU - 1u) / CU;
  let chunksPerGroup = min(Q_GROUP_SIZE, p.K) / 32u;
  let K4 = p.K / 4u;
  var acc: array<f32, NR>;
  for (var i = 0u; i < NR; i++) {
    acc[i] = 0.0;
  }
  // PREP: the workgroup's threads share the producer's partial sums of x² (each read once per
  // workgroup); else Σ x² is summed as the inputs are staged
  var ss = prep_ss(lid, WG);
  // SpQR's CSR row ranges, read first
  var ept: array<vec2<u32>, NR>;
  var oe: array<array<u32, NR>, OUT_R>; // OUTLIERS: held (column | fp16 value << 16) per round and row
  if (OUTLIERS) {
    for (var i = 0u; i < NR; i++) {
      ept[i] = vec2<u32>(q_word(q_off(5u) + wrow[i]), q_word(q_off(5u) + wrow[i] + 1u));
    }
  }
  for (var t0 = 0u; t0 < nUnits; t0 += TPR) {
    let u0 = t0 + lane;
    let c0 = u0 * CU;
    // 1. the codes and statistics of this lane's unit, CU chunks × R rows (loads in flight while x
    // is staged): per run of four sub-groups (SUBG), once per unit (HOIST) or per chunk
    var cws: array<array<array<u32, Q_BITS>, NR>, CU>;
    var sts: array<array<array<vec2<f32>, NSUB>, NR>, CU>;
    if (SUBG) {
      // the unit's CU·NSUB consecutive sub-groups per row, four at a time (q_stats4); those of
      // chunks past the end are read from neighbouring words and never used
      // (SHARE2: a set's R rows lie in one β2 block, whose second-level pairs its first row loads)
      for (var k = 0u; k < SUB_RUNS; k++) {
        var blk: array<vec4<u32>, 2>;
        for (var i = 0u; i < NR; i++) {
          let g0 = c0 * NSUB + 4u * k;
          if (!SHARE2 || i % R == 0u) {
            blk = q_stats4_block(g0, wrow[i]);
          }
          let run = q_stats4_from(g0, wrow[i], blk);
          for (var m = 0u; m < 4u; m++) {
            let n = 4u * k + m;
            if (n < CU * NSUB) {
              sts[n / NSUB][i][n % NSUB] = run[m];
            }
          }
        }
      }
    }
    for (var u = 0u; u < CU; u++) {
      let cu = min(c0 + u, nChunks - 1u); // past the end: reload the last chunk, unused
      for (var i = 0u; i < NR; i++) {
        if (!SUBG && (!HOIST || u == 0u)) {
          sts[u][i][0] = q_stats(cu / chunksPerGroup, wrow[i]);
        }
        let base = codes + wrow[i] * rowWords + cu * Q_BITS;
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
    if (OUTLIERS && t0 == 0u) {
      // SpQR's outliers: the row group's lanes split each row's CSR entries (lane, lane + TPR, …),
      // one entry of every row per round. The first OUT_R rounds' (column, value) pairs are loaded
      // here, beside the first tile's codes, and kept in registers; each tile adds those whose
      // column it stages, reading the input from workgroup memory (below), so no load waits on
      // another. A round's loads are unconditional (past a row's end: its last entry, or entry 0 of
      // a row without any, kept as the pair 0xffff: value 0) so none waits on a branch.
      var rounds = 0u;
      for (var i = 0u; i < NR; i++) {
        let n = ept[i].y - ept[i].x;
        rounds = max(rounds, select(0u, (n - lane + TPR - 1u) / TPR, n > lane));
      }
      for (var k = 0u; k < OUT_R; k++) {
        for (var i = 0u; i < NR; i++) {
          let e = ept[i].x + lane + k * TPR;
          let ec = min(e, max(ept[i].y, 1u) - 1u);
          let pair = q_word(q_off(6u) + ec); // column | fp16 value << 16 (webgpu/packed.ts)
          oe[k][i] = select(0xffffu, pair, e < ept[i].y && r0 + i % R < p.rows);
        }
      }
      // rows with more than OUT_R·TPR entries: the rest from global memory (a column, then its input)
      for (var k = OUT_R; k < rounds; k++) {
        for (var i = 0u; i < NR; i++) {
          let e = ept[i].x + lane + k * TPR;
          let ec = min(e, max(ept[i].y, 1u) - 1u);
          let pair = q_word(q_off(6u) + ec);
          let v = unpack2x16float(pair).y * x_in(pair & 0xffffu);
          if (e < ept[i].y && r0 + i % R < p.rows) {
            acc[i] += v;
          }
        }
      }
    }
    // 2. the tile's inputs (SwiGLU / norm weight applied; Σ x² of the raw input for the norm)
    workgroupBarrier(); // the previous tile's reads are done
    let tv0 = t0 * CU * 8u;
    for (var i = lid; i < TPR * CU * 8u; i += WG) {
      let v = tv0 + i;
      var xv = vec4<f32>(0.0);
      if (v < K4) {
        xv = x[v];
        if (GATED) {
          xv = silu4(xv) * x[v + K4];
        }
        if (NORM && !PREP) {
          ss += dot(xv, xv);
          xv *= nw[v];
        }
      }
      xt[(i / (8u * CU)) * UNIT_V4 + i % (8u * CU)] = xv;
    }
    workgroupBarrier();
    if (OUTLIERS) {
      // the held outliers whose columns this tile stages: val · xt (the input as staged)
      let tc0 = t0 * CU * 32u;
      for (var k = 0u; k < OUT_R; k++) {
        for (var i = 0u; i < NR; i++) {
          let d = (oe[k][i] & 0xffffu) - tc0;
          if (d < TPR * CU * 32u) {
            let xv = xt[(d / (32u * CU)) * UNIT_V4 + (d % (32u * CU)) / 4u][d & 3u];
            acc[i] += unpack2x16float(oe[k][i]).y * xv;
          }
        }
      }
    }
    // 3. the unit's products
    if (u0 < nUnits) {
      var cd: array<f32, NR>; // HOIST: the unit's Σ (1 + code/2^b)·x per row
      for (var i = 0u; i < NR; i++) {
        cd[i] = 0.0;
      }
      var sxu = 0.0;
      for (var u = 0u; u < CU; u++) {
        let c = c0 + u;
        if (c >= nChunks) {
          break;
        }
        var xs: array<vec4<f32>, 8>;
        for (var j = 0u; j < 8u; j++) {
          xs[j] = xt[lane * UNIT_V4 + u * 8u + j];
        }
        let sx = dot(xs[0] + xs[1] + xs[2] + xs[3] + xs[4] + xs[5] + xs[6] + xs[7], vec4<f32>(1.0));
        var sxs: array<f32, NSUB>; // SUBG: Σ x per sub-group
        if (SUBG) {
          for (var j = 0u; j < NSUB; j++) {
            sxs[j] = 0.0;
          }
          for (var v = 0u; v < 8u; v++) {
            if (SUB >= 4u) {
              sxs[4u * v / SUB] += dot(xs[v], vec4<f32>(1.0));
            } else {
              for (var k = 0u; k < 4u; k++) {
                sxs[(4u * v + k) / SUB] += xs[v][k];
              }
            }
          }
        }
        for (var i = 0u; i < NR; i++) {
          if (SUBG) {
            // Σ_j s_j·(D_MUL·d_j − (D_OFF + z_j)·sx_j), d_j = Σ_(e in j) (1 + code[e]/2^b)·x[e] (P3SUB: Σ code·x)
            let d = chunk_dot_sub(cws[u][i], xs);
            var sd = 0.0;
            var zx = 0.0;
            for (var j = 0u; j < NSUB; j++) {
              let st = sts[u][i][j];
              sd += st.x * d[j];
              zx += st.x * (D_OFF + st.y) * sxs[j];
            }
            acc[i] += D_MUL * sd - zx;
          } else {
            var d: f32;
            if (P3SUB) {
              d = chunk_dot_p3sub(cws[u][i], xs);
            } else {
              d = chunk_dot(cws[u][i], xs);
            }
            if (HOIST) {
              cd[i] += d;
            } else {
              let st = sts[u][i][0];
              acc[i] += st.x * (D_MUL * d - (D_OFF + st.y) * sx);
            }
          }
        }
        sxu += sx;
      }
      if (HOIST) {
        // the unit lies in one group: its statistics once per row
        for (var i = 0u; i < NR; i++) {
          let st = sts[0][i][0];
          acc[i] += st.x * (D_MUL * cd[i] - (D_OFF + st.y) * sxu);
        }
      }
    }
  }
  var inv = 1.0;
  if (NORM) {
    // each input (or partial sum) was read by one thread of the workgroup: Σ over all of them
    let part = row_sum(ss, lid);
    if (lane == 0u) {
      ssg[lid / TPR] = part;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var g = 0u; g < RG; g++) {
      total += ssg[g];
    }
    inv = 1.0 / sqrt(total / f32(p.K) + p.eps);
  }
  store_rows(acc, inv, r0, lid, prior, nn);
}
