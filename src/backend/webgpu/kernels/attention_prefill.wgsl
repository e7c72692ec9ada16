// Causal attention for prefill (many query rows), flash-style: one workgroup
// per (block of BQ query rows, head), one thread per query row. K and V are
// streamed through shared memory in blocks of BK keys shared by all BQ rows;
// each thread keeps its query, running max m, running sum l and output
// accumulator in registers and rescales once per block (online softmax).
// Header: BQ (= workgroup size), BK, HD (headDim).
// Grid: x = ceil(T / BQ), y = heads.
struct Params {
  T: u32,
  Cq: u32,
  Ckv: u32,
  group: u32,
  pos0: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> ks: array<f32, BK * HD>;
var<workgroup> vs: array<f32, BK * HD>;

@compute @workgroup_size(BQ)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t0 = wid.x * BQ;
  let h = wid.y;
  let t = t0 + lid;
  let ko = (h / p.group) * HD;
  let qo = t * p.Cq + h * HD;
  var qr: array<f32, HD>;
  var acc: array<f32, HD>;
  for (var i = 0u; i < HD; i++) {
    qr[i] = select(0.0, q[qo + i], t < p.T) * p.scale;
    acc[i] = 0.0;
  }
  let n = select(0u, p.pos0 + t + 1u, t < p.T); // keys this row sees
  let nMax = p.pos0 + min(t0 + BQ, p.T); // keys any row of the block sees
  var m = -0x1.fffffep+127f;
  var l = 0.0;
  for (var s0 = 0u; s0 < nMax; s0 += BK) {
    for (var e = lid; e < BK * HD; e += BQ) {
      let s = s0 + e / HD;
      let src = s * p.Ckv + ko + e % HD;
      ks[e] = select(0.0, k[src], s < nMax);
      vs[e] = select(0.0, v[src], s < nMax);
    }
    workgroupBarrier();
    var sc: array<f32, BK>;
    var bm = m;
    for (var j = 0u; j < BK; j++) {
      var dot = 0.0;
      for (var i = 0u; i < HD; i++) {
        dot += qr[i] * ks[j * HD + i];
      }
      sc[j] = dot;
      if (s0 + j < n) {
        bm = max(bm, dot);
      }
    }
    if (s0 < n) {
      let corr = exp(m - bm);
      l *= corr;
      for (var i = 0u; i < HD; i++) {
        acc[i] *= corr;
      }
      for (var j = 0u; j < BK; j++) {
        if (s0 + j < n) {
          let pj = exp(sc[j] - bm);
          l += pj;
          for (var i = 0u; i < HD; i++) {
            acc[i] += pj * vs[j * HD + i];
          }
        }
      }
      m = bm;
    }
    workgroupBarrier();
  }
  if (t < p.T) {
    for (var i = 0u; i < HD; i++) {
      out[qo + i] = acc[i] / l;
    }
  }
}
