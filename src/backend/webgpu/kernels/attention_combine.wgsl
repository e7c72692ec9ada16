// Merges the per-split partials of attention.wgsl (split-K decode): with
// M = max_s m_s, out = Σ_s acc_s·e^(m_s − M) / Σ_s l_s·e^(m_s − M). Splits that
// saw no key have l = 0 and drop out. Header: WG, HD. Grid: x = heads, y = T.
struct Params {
  Cq: u32,
  nSplit: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.x;
  let t = wid.y;
  let base = (t * (p.Cq / HD) + h) * p.nSplit * (HD + 2u);
  var mx = -0x1.fffffep+127f;
  for (var s = 0u; s < p.nSplit; s++) {
    let r = base + s * (HD + 2u);
    if (part[r + HD + 1u] > 0.0) {
      mx = max(mx, part[r + HD]);
    }
  }
  var l = 0.0;
  for (var s = 0u; s < p.nSplit; s++) {
    let r = base + s * (HD + 2u);
    if (part[r + HD + 1u] > 0.0) {
      l += part[r + HD + 1u] * exp(part[r + HD] - mx);
    }
  }
  for (var i = lid; i < HD; i += WG) {
    var acc = 0.0;
    for (var s = 0u; s < p.nSplit; s++) {
      let r = base + s * (HD + 2u);
      if (part[r + HD + 1u] > 0.0) {
        acc += part[r + i] * exp(part[r + HD] - mx);
      }
    }
    out[t * p.Cq + h * HD + i] = acc / l;
  }
}
