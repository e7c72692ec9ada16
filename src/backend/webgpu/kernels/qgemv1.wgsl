// Decode matmul on packed int2/3/4/8 or SpQR weights, one token: out[col0 + r] (+)= Σ_c xin[c] · Ŵ[r, c]
// (+ bias[r]), Ŵ = scale · (code − zero) decoded in registers (q_stats from qstats_int.wgsl or
// qstats_spqr.wgsl; SpQR's zero is not an integer), plus SpQR's CSR outliers (OUTLIERS), with the
// same folded neighbours as gemv1.wgsl (NORM, GATED, ACC). For unpermuted codes whose groups are
// whole multiples of 32 columns (or one group per row) or of 8 or 16 columns (qgemv1Serves);
// qgemv.wgsl serves the rest.
//
// Work split: a chunk is 32 consecutive codes of a row (Q_BITS words, 16 bytes at 4 bits); a unit
// is CU consecutive chunks. A thread owns R rows and walks units u = lane, lane + TPR, …, one per
// tile of TPR units: it issues the loads of its unit's CU × R chunks of codes, the workgroup stages
// the tile's inputs (norm weight or SwiGLU applied) into workgroup memory, then each lane reads its
// 32·CU inputs once, so each x value serves R rows, and adds scale·(Σ code·x − zero·Σ x) per row
// and group. Groups of 32 columns or more: a chunk lies in one group; with HOIST (every unit inside
// one group: CU divides the chunks per group, or one group spans the row) the statistics are read
// once per unit and row, else once per chunk and row. Groups smaller than a chunk (SUBG, e.g.
// SpQR's β1 = 16): the chunk's NSUB = 32 / Q_GROUP_SIZE sub-groups each have their own statistics
// and Σ x, read per chunk and row. With OUTLIERS the TPR threads of a row group then split each of
// their rows' CSR entries (arrays 5 rowPtr, 6 col, 7 val as qoutliers.wgsl): val · xin[col], xin
// the input as staged (SwiGLU, norm weight), added to the row's sum before the 1/rms scale.
// TPR threads per row group, RG row groups per workgroup.
// Header: R, TPR, RG, WG = TPR·RG, CU, HOIST, NORM, GATED, ACC, HAS_BIAS, OUTLIERS and the format's
// Q_* constants. Workgroup memory: TPR·(8·CU + 1) vec4s. Grid: x over ceil(rows / (R·RG)).
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

// Codes become floats without an int→float conversion (a quarter- or eighth-rate instruction on
// most GPUs, and what bounded this kernel): a b-bit code q shifted to the top of an f32's
// mantissa under the exponent of 1.0 is the float 1 + q/2^b, exactly (shift, and, or). So
// chunk_dot returns Σ_e (1 + code[e]/2^b)·xs[e] and the caller recovers
// Σ code·x = 2^b·(chunk_dot − Σ x); the rounding matches a plain Σ code·x to a factor of two.
const ONE: u32 = 0x3f800000u; // 1.0f
const TOP: u32 = Q_MASK << (23u - Q_BITS); // a code's bits at the top of the mantissa
const SCALE_B: f32 = f32(1u << Q_BITS);

fn ones4(v: vec4<u32>) -> vec4<f32> {
  return bitcast<vec4<f32>>((v & vec4<u32>(TOP)) | vec4<u32>(ONE));
}

// Σ_e (1 + code[e]/2^b) · xs[e] over one 32-code chunk whose words are cw.
fn chunk_dot(cw: array<u32, Q_BITS>, xs: array<vec4<f32>, 8>) -> f32 {
  var s = 0.0;
  if (Q_BITS == 4u) {
    for (var i = 0u; i < 4u; i++) {
      let w = cw[i];
      // codes 0, 2, 4, 6 of the word (bits 0, 8, 16, 24) and 1, 3, 5, 7 (bits 4, 12, 20, 28) to bits 19..22
      let lo = ones4(vec4<u32>(w << 19u, w << 11u, w << 3u, w >> 5u));
      let hi = ones4(vec4<u32>(w << 15u, w << 7u, w >> 1u, w >> 9u));
      let a = xs[2u * i];
      let b = xs[2u * i + 1u];
      s += dot(lo, vec4<f32>(a.x, a.z, b.x, b.z)) + dot(hi, vec4<f32>(a.y, a.w, b.y, b.w));
    }
  } else if (Q_BITS == 8u) {
    for (var i = 0u; i < 8u; i++) {
      let w = cw[i];
      s += dot(ones4(vec4<u32>(w << 15u, w << 7u, w >> 1u, w >> 9u)), xs[i]); // bits 0, 8, 16, 24 to 15..22
    }
  } else if (Q_BITS == 2u) {
    for (var i = 0u; i < 8u; i++) {
      let byte = cw[i >> 2u] >> ((i & 3u) * 8u); // codes 4i .. 4i + 3 at bits 0, 2, 4, 6
      s += dot(ones4(vec4<u32>(byte << 21u, byte << 19u, byte << 17u, byte << 15u)), xs[i]);
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
      s += bitcast<f32>(((v << (23u - Q_BITS)) & TOP) | ONE) * xs[e >> 2u][e & 3u];
    }
  }
  return s;
}

// Groups smaller than a chunk: NSUB sub-groups of SUB codes each (1 and 32 for groups of 32 or
// more, where the SUBG code below compiles away). A sub-group's scale is folded into its inputs,
// so chunk_dot serves it unchanged: Σ_j s_j·Σ_(e in j) (1 + code[e]/2^b)·x[e] in one call.
const NSUB: u32 = select(1u, 32u / Q_GROUP_SIZE, Q_GROUP_SIZE < 32u);
const SUB: u32 = 32u / NSUB;
const SUBG: bool = NSUB > 1u;

// The sub-group scales s[j] over a chunk's inputs 4v … 4v + 3.
fn sub_scale4(s: array<f32, NSUB>, v: u32) -> vec4<f32> {
  let e = 4u * v;
  if (SUB >= 4u) {
    return vec4<f32>(s[e / SUB]);
  }
  return vec4<f32>(s[e / SUB], s[(e + 1u) / SUB], s[(e + 2u) / SUB], s[(e + 3u) / SUB]);
}

// xin[c], the input as staged (SwiGLU / norm weight applied, without the 1/rms), for an outlier.
fn x_in(c: u32) -> f32 {
  var v = x[c >> 2u][c & 3u];
  if (GATED) {
    v = v / (1.0 + exp(-v)) * x[(p.K + c) >> 2u][c & 3u];
  }
  if (NORM) {
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
  let rowWords = q_row_words(p.K, Q_BITS);
  let codes = q_off(0u);
  let nChunks = p.K / 32u;
  let nUnits = (nChunks + CU - 1u) / CU;
  let chunksPerGroup = min(Q_GROUP_SIZE, p.K) / 32u;
  let K4 = p.K / 4u;
  var acc: array<f32, R>;
  for (var i = 0u; i < R; i++) {
    acc[i] = 0.0;
  }
  var ss = 0.0;
  for (var t0 = 0u; t0 < nUnits; t0 += TPR) {
    let u0 = t0 + lane;
    let c0 = u0 * CU;
    // 1. the codes of this lane's unit, CU chunks × R rows (loads in flight while x is staged)
    var cws: array<array<array<u32, Q_BITS>, R>, CU>;
    for (var u = 0u; u < CU; u++) {
      let cu = min(c0 + u, nChunks - 1u); // past the end: reload the last chunk, unused
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
        if (NORM) {
          ss += dot(xv, xv);
          xv *= nw[v];
        }
      }
      xt[(i / (8u * CU)) * UNIT_V4 + i % (8u * CU)] = xv;
    }
    workgroupBarrier();
    // 3. the unit's products
    if (u0 < nUnits) {
      var cd: array<f32, R>; // HOIST: the unit's Σ (1 + code/2^b)·x per row
      for (var i = 0u; i < R; i++) {
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
        for (var i = 0u; i < R; i++) {
          if (SUBG) {
            // Σ_j s_j·(2^b·d_j − (2^b + z_j)·sx_j), d_j = Σ_(e in j) (1 + code[e]/2^b)·x[e]; the s_j
            // folded into chunk_dot's inputs
            var sc: array<f32, NSUB>;
            var zx = 0.0;
            for (var j = 0u; j < NSUB; j++) {
              let st = q_stats(c * NSUB + j, min(r0 + i, p.rows - 1u));
              sc[j] = st.x;
              zx += st.x * (SCALE_B + st.y) * sxs[j];
            }
            var xw: array<vec4<f32>, 8>;
            for (var v = 0u; v < 8u; v++) {
              xw[v] = xs[v] * sub_scale4(sc, v);
            }
            acc[i] += SCALE_B * chunk_dot(cws[u][i], xw) - zx;
          } else {
            let d = chunk_dot(cws[u][i], xs);
            if (HOIST) {
              cd[i] += d;
            } else {
              let st = q_stats(c / chunksPerGroup, min(r0 + i, p.rows - 1u));
              acc[i] += st.x * (SCALE_B * d - (SCALE_B + st.y) * sx);
            }
          }
        }
        sxu += sx;
      }
      if (HOIST) {
        // the unit lies in one group: its statistics once per row
        let g = c0 / chunksPerGroup;
        for (var i = 0u; i < R; i++) {
          let st = q_stats(g, min(r0 + i, p.rows - 1u));
          acc[i] += st.x * (SCALE_B * cd[i] - (SCALE_B + st.y) * sxu);
        }
      }
    }
  }
  if (OUTLIERS) {
    // SpQR's outliers: the row group's lanes split each row's CSR entries
    for (var i = 0u; i < R; i++) {
      let r = r0 + i;
      if (r < p.rows) {
        let e1 = q_word(q_off(5u) + r + 1u);
        for (var e = q_word(q_off(5u) + r) + lane; e < e1; e += TPR) {
          acc[i] += q_f16(q_off(7u), e) * x_in(q_u16(q_off(6u), e));
        }
      }
    }
  }
  var inv = 1.0;
  if (NORM) {
    // each input was staged by one thread of the workgroup: Σ x² over all of them
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
