// One-pass decode attention: one workgroup per (query head h, query row t) takes every key the
// row sees (n ≤ MAXK) in a single dispatch, with no partial records and no combine pass.
// Scores: thread j scores keys j, j + WG, … (a full dot over hd, K as vec4s when HD % 4 == 0)
// into sc; a workgroup max M, then p = e^(score − M) back into sc and their sum l.
// Values: thread (g, c) — value column c (a vec4 of dims 4c…4c+3, or dim c when HD % 4 != 0;
// NC columns) and key group g (G = WG / NC groups) — accumulates Σ p_s·v[s, column c] over keys
// s ≡ g (mod G), U keys' loads issued before any is used; the NC threads of a key group read
// whole V rows, contiguously. The G partial sums are added through workgroup memory; out = Σ / l.
// Workgroup memory: 16·⌈HD/4⌉ + 4·MAXK + 16·WG bytes (13 KiB at HD 256, MAXK 2048, WG 256), and
// 32·⌈HD/4⌉ more with the rope io file (15 KiB at HD 256: within the 16 KiB WebGPU default).
// Header: WG (a power of two), HD (headDim, with NC ≤ WG), MAXK (most keys; the launcher keeps
// n ≤ MAXK), SG (subgroup size, 0 without). Grid: x = heads, y = T.
// block_reduce comes from attention_reduce_subgroup.wgsl (SG > 0) or attention_reduce_shared.wgsl.
// The q/k/v bindings and the query/new-key functions come from an io file in front of this one:
// attention_decode_io.wgsl (q rotated already, the new key in the cache), or
// attention_decode_rope.wgsl (T = 1: RoPE and the KV-cache append folded in, Backend.ropeKvAttention).
// The first query row is at pos0 + posOff[0] (posOff: the op's device position, or a zero
// word), so the recorded dispatch does not depend on the position; no key at or beyond S is read.
struct Params {
  Cq: u32,
  Ckv: u32,
  group: u32,
  pos0: u32,
  scale: f32,
  S: u32, // cache rows
  half: u32, // rope io: headDim / 2
  maxPos: u32, // rope io: rows of the cos / sin tables
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> posOff: array<i32>;

const U = 32u; // value loads in flight per thread (one round up to 32·G keys; 8 took 35.6 µs a layer at 900 cache rows on the H200, 32 took 30.9)

var<workgroup> sc: array<f32, MAXK>; // scores, then p = e^(score − M)
var<workgroup> red: array<vec4<f32>, WG>; // the max and sum reductions (in x), then the G partial sums

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.x;
  let t = wid.y;
  let qo = t * p.Cq + h * HD;
  let ko = (h / p.group) * HD;
  let P = u32(max(i32(p.pos0) + posOff[0], 0)) + t; // this row's position
  load_q(lid, h, t, P);
  let fresh = new_key(lid, h, t, P); // key n − 1 is in workgroup memory (kn, vn), not read from the cache
  workgroupBarrier();
  let n = min(P + 1u, p.S); // keys visible to this row, ≥ 1

  // scores and their max M (finite: key 0 is always scored)
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
  m = block_reduce(lid, m, true);
  // p = e^(score − M) in place (each thread its own keys), l = Σ p ≥ 1; the barriers in
  // block_reduce make every p visible to the value pass
  var l = 0.0;
  for (var s = lid; s < n; s += WG) {
    let e = exp(sc[s] - m);
    sc[s] = e;
    l += e;
  }
  l = block_reduce(lid, l, false);

  // values: thread (g, c) over keys g, g + G, …; U loads per step, keys past n reload
  // key n − 1 and are weighted 0
  let g = lid / NC;
  let c = lid % NC;
  var acc = vec4<f32>(0.0);
  if (g < G) {
    // the new key's value column as a loaded one, packed once here: packed in the U-fold unrolled
    // loop below, the f16 cache's rounding code made the H200's value pass slower than f32's
    let vnr = vr_of(vn_col(c));
    for (var s0 = g; s0 < n; s0 += U * G) {
      var vv: array<VR, U>; // as loaded (an f16 cache's halves widen at the product: fewer registers in flight)
      for (var u = 0u; u < U; u++) {
        let s = min(s0 + u * G, n - 1u);
        if (fresh && s == n - 1u) {
          vv[u] = vnr;
        } else {
          vv[u] = v_raw(s * p.Ckv + ko, c);
        }
      }
      for (var u = 0u; u < U; u++) {
        let s = s0 + u * G;
        if (s < n) {
          acc += sc[s] * vwide(vv[u]);
        }
      }
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  if (lid < NC) {
    var total = vec4<f32>(0.0);
    for (var gg = 0u; gg < G; gg++) {
      total += red[gg * NC + lid];
    }
    let o = total / l;
    if (VEC) {
      for (var i = 0u; i < 4u; i++) {
        out[qo + 4u * lid + i] = o[i];
      }
    } else {
      out[qo + lid] = o.x;
    }
  }
}
