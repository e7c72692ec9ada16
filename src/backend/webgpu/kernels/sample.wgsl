// Sampled next tokens (Backend.sample; ops.sampleRow is the reference): one workgroup per row t of
// logits draws ids[t] with u = uniforms[j], j = pos[0] + t + 1 under HISTORY (the draw of the
// position the token will occupy), else t.
//   1. m = max logit, p_i = e^((l_i − m)/temperature) (NaN → 0; p ≤ 1 = e^0), S = Σ p, min p.
//   2. Filters (top-k when 0 < topK < V, top-p when topP < 1): the thresholds are p values, and
//      non-negative floats order as their bits, so each is a search over u32 bits in
//      [bits(min p), bits(1.0)]: τk the largest b with #{p ≥ b} ≥ k, τp the largest with
//      Σ{p ≥ b} ≥ topP·S, both in the same steps until both end. Full passes over the row test
//      three quarter points of each bracket (a bracket of L bits leaves ⌈L/4⌉) until at most CAP
//      elements are undecided (inside either bracket); those are compacted in workgroup memory
//      and halved over alone.
//      τ = max(τk, τp); every p > τ is kept and the first m of those equal to τ by index (m from
//      the filter that set τ: k − #{p > τ}, or the fewest ties that bring the mass to topP·S).
//      Without a filter every token is kept (no τ pass).
//   3. The draw walks the kept tokens in index order: each thread owns a contiguous slice, the
//      slices' tie counts (only when some ties at τ are dropped) and kept masses are prefix-summed
//      (`prefix`: serial within runs of 32 threads and across runs, so the slices' mass intervals
//      [M_t, M_t+1) tile [0, Σ kept) exactly in f32), and the thread whose interval holds u·Σ kept
//      walks its slice to the first token whose running mass exceeds it, or its last kept token if
//      rounding leaves none. A draw that rounds up to Σ kept picks the row's last kept token; no
//      mass at all gives 0.
// Every pass reads the row through row_slots.wgsl: a slot (4 logits, one 16-byte load when ALIGNED: V % 4 = 0, so every row
// starts on a vec4) at a time, U slots in flight a thread (one workgroup walks the row: one f32 a
// load, argmax's single pass over 128256 logits took 33.0 µs on the H200, in slots 16.8). Lanes past
// V in a row's last slot are masked (p = 0, never counted).
// HISTORY / ADVANCE as argmax.wgsl (thread 0 alone reads and writes pos). Header: WG (a power of
// two), HISTORY, ADVANCE, ALIGNED, U (and SG with subgroups). Grid: x = T.
struct Params {
  V: u32,
  N: u32, // tokens
  NU: u32, // uniforms
  topK: u32, // 0: off
  invT: f32, // 1 / temperature
  topP: f32, // 1: off
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<vec4<f32>>; // the buffer is a whole number of vec4s
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
var<workgroup> ranked: u32; // 1: some ties at τ are dropped, so kept() needs each token's rank

// Which lanes of slot i lie in the row.
fn inside(i: u32) -> vec4<bool> {
  return vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.V);
}

// p of each lane of a slot: e^((l − m)/temperature), NaN → 0, lanes past V 0.
fn prob(v: vec4<f32>, i: u32, m: f32) -> vec4<f32> {
  let e = exp((v - m) * p.invT);
  return select(vec4<f32>(0.0), e, (e >= vec4<f32>(0.0)) & inside(i));
}

fn count(c: vec4<bool>) -> f32 {
  return dot(select(vec4<f32>(0.0), vec4<f32>(1.0), c), vec4<f32>(1.0));
}

fn mass(q: vec4<f32>, c: vec4<bool>) -> f32 {
  return dot(select(vec4<f32>(0.0), q, c), vec4<f32>(1.0));
}

// Lanes whose bits lie inside an active filter's open interval [lo, hi) (the search has not placed them).
fn undecided(b: vec4<u32>, kOn: bool, loK: u32, hiK: u32, pOn: bool, loP: u32, hiP: u32) -> vec4<bool> {
  let k = (b >= vec4<u32>(loK)) & (b < vec4<u32>(hiK)) & vec4<bool>(kOn);
  let q = (b >= vec4<u32>(loP)) & (b < vec4<u32>(hiP)) & vec4<bool>(pOn);
  return k | q;
}

// Three quarter points of [lo, hi): lo + ⌊L·j/4⌋, L = hi − lo ≤ 2^30 + 1 (no overflow).
fn quarters(lo: u32, hi: u32) -> vec3<u32> {
  let L = hi - lo;
  return vec3<u32>(lo + L / 4u, lo + L / 2u, lo + (3u * L) / 4u);
}

// [lo, hi) narrowed to the quarter points' results (ge[j]: point j still satisfies the filter;
// non-increasing in j, as counts and masses are): lo the last point that does, hi the first that does not.
fn narrow(lo: u32, hi: u32, q: vec3<u32>, ge: vec3<bool>) -> vec2<u32> {
  var r = vec2<u32>(lo, hi);
  for (var j = 2; j >= 0; j--) {
    if (!ge[j]) {
      r.y = max(q[j], lo + 1u); // a point at lo satisfies its filter (the invariant); kept nonempty regardless
    }
  }
  for (var j = 0; j < 3; j++) {
    if (ge[j]) {
      r.x = q[j];
    }
  }
  return r;
}

// Whether both active searches have ended (hi = lo + 1: lo is the threshold).
fn searched(kOn: bool, loK: u32, hiK: u32, pOn: bool, loP: u32, hiP: u32) -> bool {
  return (!kOn || hiK - loK <= 1u) && (!pOn || hiP - loP <= 1u);
}

// Whether a token with bits b is kept: above τ, or at τ among the first `ties` of those (rank: ties before it).
fn kept(b: u32, rank: u32, tau: u32, ties: u32) -> bool {
  return b > tau || (b == tau && rank < ties);
}

// sum4(lid, v) and max1(lid, v), each returned to every thread in uniform control flow:
// sample_reduce_subgroup.wgsl (subgroupAdd / subgroupMax, then one round through workgroup memory)
// or sample_reduce_shared.wgsl (a tree in `red`).

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
  let nS = (p.V + 3u) / 4u; // slots in the row
  if (lid == 0u) {
    tok = NONE;
    ranked = 0u; // set again below with a filter
    var j = wid.x;
    if (HISTORY) {
      j = u32(max(pos[0] + i32(wid.x) + 1, 0));
    }
    uu = uniforms[min(j, p.NU - 1u)];
  }
  // Full passes: thread lid reads slots lid, lid + WG, …, U of them in flight (clamped to the row's
  // last slot, then skipped).
  // 1. the largest logit and the total mass
  var mv = vec4<f32>(-0x1.fffffep+127f);
  for (var i0 = lid; i0 < nS; i0 += U * WG) {
    var v = strided(row, i0, nS); // lanes past V repeat a logit of the row: harmless here
    for (var u = 0u; u < U; u++) {
      mv = select(mv, v[u], v[u] > mv);
    }
  }
  let m = max1(lid, max(max(mv.x, mv.y), max(mv.z, mv.w)));
  var s = 0.0;
  var lov = vec4<f32>(0x1.fffffep+127f); // the smallest p: where the threshold searches start
  for (var i0 = lid; i0 < nS; i0 += U * WG) {
    var v = strided(row, i0, nS);
    for (var u = 0u; u < U; u++) {
      let i = i0 + u * WG;
      if (i < nS) {
        let q = prob(v[u], i, m);
        s += dot(q, vec4<f32>(1.0));
        lov = select(lov, min(lov, q), inside(i));
      }
    }
  }
  let S = sum4(lid, vec4<f32>(s, 0.0, 0.0, 0.0)).x;
  let pmin = -max1(lid, -min(min(lov.x, lov.y), min(lov.z, lov.w)));

  // 2. the filters' thresholds: invariants #{p ≥ loK} ≥ k > #{p ≥ hiK}, Σ{p ≥ loP} ≥ topP·S > Σ{p ≥ hiP},
  // from lo = bits(min p) (every p is ≥ it: all V ≥ k of them, all of S ≥ topP·S), not 0: a flat
  // row (p in [0.5, 1]) took 7 halvings from 0 to reach its exponent. Full passes until at most
  // CAP elements lie in either open interval [lo, hi); those are then compacted into cb (the
  // others' share of each side fixed: `fixed`) and the halvings read only them, until both
  // searches end (hi = lo + 1; 16 quarterings or 31 halvings always do: ONE_BITS + 1 < 2^30).
  let kOn = p.topK > 0u && p.topK < p.V;
  let pOn = p.topP < 1.0;
  let goal = p.topP * S;
  let lo0 = bitcast<u32>(pmin);
  var loK = lo0;
  var hiK = ONE_BITS + 1u;
  var loP = lo0;
  var hiP = ONE_BITS + 1u;
  if (lid == 0u) {
    few = select(0u, 2u, searched(kOn, loK, hiK, pOn, loP, hiP)); // 2: the searches ended, 1: few undecided
  }
  if (kOn || pOn) {
    // each full pass tests three quarter points of each interval: an interval of L bits leaves at
    // most ⌈L/4⌉, so 16 passes end any search (2^30 bits)
    for (var it = 0u; it < 16u; it++) {
      if (workgroupUniformLoad(&few) != 0u) {
        break;
      }
      let qK = quarters(loK, hiK);
      let qP = quarters(loP, hiP);
      var a = vec4<f32>(0.0); // #{p ≥ qK[j]} (j < 3), undecided
      var w = vec4<f32>(0.0); // Σ{p ≥ qP[j]}
      for (var i0 = lid; i0 < nS; i0 += U * WG) {
        var v = strided(row, i0, nS);
        for (var u = 0u; u < U; u++) {
          let i = i0 + u * WG;
          if (i < nS) {
            let q = prob(v[u], i, m);
            let b = bitcast<vec4<u32>>(q);
            // lanes past V: b = 0, below every quarter point past lo (and lo itself is never in doubt)
            a.x += count(b >= vec4<u32>(qK.x));
            a.y += count(b >= vec4<u32>(qK.y));
            a.z += count(b >= vec4<u32>(qK.z));
            a.w += count(undecided(b, kOn, loK, hiK, pOn, loP, hiP) & inside(i));
            w.x += mass(q, b >= vec4<u32>(qP.x));
            w.y += mass(q, b >= vec4<u32>(qP.y));
            w.z += mass(q, b >= vec4<u32>(qP.z));
          }
        }
      }
      let r = sum4(lid, a);
      let rw = sum4(lid, w);
      let k = f32(p.topK);
      let nK = narrow(loK, hiK, qK, vec3<bool>(r.x >= k, r.y >= k, r.z >= k));
      loK = nK.x;
      hiK = nK.y;
      let nP = narrow(loP, hiP, qP, vec3<bool>(rw.x >= goal, rw.y >= goal, rw.z >= goal));
      loP = nP.x;
      hiP = nP.y;
      if (lid == 0u) {
        if (searched(kOn, loK, hiK, pOn, loP, hiP)) {
          few = 2u;
        } else if (r.w <= f32(CAP)) {
          few = 1u; // the narrowed intervals hold no more
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
    for (var i0 = lid; i0 < nS; i0 += U * WG) {
      var v = strided(row, i0, nS);
      for (var u = 0u; u < U; u++) {
        let i = i0 + u * WG;
        if (i < nS) {
          let q = prob(v[u], i, m);
          let b = bitcast<vec4<u32>>(q);
          let und = undecided(b, kOn, loK, hiK, pOn, loP, hiP) & inside(i);
          for (var c = 0u; c < 4u; c++) {
            if (und[c]) {
              cb[min(atomicAdd(&nc, 1u), CAP - 1u)] = b[c]; // < CAP: the last full pass counted them
            }
          }
          a.x += count((b >= vec4<u32>(hiK)) & !und);
          a.y += mass(q, (b >= vec4<u32>(hiP)) & !und);
        }
      }
    }
    let fixed = sum4(lid, a); // sum4's barriers also publish cb and nc
    let n = atomicLoad(&nc);
    for (var it = 0u; it < 32u; it++) {
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
  var ties = NONE; // ties kept; without a filter all (τ = 0: every p ≥ τ is kept)
  if (kOn || pOn) {
    var c = vec4<f32>(0.0); // #{p > τ}, Σ{p > τ}, #{p = τ}
    for (var i0 = lid; i0 < nS; i0 += U * WG) {
      var v = strided(row, i0, nS);
      for (var u = 0u; u < U; u++) {
        let i = i0 + u * WG;
        if (i < nS) {
          let q = prob(v[u], i, m);
          let b = bitcast<vec4<u32>>(q);
          let above = (b > vec4<u32>(tau)) & inside(i);
          c.x += count(above);
          c.y += mass(q, above);
          c.z += count((b == vec4<u32>(tau)) & inside(i));
        }
      }
    }
    let cr = sum4(lid, c);
    let ceq = u32(cr.z);
    ties = ceq;
    if (kOn && loK == tau) {
      ties = min(ties, p.topK - u32(cr.x));
    }
    let tf = bitcast<f32>(tau);
    if (pOn && loP == tau && tf > 0.0) {
      ties = min(ties, u32(clamp(ceil((goal - cr.y) / tf), 1.0, f32(ceq))));
    }
    if (lid == 0u) {
      ranked = select(0u, 1u, ties < ceq);
    }
  }

  // 3. the draw, over contiguous slices of slots in index order (U slots loaded at once)
  let SL = (nS + WG - 1u) / WG;
  let i0 = min(lid * SL, nS);
  let i1 = min(i0 + SL, nS);
  // the ties before each slice, when some ties are dropped (else kept() never needs a token's rank:
  // every rank is below the ties kept, and counting from 0 keeps it so)
  var E = 0u;
  if (workgroupUniformLoad(&ranked) == 1u) {
    var te = 0u;
    for (var i = i0; i < i1; i += U) {
      var v = consecutive(row, i, i1);
      for (var u = 0u; u < U; u++) {
        if (i + u < i1) {
          let b = bitcast<vec4<u32>>(prob(v[u], i + u, m));
          te += u32(count((b == vec4<u32>(tau)) & inside(i + u)));
        }
      }
    }
    E = u32(prefix(lid, f32(te)).x);
  }
  var rank = E;
  var ms = 0.0;
  var last = NONE;
  for (var i = i0; i < i1; i += U) {
    var v = consecutive(row, i, i1);
    for (var u = 0u; u < U; u++) {
      if (i + u < i1) {
        let q = prob(v[u], i + u, m);
        let b = bitcast<vec4<u32>>(q);
        let ok = inside(i + u);
        for (var k = 0u; k < 4u; k++) {
          if (ok[k]) {
            if (kept(b[k], rank, tau, ties)) {
              ms += q[k];
              if (q[k] > 0.0) {
                last = 4u * (i + u) + k;
              }
            }
            rank += select(0u, 1u, b[k] == tau);
          }
        }
      }
    }
  }
  let Mn = prefix(lid, ms);
  let M = Mn.x;
  let x = uu * total;
  if (ms > 0.0 && x >= M && x < Mn.y) {
    // this slice holds the draw (at most one does: the intervals tile [0, total))
    var found = last;
    var cum = M;
    rank = E;
    var done = false;
    for (var i = i0; i < i1 && !done; i++) {
      let q = prob(ld(row, i), i, m);
      let b = bitcast<vec4<u32>>(q);
      let ok = inside(i);
      for (var k = 0u; k < 4u; k++) {
        if (ok[k] && kept(b[k], rank, tau, ties)) {
          cum += q[k];
          if (cum > x) {
            found = 4u * i + k;
            done = true;
            break;
          }
        }
        rank += select(0u, 1u, ok[k] && b[k] == tau);
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
