// Reading a row of logits in slots (4 logits, one 16-byte load when ALIGNED: V % 4 = 0, so every
// row starts on a vec4), U slots in flight a thread; shared by argmax.wgsl and sample.wgsl, which
// declare `logits: array<vec4<f32>>` (the buffer is a whole number of vec4s) and `p.V`. Header:
// ALIGNED, U, WG.

// Logits 4i … 4i + 3 of the row starting at element `row` (lanes past V repeat the row's last logit).
fn ld(row: u32, i: u32) -> vec4<f32> {
  if (ALIGNED) {
    return logits[row / 4u + i];
  }
  let last = row + p.V - 1u;
  var v: vec4<f32>;
  for (var c = 0u; c < 4u; c++) {
    let e = min(row + 4u * i + c, last);
    v[c] = logits[e >> 2u][e & 3u];
  }
  return v;
}

// A strided pass's U slots from i0: i0, i0 + WG, …, each clamped to the row's last slot nS − 1
// (callers skip those past it).
fn strided(row: u32, i0: u32, nS: u32) -> array<vec4<f32>, U> {
  var v: array<vec4<f32>, U>;
  for (var u = 0u; u < U; u++) {
    v[u] = ld(row, min(i0 + u * WG, nS - 1u));
  }
  return v;
}

// U consecutive slots from i, each clamped to i1 − 1 (callers skip those from i1 on).
fn consecutive(row: u32, i: u32, i1: u32) -> array<vec4<f32>, U> {
  var v: array<vec4<f32>, U>;
  for (var u = 0u; u < U; u++) {
    v[u] = ld(row, min(i + u, i1 - 1u));
  }
  return v;
}
