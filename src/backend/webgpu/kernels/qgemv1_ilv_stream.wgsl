// qgemv1_ilv.wgsl's decode matmul (interleaved int2/4/8 images, one token, the same folded NORM,
// GATED, ACC and GLU neighbours and the same per-chunk arithmetic), as a streaming kernel: a grid
// of at most G workgroups walks the blocks of RG thread groups (R output rows each) with a stride
// of the grid, and every lane loads its next chunk (the next block's first chunk at a block's end)
// before it computes the current one. In the one-block-per-workgroup kernel a lane of a 4096-column
// row computes two chunks and each waited on its load; here the load of the next chunk is in
// flight while the lane does the current one's products, and no workgroup ends early to leave a
// partial last wave.
// With NORM, 1/rms is computed once per workgroup before the first block (each thread group sums
// x² over the row), not inside the loop.
// Header: qgemv1_ilv.wgsl's. Grid: x = min(G, ceil(rows / (R·RG))).
const NS: u32 = select(select(Q_BITS, min(Q_BITS, 128u / Q_GROUP_SIZE), 128u % Q_GROUP_SIZE == 0u), 1u, Q_GROUP_SIZE % 128u == 0u);
const WPS: u32 = Q_BITS / NS;

// One chunk of a lane's NR rows: its codes and statistics.
struct Chunk {
  cw: array<array<u32, Q_BITS>, NR>,
  st: array<array<vec2<f32>, NS>, NR>,
}

fn load_chunk(wrow: array<u32, NR>, c: u32, codes: u32, rowWords: u32, K: u32) -> Chunk {
  var ch: Chunk;
  for (var t = 0u; t < NR; t++) {
    let base = codes + wrow[t] * rowWords + c * Q_BITS;
    if (Q_BITS % 4u == 0u) {
      for (var v = 0u; v < Q_BITS / 4u; v++) {
        let q = w[(base >> 2u) + v];
        ch.cw[t][4u * v] = q.x;
        ch.cw[t][4u * v + 1u] = q.y;
        ch.cw[t][4u * v + 2u] = q.z;
        ch.cw[t][4u * v + 3u] = q.w;
      }
    } else {
      for (var k = 0u; k < Q_BITS; k++) {
        ch.cw[t][k] = q_word(base + k);
      }
    }
    for (var m = 0u; m < NS; m++) {
      ch.st[t][m] = q_stats(q_word_col(c * Q_BITS + m * WPS, K) / Q_GROUP_SIZE, wrow[t]);
    }
  }
  return ch;
}

// Input vec4 v as the products read it: SwiGLU applied (GATED); the norm weight is applied after.
fn x_in(v: u32, K4: u32) -> vec4<f32> {
  var xe = x[v];
  if (GATED) {
    xe = silu4(xe) * x[v + K4];
  }
  return xe;
}

// acc[t] += the chunk's share of row t's dot product.
fn chunk_acc(ch: Chunk, c: u32, K: u32, acc: ptr<function, array<f32, NR>>) {
  let K4 = K / 4u;
  var d = array<array<f32, NS>, NR>(); // Σ (1 + code/2^b)·x per row and statistics set
  var sx = array<f32, NS>(); // Σ x per set
  for (var k = 0u; k < Q_BITS; k++) {
    let v0 = q_word_col(c * Q_BITS + k, K) / 4u;
    var xv = array<vec4<f32>, 4>();
    for (var e = 0u; e < Q_VPW; e++) {
      var xe = x_in(v0 + e, K4);
      if (NORM) {
        xe *= nw[v0 + e];
      }
      xv[e] = xe;
    }
    sx[k / WPS] += dot(xv[0] + xv[1] + xv[2] + xv[3], vec4<f32>(1.0));
    for (var t = 0u; t < NR; t++) {
      d[t][k / WPS] = word_dot_acc(ch.cw[t][k], xv, d[t][k / WPS]);
    }
  }
  for (var t = 0u; t < NR; t++) {
    for (var m = 0u; m < NS; m++) {
      let sz = ch.st[t][m];
      (*acc)[t] += sz.x * (SCALE_B * d[t][m] - (SCALE_B + sz.y) * sx[m]);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let lane = lid % TPR;
  let tg = lid / TPR;
  let rowWords = q_row_words(p.K, Q_BITS);
  let codes = q_off(0u);
  let nChunks = p.K / 32u;
  let K4 = p.K / 4u;
  let nBlocks = (p.rows + R * RG - 1u) / (R * RG);
  var b = wid.x;
  let first = min(lane, nChunks - 1u); // a lane past the last chunk loads it and leaves it unused
  var wrow = weight_rows((b * RG + tg) * R);
  var cur = load_chunk(wrow, first, codes, rowWords, p.K); // in flight during the norm's pass
  var inv = 1.0;
  if (NORM) {
    var ss = 0.0;
    for (var v = lane; v < K4; v += TPR) {
      let xe = x_in(v, K4);
      ss += dot(xe, xe);
    }
    inv = 1.0 / sqrt(row_sum(ss, lid) / f32(p.K) + p.eps);
  }
  loop {
    let r0 = (b * RG + tg) * R;
    let prior = prior_rows(r0);
    let nb = b + nwg.x;
    let more = nb < nBlocks;
    let nrow = weight_rows((min(nb, nBlocks - 1u) * RG + tg) * R);
    var acc: array<f32, NR>;
    for (var t = 0u; t < NR; t++) {
      acc[t] = 0.0;
    }
    for (var c = lane; c < nChunks; c += TPR) {
      var next: Chunk;
      if (c + TPR < nChunks) {
        next = load_chunk(wrow, c + TPR, codes, rowWords, p.K);
      } else if (more) {
        next = load_chunk(nrow, first, codes, rowWords, p.K);
      }
      chunk_acc(cur, c, p.K, &acc);
      cur = next;
    }
    store_rows(acc, inv, r0, lid, prior);
    if (!more) {
      break;
    }
    workgroupBarrier(); // the row sums' workgroup memory is reused by the next block
    b = nb;
    wrow = nrow;
  }
}
