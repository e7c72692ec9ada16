// Causal attention with grouped KV heads, flash-style: one workgroup per
// (head, query row, key split) streams its keys in blocks of WG through shared
// memory with an online softmax (running max m and sum l, rescaling the
// accumulator), so no T×S score matrix is ever stored.
// Thread j scores key s0 + j; thread i accumulates output dims i, i + WG, ….
// Header: WG, HD (headDim), NA = ceil(HD / WG), SPLIT (write partials (acc, m, l)
// per split for attention_combine instead of out).
// Grid: x = heads, y = T, z = splits.
struct Params {
  Cq: u32,
  Ckv: u32,
  group: u32,
  pos0: u32,
  splitLen: u32,
  nSplit: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> qs: array<f32, HD>;
var<workgroup> sc: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.x;
  let t = wid.y;
  let split = wid.z;
  let qo = t * p.Cq + h * HD;
  let ko = (h / p.group) * HD;
  for (var i = lid; i < HD; i += WG) {
    qs[i] = q[qo + i];
  }
  workgroupBarrier();
  let n = p.pos0 + t + 1u; // keys visible to this query
  let begin = split * p.splitLen;
  let end = min(n, begin + p.splitLen);
  var m = -0x1.fffffep+127f;
  var l = 0.0;
  var acc: array<f32, NA>;
  for (var a = 0u; a < NA; a++) {
    acc[a] = 0.0;
  }
  for (var s0 = begin; s0 < end; s0 += WG) {
    let s = s0 + lid;
    var score = -0x1.fffffep+127f;
    if (s < end) {
      var dot = 0.0;
      let kb = s * p.Ckv + ko;
      for (var i = 0u; i < HD; i++) {
        dot += qs[i] * k[kb + i];
      }
      score = dot * p.scale;
    }
    sc[lid] = score;
    workgroupBarrier();
    let cnt = min(WG, end - s0);
    var bm = m;
    for (var j = 0u; j < cnt; j++) {
      bm = max(bm, sc[j]);
    }
    let corr = exp(m - bm);
    l *= corr;
    for (var a = 0u; a < NA; a++) {
      acc[a] *= corr;
    }
    for (var j = 0u; j < cnt; j++) {
      let pj = exp(sc[j] - bm);
      l += pj;
      let vb = (s0 + j) * p.Ckv + ko;
      for (var a = 0u; a < NA; a++) {
        let i = lid + a * WG;
        if (i < HD) {
          acc[a] += pj * v[vb + i];
        }
      }
    }
    m = bm;
    workgroupBarrier();
  }
  if (SPLIT) {
    // partial record of HD + 2 floats per (t, h, split): acc (unnormalised), m, l
    let base = ((t * (p.Cq / HD) + h) * p.nSplit + split) * (HD + 2u);
    for (var a = 0u; a < NA; a++) {
      let i = lid + a * WG;
      if (i < HD) {
        out[base + i] = acc[a];
      }
    }
    if (lid == 0u) {
      out[base + HD] = m;
      out[base + HD + 1u] = l;
    }
  } else {
    for (var a = 0u; a < NA; a++) {
      let i = lid + a * WG;
      if (i < HD) {
        out[qo + i] = acc[a] / l;
      }
    }
  }
}
