// Sampled next tokens (Backend.sample; ops.sampleRow is the reference): one workgroup per row t of
// logits draws ids[t] with u = uniforms[j], j = pos[0] + t + 1 under HISTORY (the draw of the
// position the token will occupy), else t.
//   1. m = max logit, p_i = e^((l_i − m)/temperature) (NaN → 0; p ≤ 1 = e^0), S = Σ p.
//   2. Filters (top-k when 0 < topK < V, top-p when topP < 1): the thresholds are p values, and
//      non-negative floats order as their bits, so each is a binary search over u32 bits in
//      [0, bits(1.0)]: τk the largest b with #{p ≥ b} ≥ k, τp the largest with Σ{p ≥ b} ≥ topP·S,
//      both in the same 30 halvings: full passes over the row until at most CAP elements are
//      undecided (inside either interval), then over those alone, compacted in workgroup memory. τ = max(τk, τp); every p > τ is kept and the first m of those
//      equal to τ by index (m from the filter that set τ: k − #{p > τ}, or the fewest ties that
//      bring the mass to topP·S).
//   3. The draw walks the kept tokens in index order: each thread owns a contiguous slice, the
//      slices' tie counts and kept masses are prefix-summed one after another by thread 0 (so
//      the slices' mass intervals [M_t, M_t + mass_t) tile [0, Σ kept) exactly in f32), and the
//      thread whose interval holds u·Σ kept walks its slice to the first token whose running mass
//      exceeds it. Rounding that leaves no token picks the last kept one; no mass at all gives 0.
// HISTORY / ADVANCE as argmax.wgsl (thread 0 alone reads and writes pos). Header: WG (a power of
// two), HISTORY, ADVANCE. Grid: x = T.
struct Params {
  V: u32,
  N: u32, // tokens
  NU: u32, // uniforms
  topK: u32, // 0: off
  invT: f32, // 1 / temperature
  topP: f32, // 1: off
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> tokens: array<i32>;
@group(0) @binding(4) var<storage, read_write> pos: array<i32>;
@group(0) @binding(5) var<storage, read> uniforms: array<f32>;

const NONE = 0xffffffffu;
const U = 8u; // logits loaded at once per thread
const ONE_BITS = 0x3f800000u; // 1.0, the largest p

var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> total: f32;
var<workgroup> uu: f32; // this row's draw
var<workgroup> tok: u32;
const CAP = 2048u; // undecided elements the threshold search compacts
var<workgroup> few: u32; // the last full pass left at most CAP undecided
var<workgroup> nc: atomic<u32>;
var<workgroup> cb: array<u32, CAP>; // their bits

// p of the logit x (NaN → 0).
fn pr(x: f32, m: f32) -> f32 {
  let e = exp((x - m) * p.invT);
  return select(0.0, e, e >= 0.0);
}

// The U logits row + i, i + S, …, i + (U − 1)·S, all loads issued before any is used (one at a
// time, every pass waited on each load in turn: 40 µs for 32000 logits on the H200); past the
// end (i ≥ e) the last one again, for the caller to skip.
fn load_u(row: u32, i: u32, S: u32, e: u32) -> array<f32, U> {
  var x: array<f32, U>;
  for (var u = 0u; u < U; u++) {
    x[u] = logits[row + min(i + u * S, e - 1u)];
  }
  return x;
}

// v summed over the workgroup, returned to every thread (uniform control flow).
fn sum4(lid: u32, v: vec4<f32>) -> vec4<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// the largest v of the workgroup (NaN never wins), returned to every thread.
fn max1(lid: u32, v: f32) -> f32 {
  red[lid].x = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && red[lid + s].x > red[lid].x) {
      red[lid].x = red[lid + s].x;
    }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}

// Σ of v over the threads before this one, summed one thread after another by thread 0, so that
// prefix(t) + v_t is prefix(t + 1) exactly; the whole sum in `total`.
fn prefix(lid: u32, v: f32) -> f32 {
  red[lid].x = v;
  workgroupBarrier();
  if (lid == 0u) {
    var acc = 0.0;
    for (var j = 0u; j < WG; j++) {
      let x = red[j].x;
      red[j].y = acc;
      acc += x;
    }
    total = acc;
  }
  workgroupBarrier();
  let r = red[lid].y;
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x * p.V;
  let V = p.V;
  if (lid == 0u) {
    tok = NONE;
    var j = wid.x;
    if (HISTORY) {
      j = u32(max(pos[0] + i32(wid.x) + 1, 0));
    }
    uu = uniforms[min(j, p.NU - 1u)];
  }
  // 1. the largest logit and the total mass (strided passes: logit i by thread i % WG)
  var m = -0x1.fffffep+127f;
  for (var i = lid; i < V; i += U * WG) {
    let x = load_u(row, i, WG, V);
    for (var u = 0u; u < U; u++) {
      if (x[u] > m) { // a repeat past the end changes nothing
        m = x[u];
      }
    }
  }
  m = max1(lid, m);
  var s = 0.0;
  for (var i = lid; i < V; i += U * WG) {
    let x = load_u(row, i, WG, V);
    for (var u = 0u; u < U; u++) {
      s += select(0.0, pr(x[u], m), i + u * WG < V);
    }
  }
  let S = sum4(lid, vec4<f32>(s, 0.0, 0.0, 0.0)).x;

  // 2. the filters' thresholds: invariants #{p ≥ loK} ≥ k > #{p ≥ hiK}, Σ{p ≥ loP} ≥ topP·S > Σ{p ≥ hiP}.
  // Full passes until at most CAP elements lie in either open interval [lo, hi); those are then
  // compacted into cb (the others' share of each side fixed) and the rest of the 30 halvings read
  // only them.
  let kOn = p.topK > 0u && p.topK < V;
  let pOn = p.topP < 1.0;
  let goal = p.topP * S;
  var loK = 0u;
  var hiK = ONE_BITS + 1u;
  var loP = 0u;
  var hiP = ONE_BITS + 1u;
  if (kOn || pOn) {
    var it = 0u;
    if (lid == 0u) {
      few = 0u;
    }
    for (; it < 30u; it++) { // 2^30 > ONE_BITS + 1
      if (workgroupUniformLoad(&few) != 0u) {
        break;
      }
      let midK = (loK + hiK) / 2u;
      let midP = (loP + hiP) / 2u;
      var a = vec4<f32>(0.0);
      for (var i = lid; i < V; i += U * WG) {
        let x = load_u(row, i, WG, V);
        for (var u = 0u; u < U; u++) {
          if (i + u * WG < V) {
            let q = pr(x[u], m);
            let b = bitcast<u32>(q);
            a.x += select(0.0, 1.0, b >= midK);
            a.y += select(0.0, q, b >= midP);
            a.z += select(0.0, 1.0, (kOn && b >= loK && b < hiK) || (pOn && b >= loP && b < hiP));
          }
        }
      }
      let r = sum4(lid, a);
      if (r.x >= f32(p.topK)) {
        loK = midK;
      } else {
        hiK = midK;
      }
      if (r.y >= goal) {
        loP = midP;
      } else {
        hiP = midP;
      }
      if (lid == 0u && r.z <= f32(CAP)) {
        few = 1u; // the halved intervals hold no more
      }
    }
    if (it < 30u) {
      // compaction (a subset of the last pass's ≤ CAP undecided elements)
      if (lid == 0u) {
        atomicStore(&nc, 0u);
      }
      workgroupBarrier();
      var a = vec4<f32>(0.0);
      for (var i = lid; i < V; i += U * WG) {
        let x = load_u(row, i, WG, V);
        for (var u = 0u; u < U; u++) {
          if (i + u * WG < V) {
            let q = pr(x[u], m);
            let b = bitcast<u32>(q);
            if ((kOn && b >= loK && b < hiK) || (pOn && b >= loP && b < hiP)) {
              cb[min(atomicAdd(&nc, 1u), CAP - 1u)] = b; // < CAP: the last full pass counted them
            } else {
              a.x += select(0.0, 1.0, b >= hiK);
              a.y += select(0.0, q, b >= hiP);
            }
          }
        }
      }
      let fixed = sum4(lid, a); // sum4's barriers also publish cb and nc
      let n = atomicLoad(&nc);
      for (; it < 30u; it++) {
        let midK = (loK + hiK) / 2u;
        let midP = (loP + hiP) / 2u;
        var c = vec4<f32>(0.0);
        for (var j = lid; j < n; j += WG) {
          let b = cb[j];
          c.x += select(0.0, 1.0, b >= midK);
          c.y += select(0.0, bitcast<f32>(b), b >= midP);
        }
        let r = sum4(lid, c);
        if (fixed.x + r.x >= f32(p.topK)) {
          loK = midK;
        } else {
          hiK = midK;
        }
        if (fixed.y + r.y >= goal) {
          loP = midP;
        } else {
          hiP = midP;
        }
      }
    }
  }
  let tau = max(select(0u, loK, kOn), select(0u, loP, pOn));

  // 3. over contiguous slices, in index order: #{p > τ}, Σ{p > τ}, #{p = τ} and each slice's ties,
  // then each slice's kept mass, then the draw
  let SL = (V + WG - 1u) / WG;
  let i0 = min(lid * SL, V);
  let i1 = min(i0 + SL, V);
  var c = vec4<f32>(0.0);
  for (var i = i0; i < i1; i += U) {
    let x = load_u(row, i, 1u, i1);
    for (var u = 0u; u < U; u++) {
      if (i + u < i1) {
        let q = pr(x[u], m);
        let b = bitcast<u32>(q);
        if (b > tau) {
          c.x += 1.0;
          c.y += q;
        } else if (b == tau) {
          c.z += 1.0;
        }
      }
    }
  }
  let te = c.z; // this slice's ties
  let cr = sum4(lid, c);
  let ceq = u32(cr.z);
  var ties = ceq; // ties kept
  if (kOn && loK == tau) {
    ties = min(ties, p.topK - u32(cr.x));
  }
  let tf = bitcast<f32>(tau);
  if (pOn && loP == tau && tf > 0.0) {
    ties = min(ties, u32(clamp(ceil((goal - cr.y) / tf), 1.0, f32(ceq))));
  }
  let E = u32(prefix(lid, te)); // ties before this slice
  var rank = E;
  var mass = 0.0;
  var last = NONE;
  for (var i = i0; i < i1; i += U) {
    let x = load_u(row, i, 1u, i1);
    for (var u = 0u; u < U; u++) {
      if (i + u < i1) {
        let q = pr(x[u], m);
        let b = bitcast<u32>(q);
        if (b > tau || (b == tau && rank < ties)) {
          mass += q;
          if (q > 0.0) {
            last = i + u;
          }
        }
        rank += select(0u, 1u, b == tau);
      }
    }
  }
  let M = prefix(lid, mass);
  let xd = uu * total;
  if (mass > 0.0 && xd >= M && xd < M + mass) {
    // this slice holds the draw (one slice does: M + mass is the next slice's M)
    var found = last;
    var cum = M;
    rank = E;
    var done = false;
    for (var i = i0; i < i1 && !done; i += U) {
      let x = load_u(row, i, 1u, i1);
      for (var u = 0u; u < U; u++) {
        if (i + u < i1 && !done) {
          let q = pr(x[u], m);
          let b = bitcast<u32>(q);
          if (b > tau || (b == tau && rank < ties)) {
            cum += q;
            if (cum > xd) {
              found = i + u;
              done = true;
            }
          }
          rank += select(0u, 1u, b == tau);
        }
      }
    }
    tok = found;
  }
  // no slice holds it (u·Σ rounded up to Σ, or no mass): the last kept token, else 0
  let fb = max1(lid, select(-1.0, f32(last), last != NONE));
  if (lid == 0u) {
    var id = tok;
    if (id == NONE) {
      id = select(0u, u32(fb), fb >= 0.0);
    }
    ids[wid.x] = i32(id);
    if (HISTORY) {
      let k = pos[0] + i32(wid.x) + 1;
      if (k >= 0 && u32(k) < p.N) {
        tokens[u32(k)] = i32(id);
      }
      if (ADVANCE) {
        pos[0] = pos[0] + 1;
      }
    }
  }
}
