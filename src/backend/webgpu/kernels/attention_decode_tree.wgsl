// attention_decode.wgsl's scores and reductions without subgroups (any head size): thread j scores
// keys j, j + WG, … (a full dot over hd, K as vec4s when HD % 4 == 0), reductions as a tree in
// workgroup memory.

// x reduced over the workgroup (max, or sum), returned to every thread; red is free again after.
fn block_reduce(lid: u32, x: f32, is_max: bool) -> f32 {
  red[lid].x = x;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      let a = red[lid].x;
      let b = red[lid + st].x;
      red[lid].x = select(a + b, max(a, b), is_max);
    }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}

// q·k for the key row starting at element kb
fn qk(kb: u32) -> f32 {
  var d = 0.0;
  if (VEC) {
    for (var i = 0u; i < HD4; i++) {
      d += dot(qs[i], k[kb / 4u + i]);
    }
  } else {
    for (var i = 0u; i < HD; i++) {
      let e = kb + i;
      d += qs[i / 4u][i % 4u] * k[e / 4u][e % 4u];
    }
  }
  return d;
}

// The scaled scores of keys 0 … n − 1 into sc; returns the largest this thread wrote.
fn score_keys(lid: u32, n: u32, fresh: bool, ko: u32) -> f32 {
  var m = -0x1.fffffep+127f;
  for (var s = lid; s < n; s += WG) {
    var score: f32;
    if (fresh && s == n - 1u) {
      score = qk_new() * p.scale;
    } else {
      score = qk(s * p.Ckv + ko) * p.scale;
    }
    sc[s] = score;
    m = max(m, score);
  }
  return m;
}
