// Flash-decoding attention for short T (decode): the keys a query row sees are cut into splits of
// L keys, one workgroup per (query head h, query row t, split), so a 32-head model at 500 keys
// runs ~250 workgroups instead of attention_decode.wgsl's 32 (one per head, each on one SM). Each
// split computes its partial (acc = Σ p_s·v_s, M = max score, l = Σ p_s with p_s = e^(score − M))
// as attention_decode.wgsl does for all keys: thread j scores keys j, j + WG, … of the split; a
// workgroup max and sum; thread (g, c) accumulates value column c over the split's keys ≡ g (mod G),
// up to U loads in flight. A row whose keys fit one split writes out = acc / l directly. Otherwise
// the splits merge in this dispatch: each stores its record (acc, M, l) into `sync` with relaxed
// atomic stores, and the last split of the row to arrive (an atomicAdd on the row's counter) merges
// them (out = Σ acc_s·e^(M_s − M*) / Σ l_s·e^(M_s − M*), M* = max M_s, folded online), then returns
// the records to SENT and the counter to 0 for the next dispatch. A record word stored by another
// workgroup is loaded with the others and, if it is still SENT, read again until it is not: relaxed
// atomics order nothing between locations, but each word was stored before its workgroup's
// atomicAdd was issued, so the wait is short and never for a workgroup that has not run. No stored
// value is SENT (the one NaN pattern it has is mapped to another NaN).
// Workgroup memory: 16·⌈HD/4⌉ + 4·L + 24·WG bytes (+ 32·⌈HD/4⌉ with the rope io file).
// Header: WG (a power of two), HD (with NC ≤ WG), L (keys per split), SG (subgroup size, 0 without).
// Grid: x = heads, y = T, z = ⌈S / L⌉ splits (by the cache, so a recorded step replays at any
// position; splits beyond the row's keys return at once).
// block_reduce comes from attention_reduce_subgroup.wgsl (SG > 0) or attention_reduce_shared.wgsl;
// the q/k/v bindings and load_q / new_key / qk_new / vn_col from attention_decode_io.wgsl or
// attention_decode_rope.wgsl (T = 1: RoPE and the cache append folded in; the split holding row P
// writes it).
struct Params {
  Cq: u32,
  Ckv: u32,
  group: u32,
  pos0: u32,
  scale: f32,
  S: u32, // cache rows
  half: u32, // rope io: headDim / 2
  maxPos: u32, // rope io: rows of the cos / sin tables
  nSplit: u32, // ⌈S / L⌉: record slots per (row, head)
  recBase: u32, // first record word in sync (the words before it are the rows' counters)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> posOff: array<i32>;
// [counters: one per (t, h), 0 between dispatches][records: (HD + 2) words per (t, h, split), SENT between dispatches]
@group(0) @binding(8) var<storage, read_write> sync: array<atomic<u32>>;

const KPT = (L + G - 1u) / G; // value keys per thread
const U = min(KPT, 32u); // value loads in flight per thread
const REC = HD + 2u; // record words: acc[HD], M, l
const SENT = 0xffffffffu;
const MR = 8u; // merge: splits whose words a thread loads at once

var<workgroup> sc: array<f32, L>; // the split's scores, then p = e^(score − M)
var<workgroup> red: array<vec4<f32>, WG>; // the max and sum reductions (in x), then the G partial sums
var<workgroup> wm: array<f32, WG>; // merge: each thread's running M
var<workgroup> wl: array<f32, WG>; // merge: each thread's running l
var<workgroup> wpos: i32; // posOff[0], read once and loaded uniformly
var<workgroup> warrived: u32; // splits of this row that stored their record before this one

// a record word: the value's bits, the SENT pattern (a NaN) stored as another NaN
fn enc(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b, 0x7fc00000u, b == SENT);
}

// record word i once its store is visible
fn settled(i: u32) -> f32 {
  var b = atomicLoad(&sync[i]);
  loop {
    if (b != SENT) {
      break;
    }
    b = atomicLoad(&sync[i]);
  }
  return bitcast<f32>(b);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let h = wid.x;
  let t = wid.y;
  let split = wid.z;
  let H = p.Cq / HD;
  let qo = t * p.Cq + h * HD;
  let ko = (h / p.group) * HD;
  if (lid == 0u) {
    wpos = posOff[0];
  }
  let P = u32(max(i32(p.pos0) + workgroupUniformLoad(&wpos), 0)) + t; // this row's position
  let n = min(P + 1u, p.S); // keys visible to this row, ≥ 1
  let ns = (n + L - 1u) / L; // splits holding them
  if (split >= ns) {
    return;
  }
  let k0 = split * L;
  let k1 = min(k0 + L, n);
  load_q(lid, h, t, P);
  // key n − 1 (row P when fresh) is in workgroup memory (kn, vn), not read from the cache: only in
  // the split holding it, which also writes the row
  var fresh = false;
  if (split == ns - 1u) {
    fresh = new_key(lid, h, t, P);
  }
  workgroupBarrier();

  // scores of keys k0 … k1 − 1 and their max M
  var m = -0x1.fffffep+127f;
  for (var s = k0 + lid; s < k1; s += WG) {
    var score: f32;
    if (fresh && s == n - 1u) {
      score = qk_new() * p.scale;
    } else {
      score = qk(s * p.Ckv + ko) * p.scale;
    }
    sc[s - k0] = score;
    m = max(m, score);
  }
  m = block_reduce(lid, m, true);
  var l = 0.0;
  for (var s = k0 + lid; s < k1; s += WG) {
    let e = exp(sc[s - k0] - m);
    sc[s - k0] = e;
    l += e;
  }
  l = block_reduce(lid, l, false);

  // values: thread (g, c) over keys k0 + g, k0 + g + G, …; U loads per round, keys past k1
  // reload key k1 − 1 and are weighted 0
  let g = lid / NC;
  let c = lid % NC;
  var acc = vec4<f32>(0.0);
  if (g < G) {
    // the new key's value column as a loaded one, packed once (see attention_decode.wgsl)
    let vnr = vr_of(vn_col(c));
    for (var j0 = g; j0 < k1 - k0; j0 += U * G) {
      var vv: array<VR, U>; // as loaded (an f16 cache's halves widen at the product: fewer registers in flight)
      for (var u = 0u; u < U; u++) {
        let s = min(k0 + j0 + u * G, k1 - 1u);
        if (fresh && s == n - 1u) {
          vv[u] = vnr;
        } else {
          vv[u] = v_raw(s * p.Ckv + ko, c);
        }
      }
      for (var u = 0u; u < U; u++) {
        let j = j0 + u * G;
        if (k0 + j < k1) {
          acc += sc[j] * vwide(vv[u]);
        }
      }
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  var total = vec4<f32>(0.0);
  if (lid < NC) {
    for (var gg = 0u; gg < G; gg++) {
      total += red[gg * NC + lid];
    }
  }
  let cols = select(1u, 4u, VEC); // dims a value column holds
  if (ns == 1u) {
    if (lid < NC) {
      for (var i = 0u; i < cols; i++) {
        out[qo + cols * lid + i] = total[i] / l;
      }
    }
    return;
  }

  // this split's record, then the row's counter
  let row = t * H + h;
  let rec0 = p.recBase + row * p.nSplit * REC;
  let rb = rec0 + split * REC;
  if (lid < NC) {
    for (var i = 0u; i < cols; i++) {
      atomicStore(&sync[rb + cols * lid + i], enc(total[i]));
    }
  }
  if (lid == 0u) {
    atomicStore(&sync[rb + HD], enc(m));
    atomicStore(&sync[rb + HD + 1u], enc(l));
  }
  storageBarrier();
  if (lid == 0u) {
    warrived = atomicAdd(&sync[row], 1u);
  }
  if (workgroupUniformLoad(&warrived) != ns - 1u) {
    return;
  }

  // the last split merges the row's ns records: thread (g, c) — value column c, split group g —
  // folds splits g, g + G, … into a running (M, l, o) (online softmax), loading MR splits' words
  // at once and waiting only for words not there yet; then the G groups' triples are folded.
  var M = -0x1.fffffep+127f;
  var lsum = 0.0;
  var o = vec4<f32>(0.0);
  if (g < G) {
    for (var s0 = g; s0 < ns; s0 += MR * G) {
      var bm: array<u32, MR>;
      var bl: array<u32, MR>;
      var ba: array<vec4<u32>, MR>;
      for (var u = 0u; u < MR; u++) {
        let r = rec0 + min(s0 + u * G, ns - 1u) * REC;
        bm[u] = atomicLoad(&sync[r + HD]);
        bl[u] = atomicLoad(&sync[r + HD + 1u]);
        for (var i = 0u; i < cols; i++) {
          ba[u][i] = atomicLoad(&sync[r + cols * c + i]);
        }
      }
      for (var u = 0u; u < MR; u++) {
        let s = s0 + u * G;
        if (s < ns) {
          let r = rec0 + s * REC;
          var ms = bitcast<f32>(bm[u]);
          var ls = bitcast<f32>(bl[u]);
          if (bm[u] == SENT) {
            ms = settled(r + HD);
          }
          if (bl[u] == SENT) {
            ls = settled(r + HD + 1u);
          }
          var a = vec4<f32>(0.0);
          for (var i = 0u; i < cols; i++) {
            a[i] = bitcast<f32>(ba[u][i]);
            if (ba[u][i] == SENT) {
              a[i] = settled(r + cols * c + i);
            }
            atomicStore(&sync[r + cols * c + i], SENT); // this thread is the word's only reader
          }
          let Mn = max(M, ms);
          let wo = exp(M - Mn);
          let ws = exp(ms - Mn);
          lsum = lsum * wo + ls * ws;
          o = o * wo + a * ws;
          M = Mn;
        }
      }
    }
  }
  red[lid] = o;
  wm[lid] = M;
  wl[lid] = lsum;
  workgroupBarrier();
  if (lid < NC) {
    var Mx = wm[lid];
    for (var gg = 1u; gg < G; gg++) {
      Mx = max(Mx, wm[gg * NC + lid]);
    }
    var tot = vec4<f32>(0.0);
    var lt = 0.0;
    for (var gg = 0u; gg < G; gg++) {
      let w = exp(wm[gg * NC + lid] - Mx);
      tot += red[gg * NC + lid] * w;
      lt += wl[gg * NC + lid] * w;
    }
    for (var i = 0u; i < cols; i++) {
      out[qo + cols * lid + i] = tot[i] / lt;
    }
  }
  // M and l of every split, read by all NC threads of its group, back to SENT after the reads
  for (var s = lid; s < ns; s += WG) {
    atomicStore(&sync[rec0 + s * REC + HD], SENT);
    atomicStore(&sync[rec0 + s * REC + HD + 1u], SENT);
  }
  if (lid == 0u) {
    atomicStore(&sync[row], 0u);
  }
}
