// Sampled next tokens (Backend.sample; ops.sampleRow is the reference): one workgroup per row t of
// logits draws ids[t] with u = uniforms[j], j = pos[0] + t + 1 under HISTORY (the draw of the
// position the token will occupy), else t.
//   1. m = max logit, p_i = e^((l_i − m)/temperature) (NaN → 0; p ≤ 1 = e^0), S = Σ p, min p.
//   2. Filters (top-k when 0 < topK < V, top-p when topP < 1): the thresholds are p values, and
//      non-negative floats order as their bits, so each is a binary search over u32 bits in
//      [bits(min p), bits(1.0)]: τk the largest b with #{p ≥ b} ≥ k, τp the largest with
//      Σ{p ≥ b} ≥ topP·S, both in the same halvings (at most 30) until both end: full passes over
//      the row until at most CAP elements are undecided (inside either interval), then over
//      those alone, compacted in workgroup memory.
//      τ = max(τk, τp); every p > τ is kept and the first m of those equal to τ by index (m from the filter that set τ: k − #{p > τ}, or the fewest ties that
//      bring the mass to topP·S).
//   3. The draw walks the kept tokens in index order: each thread owns a contiguous slice, the
//      slices' tie counts and kept masses are prefix-summed (`prefix`: serial within runs of 32
//      threads and across runs, so the slices' mass intervals [M_t, M_t+1) tile [0, Σ kept) exactly
//      in f32), and the thread whose interval holds u·Σ kept walks its slice to the first token
//      whose running mass exceeds it, or its last kept token if rounding leaves none. A draw that
//      rounds up to Σ kept picks the row's last kept token; no mass at all gives 0.
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
const ONE_BITS = 0x3f800000u; // 1.0, the largest p

var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> total: f32;
var<workgroup> uu: f32; // this row's draw
var<workgroup> tok: u32;
const CAP = 2048u; // undecided elements the threshold search compacts (decode.ts SAMPLE_FIXED_BYTES counts it)
var<workgroup> few: u32; // the last full pass left at most CAP undecided
var<workgroup> nc: atomic<u32>;
var<workgroup> cb: array<u32, CAP>; // their bits

fn prob(row: u32, i: u32, m: f32) -> f32 {
  let e = exp((logits[row + i] - m) * p.invT);
  return select(0.0, e, e >= 0.0);
}

// Whether bits b lie inside an active filter's open interval [lo, hi) (the search has not placed it).
fn undecided(b: u32, kOn: bool, loK: u32, hiK: u32, pOn: bool, loP: u32, hiP: u32) -> bool {
  return (kOn && b >= loK && b < hiK) || (pOn && b >= loP && b < hiP);
}

// Whether both active searches have ended (hi = lo + 1: lo is the threshold).
fn searched(kOn: bool, loK: u32, hiK: u32, pOn: bool, loP: u32, hiP: u32) -> bool {
  return (!kOn || hiK - loK <= 1u) && (!pOn || hiP - loP <= 1u);
}

// Whether a token with bits b is kept: above τ, or at τ among the first `ties` of those (rank: ties before it).
fn kept(b: u32, rank: u32, tau: u32, ties: u32) -> bool {
  return b > tau || (b == tau && rank < ties);
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

// Σ of v (≥ 0) over the threads before this one, and the next thread's (the whole sum, also left in
// `total`, for the last thread), scanned in two serial levels: each run of RUN threads by its first
// thread, then the runs' totals by thread 0 (RUN + WG / RUN dependent adds, not WG). Every serial
// add of a v ≥ 0 rounds to no less than it started from, and the first prefix of a run is its
// run's offset + 0, so the prefixes never decrease: the threads' intervals [prefix, next) tile
// [0, total) exactly and a draw in it lands in one of them.
const RUN: u32 = min(32u, WG);
var<workgroup> runs: array<f32, WG / RUN>;

fn prefix(lid: u32, v: f32) -> vec2<f32> {
  red[lid].x = v;
  workgroupBarrier();
  if (lid % RUN == 0u) {
    var acc = 0.0;
    for (var j = lid; j < lid + RUN; j++) {
      let x = red[j].x;
      red[j].y = acc;
      acc += x;
    }
    runs[lid / RUN] = acc;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var acc = 0.0;
    for (var g = 0u; g < WG / RUN; g++) {
      let x = runs[g];
      runs[g] = acc;
      acc += x;
    }
    total = acc;
  }
  workgroupBarrier();
  let r = runs[lid / RUN] + red[lid].y;
  red[lid].z = r;
  workgroupBarrier();
  let nx = select(total, red[min(lid + 1u, WG - 1u)].z, lid + 1u < WG);
  workgroupBarrier();
  return vec2<f32>(r, nx);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.x * p.V;
  if (lid == 0u) {
    tok = NONE;
    var j = wid.x;
    if (HISTORY) {
      j = u32(max(pos[0] + i32(wid.x) + 1, 0));
    }
    uu = uniforms[min(j, p.NU - 1u)];
  }
  // 1. the largest logit and the total mass
  var m = -0x1.fffffep+127f;
  for (var i = lid; i < p.V; i += WG) {
    let x = logits[row + i];
    if (x > m) {
      m = x;
    }
  }
  m = max1(lid, m);
  var s = 0.0;
  var lo = 0x1.fffffep+127f; // the smallest p: where the threshold searches start
  for (var i = lid; i < p.V; i += WG) {
    let q = prob(row, i, m);
    s += q;
    lo = min(lo, q);
  }
  let S = sum4(lid, vec4<f32>(s, 0.0, 0.0, 0.0)).x;
  let pmin = -max1(lid, -lo);

  // 2. the filters' thresholds: invariants #{p ≥ loK} ≥ k > #{p ≥ hiK}, Σ{p ≥ loP} ≥ topP·S > Σ{p ≥ hiP},
  // from lo = bits(min p) (every p is ≥ it: all V ≥ k of them, all of S ≥ topP·S), not 0: a flat
  // row (p in [0.5, 1]) took 7 halvings from 0 to reach its exponent. Full passes until at most
  // CAP elements lie in either open interval [lo, hi); those are then compacted into cb (the
  // others' share of each side fixed: `fixed`) and the halvings read only them, until both
  // searches end (hi = lo + 1; 30 halvings always do: 2^30 > ONE_BITS + 1).
  let kOn = p.topK > 0u && p.topK < p.V;
  let pOn = p.topP < 1.0;
  let goal = p.topP * S;
  let lo0 = bitcast<u32>(pmin);
  var loK = lo0;
  var hiK = ONE_BITS + 1u;
  var loP = lo0;
  var hiP = ONE_BITS + 1u;
  var it = 0u;
  if (lid == 0u) {
    few = select(0u, 2u, searched(kOn, loK, hiK, pOn, loP, hiP)); // 2: the searches ended, 1: few undecided
  }
  if (kOn || pOn) {
    for (; it < 30u; it++) {
      if (workgroupUniformLoad(&few) != 0u) {
        break;
      }
      let midK = (loK + hiK) / 2u;
      let midP = (loP + hiP) / 2u;
      var a = vec4<f32>(0.0);
      for (var i = lid; i < p.V; i += WG) {
        let q = prob(row, i, m);
        let b = bitcast<u32>(q);
        a.x += select(0.0, 1.0, b >= midK);
        a.y += select(0.0, q, b >= midP);
        a.z += select(0.0, 1.0, undecided(b, kOn, loK, hiK, pOn, loP, hiP));
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
      if (lid == 0u) {
        if (searched(kOn, loK, hiK, pOn, loP, hiP)) {
          few = 2u;
        } else if (r.z <= f32(CAP)) {
          few = 1u; // the halved intervals hold no more
        }
      }
    }
  }
  if ((kOn || pOn) && workgroupUniformLoad(&few) == 1u) {
    // compaction (a subset of the last pass's ≤ CAP undecided elements); none without a filter
    if (lid == 0u) {
      atomicStore(&nc, 0u);
    }
    workgroupBarrier();
    var a = vec4<f32>(0.0);
    for (var i = lid; i < p.V; i += WG) {
      let q = prob(row, i, m);
      let b = bitcast<u32>(q);
      if (undecided(b, kOn, loK, hiK, pOn, loP, hiP)) {
        cb[min(atomicAdd(&nc, 1u), CAP - 1u)] = b; // < CAP: the last full pass counted them
      } else {
        a.x += select(0.0, 1.0, b >= hiK);
        a.y += select(0.0, q, b >= hiP);
      }
    }
    let fixed = sum4(lid, a); // sum4's barriers also publish cb and nc
    let n = atomicLoad(&nc);
    for (; it < 30u; it++) {
      if (workgroupUniformLoad(&few) == 2u) {
        break;
      }
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
      if (lid == 0u && searched(kOn, loK, hiK, pOn, loP, hiP)) {
        few = 2u;
      }
    }
  }
  let tau = max(select(0u, loK, kOn), select(0u, loP, pOn));
  var c = vec4<f32>(0.0); // #{p > τ}, Σ{p > τ}, #{p = τ}
  for (var i = lid; i < p.V; i += WG) {
    let q = prob(row, i, m);
    let b = bitcast<u32>(q);
    if (b > tau) {
      c.x += 1.0;
      c.y += q;
    } else if (b == tau) {
      c.z += 1.0;
    }
  }
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

  // 3. the draw, over contiguous slices in index order
  let SL = (p.V + WG - 1u) / WG;
  let i0 = min(lid * SL, p.V);
  let i1 = min(i0 + SL, p.V);
  var te = 0u;
  for (var i = i0; i < i1; i++) {
    te += select(0u, 1u, bitcast<u32>(prob(row, i, m)) == tau);
  }
  let E = u32(prefix(lid, f32(te)).x); // ties before this slice
  var rank = E;
  var mass = 0.0;
  var last = NONE;
  for (var i = i0; i < i1; i++) {
    let q = prob(row, i, m);
    let b = bitcast<u32>(q);
    if (kept(b, rank, tau, ties)) {
      mass += q;
      if (q > 0.0) {
        last = i;
      }
    }
    rank += select(0u, 1u, b == tau);
  }
  let Mn = prefix(lid, mass);
  let M = Mn.x;
  let x = uu * total;
  if (mass > 0.0 && x >= M && x < Mn.y) {
    // this slice holds the draw (at most one does: the intervals tile [0, total))
    var found = last;
    var cum = M;
    rank = E;
    for (var i = i0; i < i1; i++) {
      let q = prob(row, i, m);
      let b = bitcast<u32>(q);
      if (kept(b, rank, tau, ties)) {
        cum += q;
        if (cum > x) {
          found = i;
          break;
        }
      }
      rank += select(0u, 1u, b == tau);
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
