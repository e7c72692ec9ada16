// Greedy next tokens (Backend.argmax): ids[t] = the first index of the maximum
// of logits[t, :]; one workgroup per row. Each thread scans a strided slice of
// slots (row_slots.wgsl: 4 logits, one 16-byte load when V % 4 = 0), U in flight,
// keeping its first maximum, then a shared-memory tree keeps the larger value
// and, on ties, the smaller index (so the first maximum wins). A candidate must
// exceed −∞ (no infinity literal: an empty slot is index NONE), and NaN compares
// false, so it never wins; a row with no value above −∞ gives 0.
// HISTORY: also tokens[pos[0] + t + 1] = ids[t] when that index lies in tokens
// (the host checks it when it knows pos). ADVANCE (T = 1): then pos[0] += 1, by the one
// thread that read it. Header: WG (a power of two), HISTORY, ADVANCE, ALIGNED, U.
// Grid: x = T.
struct Params {
  V: u32,
  N: u32, // tokens
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<vec4<f32>>; // the buffer is a whole number of vec4s
@group(0) @binding(2) var<storage, read_write> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(4) var<storage, read_write> pos: array<i32>;

const NONE = 0xffffffffu;
var<workgroup> rv: array<f32, WG>;
var<workgroup> ri: array<u32, WG>;

// Whether (vb, ib) beats (va, ia): a real candidate over an empty slot, a larger value, or the smaller index of equal values.
fn better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  return ib != NONE && (ia == NONE || vb > va || (vb == va && ib < ia));
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x * p.V;
  let nS = (p.V + 3u) / 4u;
  var m = -0x1.fffffep+127f;
  var a = NONE;
  // U slots in flight per step (one f32 at a time, a 128k vocabulary was 500 dependent loads per
  // thread); each thread still sees its indices in increasing order, so its first maximum wins
  for (var i0 = lid; i0 < nS; i0 += U * WG) {
    var v = strided(row, i0, nS);
    for (var u = 0u; u < U; u++) {
      let i = i0 + u * WG;
      for (var c = 0u; c < 4u; c++) {
        let x = v[u][c];
        if (i < nS && 4u * i + c < p.V && (x > m || (a == NONE && x == m))) {
          m = x;
          a = 4u * i + c;
        }
      }
    }
  }
  rv[lid] = m;
  ri[lid] = a;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(rv[lid], ri[lid], rv[lid + s], ri[lid + s])) {
      rv[lid] = rv[lid + s];
      ri[lid] = ri[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let id = i32(select(ri[0], 0u, ri[0] == NONE));
    ids[wid.x] = id;
    if (HISTORY) {
      let k = pos[0] + i32(wid.x) + 1;
      if (k >= 0 && u32(k) < p.N) {
        tokens[u32(k)] = id;
      }
      if (ADVANCE) {
        pos[0] = pos[0] + 1;
      }
    }
  }
}
