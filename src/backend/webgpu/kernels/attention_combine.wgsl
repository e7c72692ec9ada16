// Merges the per-split partials of attention.wgsl (split-K decode): with
// M = max_s m_s, out = Σ_s acc_s·e^(m_s − M) / Σ_s l_s·e^(m_s − M). Splits that
// saw no key have l = 0 and drop out; splits beyond the keys row t can see
// (n = pos0 + posOff[0] + t + 1, capped at S) are not read at all, so a long
// cache costs nothing at short positions. Each split's weight e^(m_s − M) is
// computed once into shared memory (up to MAXS splits per pass).
// Header: WG, HD, MAXS. Grid: x = heads, y = T.
struct Params {
  Cq: u32,
  nSplit: u32,
  pos0: u32,
  splitLen: u32,
  S: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> posOff: array<i32>;

var<workgroup> wt: array<f32, MAXS>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.x;
  let t = wid.y;
  let base = (t * (p.Cq / HD) + h) * p.nSplit * (HD + 2u);
  let n = min(u32(max(i32(p.pos0) + posOff[0], 0)) + t + 1u, p.S);
  let ns = min(p.nSplit, (n + p.splitLen - 1u) / p.splitLen);
  // M: the largest m of the splits that saw keys
  var mx = -0x1.fffffep+127f;
  for (var s = lid; s < ns; s += WG) {
    let r = base + s * (HD + 2u);
    if (part[r + HD + 1u] > 0.0) {
      mx = max(mx, part[r + HD]);
    }
  }
  red[lid] = mx;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      red[lid] = max(red[lid], red[lid + st]);
    }
    workgroupBarrier();
  }
  mx = red[0];
  workgroupBarrier();
  var l = 0.0;
  for (var s = lid; s < ns; s += WG) {
    let r = base + s * (HD + 2u);
    if (part[r + HD + 1u] > 0.0) {
      l += part[r + HD + 1u] * exp(part[r + HD] - mx);
    }
  }
  red[lid] = l;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      red[lid] += red[lid + st];
    }
    workgroupBarrier();
  }
  l = red[0];
  var acc: array<f32, (HD + WG - 1u) / WG>;
  for (var s0 = 0u; s0 < ns; s0 += MAXS) {
    let cnt = min(MAXS, ns - s0);
    workgroupBarrier();
    for (var s = lid; s < cnt; s += WG) {
      let r = base + (s0 + s) * (HD + 2u);
      wt[s] = select(0.0, exp(part[r + HD] - mx), part[r + HD + 1u] > 0.0);
    }
    workgroupBarrier();
    for (var a = 0u; a * WG < HD; a++) {
      let i = lid + a * WG;
      if (i < HD) {
        var sum = 0.0;
        for (var s = 0u; s < cnt; s++) {
          sum += part[base + (s0 + s) * (HD + 2u) + i] * wt[s];
        }
        acc[a] += sum;
      }
    }
  }
  for (var a = 0u; a * WG < HD; a++) {
    let i = lid + a * WG;
    if (i < HD) {
      out[t * p.Cq + h * HD + i] = acc[a] / l;
    }
  }
}
