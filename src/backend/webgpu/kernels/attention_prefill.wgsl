// Causal attention for prefill (many query rows), flash-style: one workgroup
// per (block of BQ query rows, head), QS threads per query row, each owning
// DQ = HD / QS of the head's dims (so a thread holds DQ query and DQ output
// floats in registers, not HD: hd = 128 does not spill). K and V are streamed
// through shared memory in blocks of BK keys shared by all BQ rows; the QS
// partial dot products of a row meet in shared memory; each thread keeps the
// row's running max m and sum l and rescales its accumulator once per block
// (online softmax). GQA: query head h reads kv head h / group.
// Header: BQ, QS, WG = BQ·QS, BK, HD, DQ. Grid: x = ceil(T / BQ), y = heads.
// The first query row is at pos0 + posOff[0] (a device position or a zero word).
struct Params {
  T: u32,
  Cq: u32,
  Ckv: u32,
  group: u32,
  pos0: u32,
  scale: f32,
  S: u32, // cache rows: no key at or beyond S is read
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<KK>; // KK, KV, k1, v1: kv_f32.wgsl or kv_f16.wgsl
@group(0) @binding(3) var<storage, read> v: array<KV>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> posOff: array<i32>;

var<workgroup> ks: array<f32, BK * HD>;
var<workgroup> vs: array<f32, BK * HD>;
var<workgroup> pd: array<f32, WG * BK>; // partial dots: [thread][key]

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t0 = wid.x * BQ;
  let h = wid.y;
  let row = lid / QS;
  let part = lid % QS;
  let t = t0 + row;
  let d0 = part * DQ; // this thread's first dim
  let ko = (h / p.group) * HD;
  let qo = t * p.Cq + h * HD + d0;
  var qr: array<f32, DQ>;
  var acc: array<f32, DQ>;
  for (var i = 0u; i < DQ; i++) {
    qr[i] = select(0.0, q[qo + i], t < p.T) * p.scale;
    acc[i] = 0.0;
  }
  let P = u32(max(i32(p.pos0) + posOff[0], 0));
  let n = select(0u, min(P + t + 1u, p.S), t < p.T); // keys this row sees
  let nMax = min(P + min(t0 + BQ, p.T), p.S); // keys any row of the block sees
  var m = -0x1.fffffep+127f;
  var l = 0.0;
  for (var s0 = 0u; s0 < nMax; s0 += BK) {
    for (var e = lid; e < BK * HD; e += WG) {
      let s = s0 + e / HD;
      let src = s * p.Ckv + ko + e % HD;
      ks[e] = select(0.0, k1(src), s < nMax);
      vs[e] = select(0.0, v1(src), s < nMax);
    }
    workgroupBarrier();
    for (var j = 0u; j < BK; j++) {
      var dot = 0.0;
      for (var i = 0u; i < DQ; i++) {
        dot += qr[i] * ks[j * HD + d0 + i];
      }
      pd[lid * BK + j] = dot;
    }
    workgroupBarrier();
    var sc: array<f32, BK>;
    var bm = m;
    for (var j = 0u; j < BK; j++) {
      var dot = 0.0;
      for (var c = 0u; c < QS; c++) {
        dot += pd[(row * QS + c) * BK + j];
      }
      sc[j] = dot;
      if (s0 + j < n) {
        bm = max(bm, dot);
      }
    }
    if (s0 < n) {
      let corr = exp(m - bm);
      l *= corr;
      for (var i = 0u; i < DQ; i++) {
        acc[i] *= corr;
      }
      for (var j = 0u; j < BK; j++) {
        if (s0 + j < n) {
          let pj = exp(sc[j] - bm);
          l += pj;
          for (var i = 0u; i < DQ; i++) {
            acc[i] += pj * vs[j * HD + d0 + i];
          }
        }
      }
      m = bm;
    }
    workgroupBarrier();
  }
  if (t < p.T) {
    for (var i = 0u; i < DQ; i++) {
      out[qo + i] = acc[i] / l;
    }
  }
}
