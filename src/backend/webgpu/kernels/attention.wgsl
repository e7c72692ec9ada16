// Causal attention with grouped KV heads, flash-style: one workgroup per
// (head, query row, key split) streams its keys in blocks of WG through shared
// memory with an online softmax (running max m and sum l, rescaling the
// accumulator), so no T×S score matrix is ever stored.
// Scores: thread j scores key s0 + j and turns it into p_j = e^(score − m_new).
// Values: thread (g, i) — key group g = lid / HD (G = WG / HD groups when
// HD ≤ WG), dim i — accumulates Σ p_j·v[j, i] over keys j ≡ g (mod G), dims
// i, i + WG, … when HD > WG, four keys per step; the G partial sums are added at the end.
// K is read as vec4s when HD % 4 == 0 (rows then start on vec4 boundaries).
// Header: WG, HD (headDim), G (key groups, ≥ 1), NA = ceil(HD / WG), SPLIT (write
// partials (acc, m, l) per split for attention_combine instead of out).
// Grid: x = heads, y = T, z = splits.
// The first query row is at pos0 + posOff[0] (posOff: the op's device position,
// or a zero word), so the recorded dispatch does not depend on the position; a
// split that lies beyond the visible keys writes the empty record (0, −max, 0).
struct Params {
  Cq: u32,
  Ckv: u32,
  group: u32,
  pos0: u32,
  splitLen: u32,
  nSplit: u32,
  scale: f32,
  S: u32, // cache rows: no key at or beyond S is read
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<KK>; // KK, KV, k4, k1, v1: kv_f32.wgsl or kv_f16.wgsl
@group(0) @binding(3) var<storage, read> v: array<KV>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> posOff: array<i32>;

const HD4 = (HD + 3u) / 4u;
var<workgroup> qs: array<vec4<f32>, HD4>; // the query, zero-padded to whole vec4s
var<workgroup> sc: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.x;
  let t = wid.y;
  let split = wid.z;
  let qo = t * p.Cq + h * HD;
  let ko = (h / p.group) * HD;
  for (var i = lid; i < HD4 * 4u; i += WG) {
    qs[i / 4u][i % 4u] = select(0.0, q[qo + i], i < HD);
  }
  workgroupBarrier();
  let n = min(u32(max(i32(p.pos0) + posOff[0], 0)) + t + 1u, p.S); // keys visible to this query
  let begin = split * p.splitLen;
  let end = min(n, begin + p.splitLen);
  // this thread's value slot: key group g, first dim d
  let g = select(0u, lid / HD, G > 1u);
  let d = select(lid, lid % HD, G > 1u);
  let in_group = g < G;
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
      var qk = 0.0;
      let kb = s * p.Ckv + ko;
      if (HD % 4u == 0u) {
        for (var i = 0u; i < HD4; i++) {
          qk += dot(qs[i], k4(kb / 4u + i));
        }
      } else {
        for (var i = 0u; i < HD; i++) {
          qk += qs[i / 4u][i % 4u] * k1(kb + i);
        }
      }
      score = qk * p.scale;
    }
    red[lid] = score;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st >>= 1u) {
      if (lid < st) {
        red[lid] = max(red[lid], red[lid + st]);
      }
      workgroupBarrier();
    }
    let bm = max(m, red[0]);
    workgroupBarrier();
    let pj = select(0.0, exp(score - bm), s < end);
    sc[lid] = pj;
    red[lid] = pj;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st >>= 1u) {
      if (lid < st) {
        red[lid] += red[lid + st];
      }
      workgroupBarrier();
    }
    let corr = exp(m - bm);
    l = l * corr + red[0];
    let cnt = min(WG, end - s0);
    if (in_group) {
      for (var a = 0u; a < NA; a++) {
        acc[a] *= corr;
      }
      // four keys per step: independent loads in flight instead of one dependent chain per key
      var j = g;
      for (; j + 3u * G < cnt; j += 4u * G) {
        let vb = (s0 + j) * p.Ckv + ko;
        let st = G * p.Ckv;
        let p0 = sc[j];
        let p1 = sc[j + G];
        let p2 = sc[j + 2u * G];
        let p3 = sc[j + 3u * G];
        for (var a = 0u; a < NA; a++) {
          let i = d + a * WG;
          if (i < HD) {
            acc[a] += p0 * v1(vb + i) + p1 * v1(vb + st + i) + p2 * v1(vb + 2u * st + i) + p3 * v1(vb + 3u * st + i);
          }
        }
      }
      for (; j < cnt; j += G) {
        let pv = sc[j];
        let vb = (s0 + j) * p.Ckv + ko;
        for (var a = 0u; a < NA; a++) {
          let i = d + a * WG;
          if (i < HD) {
            acc[a] += pv * v1(vb + i);
          }
        }
      }
    }
    m = bm;
    workgroupBarrier();
  }
  // add the G key groups' partial sums (dims < WG only when G > 1, so NA == 1)
  if (G > 1u) {
    red[lid] = select(0.0, acc[0], in_group);
    workgroupBarrier();
    if (lid < HD) {
      var total = 0.0;
      for (var gg = 0u; gg < G; gg++) {
        total += red[gg * HD + lid];
      }
      acc[0] = total;
    }
  }
  let writer = select(true, (lid < HD), (G > 1u));
  if (SPLIT) {
    // partial record of HD + 2 floats per (t, h, split): acc (unnormalised), m, l
    let base = ((t * (p.Cq / HD) + h) * p.nSplit + split) * (HD + 2u);
    if (writer) {
      for (var a = 0u; a < NA; a++) {
        let i = d + a * WG;
        if (i < HD) {
          out[base + i] = acc[a];
        }
      }
    }
    if (lid == 0u) {
      out[base + HD] = m;
      out[base + HD + 1u] = l;
    }
  } else if (writer) {
    for (var a = 0u; a < NA; a++) {
      let i = d + a * WG;
      if (i < HD) {
        out[qo + i] = acc[a] / l;
      }
    }
  }
}
