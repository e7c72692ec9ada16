// out[t] = logsumexp(logits[t, :]) − logits[t, targets[t]]; one workgroup per row,
// so perplexity reads back T numbers instead of T·V logits.
// Header: WG (a power of two).
struct Params {
  V: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t = wid.x;
  let row = t * p.V;
  var m = -0x1.fffffep+127f;
  for (var i = lid; i < p.V; i += WG) {
    m = max(m, logits[row + i]);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  let mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = lid; i < p.V; i += WG) {
    sum += exp(logits[row + i] - mx);
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let y = u32(clamp(targets[t], 0, i32(p.V) - 1));
    out[t] = mx + log(red[0]) - logits[row + y];
  }
}
