// attention_decode.wgsl's scores and reductions with subgroups of SG lanes (header: SG, `enable
// subgroups;`), for head sizes whose NC = HD / 4 vec4 columns are a power of two dividing SG.
// Scores: the NC consecutive threads of key group g (G = WG / NC groups) take a key together,
// each one vec4 column, so a key row is read contiguously (one thread per key read 32 rows per
// warp load); SU keys per step in flight, the NC partial dots summed by xor shuffles within the
// NC-lane cluster. Reductions: per subgroup, then the WG / SG partials through workgroup memory.

const SU = 4u; // keys per key group and step

// x reduced over the workgroup (max, or sum), returned to every thread; red is free again after.
fn block_reduce(lid: u32, x: f32, is_max: bool) -> f32 {
  var r: f32;
  if (is_max) {
    r = subgroupMax(x);
  } else {
    r = subgroupAdd(x);
  }
  if (lid % SG == 0u) {
    red[lid / SG].x = r;
  }
  workgroupBarrier();
  var t = red[0].x;
  for (var i = 1u; i < WG / SG; i++) {
    let b = red[i].x;
    t = select(t + b, max(t, b), is_max);
  }
  workgroupBarrier();
  return t;
}

// The scaled scores of keys 0 … n − 1 (n uniform) into sc; returns the largest this thread wrote.
fn score_keys(lid: u32, n: u32, fresh: bool, ko: u32) -> f32 {
  let g = lid / NC;
  let c = lid % NC;
  var m = -0x1.fffffep+127f;
  for (var s0 = 0u; s0 < n; s0 += SU * G) {
    var d: array<f32, SU>;
    for (var u = 0u; u < SU; u++) {
      let s = min(s0 + u * G + g, n - 1u); // past n: key n − 1 again, discarded
      if (fresh && s == n - 1u) {
        d[u] = dot(qs[c], kn_col(c));
      } else {
        d[u] = dot(qs[c], k[(s * p.Ckv + ko) / 4u + c]);
      }
    }
    for (var o = NC / 2u; o > 0u; o >>= 1u) {
      for (var u = 0u; u < SU; u++) {
        d[u] += subgroupShuffleXor(d[u], o);
      }
    }
    for (var u = 0u; u < SU; u++) {
      let s = s0 + u * G + g;
      if (s < n) {
        let score = d[u] * p.scale;
        if (c == 0u) {
          sc[s] = score;
        }
        m = max(m, score);
      }
    }
  }
  return m;
}
