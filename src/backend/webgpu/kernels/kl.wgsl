// out[t] = (KL(softmax p[t] ‖ softmax q[t]), 1 if argmax p[t] = argmax q[t] else 0);
// one workgroup per row, two passes over V:
//   1. maxima and first argmaxes of p and q;
//   2. sp = Σ e^(p−mp), sq = Σ e^(q−mq), sd = Σ e^(p−mp)·(p − q);
// KL = sd/sp − (mp + log sp) + (mq + log sq). Only 2·T floats go back to the host.
// Header: WG (a power of two).
struct Params {
  V: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lp: array<f32>;
@group(0) @binding(2) var<storage, read> lq: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> rmp: array<f32, WG>;
var<workgroup> rmq: array<f32, WG>;
var<workgroup> rap: array<u32, WG>;
var<workgroup> raq: array<u32, WG>;
var<workgroup> rsp: array<f32, WG>;
var<workgroup> rsq: array<f32, WG>;
var<workgroup> rsd: array<f32, WG>;

// (value, index) of the larger, the smaller index on ties: the first maximum.
fn better(va: f32, ia: u32, vb: f32, ib: u32) -> bool {
  return vb > va || (vb == va && ib < ia);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x * p.V;
  var mp = -0x1.fffffep+127f;
  var mq = -0x1.fffffep+127f;
  var ap = 0xffffffffu;
  var aq = 0xffffffffu;
  for (var i = lid; i < p.V; i += WG) {
    let a = lp[row + i];
    let b = lq[row + i];
    if (better(mp, ap, a, i)) {
      mp = a;
      ap = i;
    }
    if (better(mq, aq, b, i)) {
      mq = b;
      aq = i;
    }
  }
  rmp[lid] = mp;
  rap[lid] = ap;
  rmq[lid] = mq;
  raq[lid] = aq;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      if (better(rmp[lid], rap[lid], rmp[lid + s], rap[lid + s])) {
        rmp[lid] = rmp[lid + s];
        rap[lid] = rap[lid + s];
      }
      if (better(rmq[lid], raq[lid], rmq[lid + s], raq[lid + s])) {
        rmq[lid] = rmq[lid + s];
        raq[lid] = raq[lid + s];
      }
    }
    workgroupBarrier();
  }
  let MP = rmp[0];
  let MQ = rmq[0];
  var sp = 0.0;
  var sq = 0.0;
  var sd = 0.0;
  for (var i = lid; i < p.V; i += WG) {
    let a = lp[row + i];
    let b = lq[row + i];
    let e = exp(a - MP);
    sp += e;
    sq += exp(b - MQ);
    sd += e * (a - b);
  }
  rsp[lid] = sp;
  rsq[lid] = sq;
  rsd[lid] = sd;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      rsp[lid] += rsp[lid + s];
      rsq[lid] += rsq[lid + s];
      rsd[lid] += rsd[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let t = wid.x;
    out[2u * t] = rsd[0] / rsp[0] - (MP + log(rsp[0])) + (MQ + log(rsq[0]));
    out[2u * t + 1u] = select(0.0, 1.0, rap[0] == raq[0]);
  }
}
