import type { SampleFilter } from '../backend.js';

/**
 * The reference ops: plain loops over Float32Array, readable top to bottom.
 * Every WebGPU kernel is tested against these. Sums run in JS numbers (f64)
 * and are stored as f32, which is at least as accurate as f32 accumulation.
 *
 * Shapes are given per argument; all matrices are row-major.
 */

/** out[t, :] = table[ids[t], :].  out: [T, D], table: [V, D], ids: [T]. */
export function embedding(out: Float32Array, table: Float32Array, ids: Int32Array, D: number): void {
  const V = table.length / D;
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t] as number;
    if (id < 0 || id >= V) throw new Error(`embedding: token id ${id} outside the vocabulary of ${V}`);
    out.set(table.subarray(id * D, (id + 1) * D), t * D);
  }
}

/** out[t, :] = x[t, :] · rsqrt(mean(x[t, :]²) + eps) · w.  out, x: [T, D], w: [D]. */
export function rmsnorm(out: Float32Array, x: Float32Array, w: Float32Array, T: number, D: number, eps: number): void {
  for (let t = 0; t < T; t++) {
    const row = t * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += (x[row + i] as number) ** 2;
    // HF: hidden * torch.rsqrt(variance + eps), all in f32
    const inv = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / D) + eps)));
    for (let i = 0; i < D; i++) out[row + i] = (w[i] as number) * Math.fround((x[row + i] as number) * inv);
  }
}

/**
 * out = x·Wᵀ (+ bias).  out: [T, M], x: [T, K], w: [M, K], bias: [M].
 * The plain triple loop; the CPU backend runs a blocked, threaded version of it.
 */
export function matmul(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  T: number,
  K: number,
  M: number,
  bias?: Float32Array,
): void {
  for (let t = 0; t < T; t++) {
    for (let m = 0; m < M; m++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (x[t * K + k] as number) * (w[m * K + k] as number);
      out[t * M + m] = acc + (bias ? (bias[m] as number) : 0);
    }
  }
}

/**
 * Rotary embedding in place (HF half-split pairs (i, i + half) inside each head).
 * x: [T, C] with C = heads·2·half, cos/sin: [P, half]; row t is at position pos0 + t.
 */
export function rope(
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  T: number,
  C: number,
  half: number,
  pos0: number,
): void {
  const headDim = 2 * half;
  for (let t = 0; t < T; t++) {
    const p = (pos0 + t) * half;
    for (let h = 0; h < C; h += headDim) {
      const base = t * C + h;
      for (let i = 0; i < half; i++) {
        const c = cos[p + i] as number;
        const s = sin[p + i] as number;
        const a = x[base + i] as number;
        const b = x[base + i + half] as number;
        // HF: q·cos + rotate_half(q)·sin, rotate_half(q) = [−q2, q1]
        x[base + i] = Math.fround(a * c) - Math.fround(b * s);
        x[base + i + half] = Math.fround(b * c) + Math.fround(a * s);
      }
    }
  }
}

/**
 * Causal attention with grouped KV heads, scale 1/sqrt(headDim).
 * out, q: [T, nHeads·headDim]; k, v: [S, nKvHeads·headDim]; query row t sees keys 0 … pos0 + t.
 */
export function attention(
  out: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  T: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  pos0: number,
): void {
  const Cq = nHeads * headDim;
  const Ckv = nKvHeads * headDim;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const scores = new Float64Array(pos0 + T);
  for (let t = 0; t < T; t++) {
    const n = pos0 + t + 1; // keys visible to this query
    for (let h = 0; h < nHeads; h++) {
      const qo = t * Cq + h * headDim;
      const ko = Math.floor(h / group) * headDim;
      let max = -Infinity;
      for (let s = 0; s < n; s++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += (q[qo + i] as number) * (k[s * Ckv + ko + i] as number);
        const sc = dot * scale;
        scores[s] = sc;
        if (sc > max) max = sc;
      }
      let sum = 0;
      for (let s = 0; s < n; s++) {
        const e = Math.exp((scores[s] as number) - max);
        scores[s] = e;
        sum += e;
      }
      for (let i = 0; i < headDim; i++) {
        let acc = 0;
        for (let s = 0; s < n; s++) acc += (scores[s] as number) * (v[s * Ckv + ko + i] as number);
        out[qo + i] = acc / sum;
      }
    }
  }
}

/** out = silu(gate) · up = gate / (1 + e^−gate) · up, elementwise. */
export function siluMul(out: Float32Array, gate: Float32Array, up: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const g = gate[i] as number;
    out[i] = Math.fround(g / (1 + Math.exp(-g))) * (up[i] as number);
  }
}

/** out = a + b, elementwise (out may alias a or b). */
export function add(out: Float32Array, a: Float32Array, b: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = (a[i] as number) + (b[i] as number);
}

/** out[t] = logsumexp(logits[t, :]) − logits[t, targets[t]].  out: [T], logits: [T, V], targets: [T]. */
export function nll(out: Float32Array, logits: Float32Array, targets: Int32Array, V: number): void {
  for (let t = 0; t < targets.length; t++) {
    const row = t * V;
    const y = targets[t] as number;
    if (y < 0 || y >= V) throw new Error(`nll: target ${y} outside the vocabulary of ${V}`);
    let max = -Infinity;
    for (let i = 0; i < V; i++) if ((logits[row + i] as number) > max) max = logits[row + i] as number;
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp((logits[row + i] as number) - max);
    out[t] = max + Math.log(sum) - (logits[row + y] as number);
  }
}

/** h += scale · xᵀx.  h: [K, K], x: [T, K]; the sum over t is accumulated like `matmul`'s, then added once. */
export function gram(h: Float32Array, x: Float32Array, T: number, K: number, scale: number): void {
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      let acc = 0;
      for (let t = 0; t < T; t++) acc += x[t * K + i]! * x[t * K + j]!;
      h[i * K + j] = h[i * K + j]! + scale * acc;
    }
  }
}

/** out[t] = (KL(softmax p[t] ‖ softmax q[t]), argmax agreement), sums in f64.  out: [T, 2], p, q: [T, V]. */
export function kl(out: Float32Array, p: Float32Array, q: Float32Array, T: number, V: number): void {
  for (let t = 0; t < T; t++) {
    const r = t * V;
    let mp = -Infinity;
    let mq = -Infinity;
    let ap = 0;
    let aq = 0;
    for (let v = 0; v < V; v++) {
      if (p[r + v]! > mp) [mp, ap] = [p[r + v]!, v];
      if (q[r + v]! > mq) [mq, aq] = [q[r + v]!, v];
    }
    let sp = 0;
    let sq = 0;
    let sd = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(p[r + v]! - mp);
      sp += e;
      sq += Math.exp(q[r + v]! - mq);
      sd += e * (p[r + v]! - q[r + v]!);
    }
    // KL = Σ P (p − q) − (mp + log sp) + (mq + log sq)
    out[2 * t] = sd / sp - (mp + Math.log(sp)) + (mq + Math.log(sq));
    out[2 * t + 1] = ap === aq ? 1 : 0;
  }
}

/**
 * RoPE of q and k plus the KV-cache append: row t of qkv = (q | k | v) at position P + t goes to
 * q[t] (rotated), kCache[R + t] (rotated) and vCache[R + t] — exactly `rope` of the parts and a row
 * copy. q: [T, Cq], kCache, vCache: [≥ R + T, Ckv], qkv: [T, Cq + 2·Ckv], cos/sin: [maxPos, half].
 */
export function ropeKv(
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  qkv: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  T: number,
  Cq: number,
  Ckv: number,
  half: number,
  R: number,
  P: number,
): void {
  const W = Cq + 2 * Ckv;
  for (let t = 0; t < T; t++) {
    const row = t * W;
    q.set(qkv.subarray(row, row + Cq), t * Cq);
    kCache.set(qkv.subarray(row + Cq, row + Cq + Ckv), (R + t) * Ckv);
    vCache.set(qkv.subarray(row + Cq + Ckv, row + W), (R + t) * Ckv);
  }
  rope(q, cos, sin, T, Cq, half, P);
  rope(kCache.subarray(R * Ckv, (R + T) * Ckv), cos, sin, T, Ckv, half, P);
}

/** ids[t] = the first index of the maximum of logits[t, :] (NaN never wins; no value above −∞ gives 0).  ids: [T], logits: [T, V]. */
export function argmax(ids: Int32Array, logits: Float32Array, V: number): void {
  for (let t = 0; t < ids.length; t++) {
    const row = t * V;
    let best = -Infinity;
    let arg = 0;
    for (let i = 0; i < V; i++) {
      const x = logits[row + i] as number;
      if (x > best) [best, arg] = [x, i];
    }
    ids[t] = arg;
  }
}

/**
 * Backend.sample's kept tokens for logits[row … row + V) under f: p_i = e^((l_i − max)/temperature)
 * (NaN → 0), and kept[i] = 1 for the first keep = min(topK, the nucleus' size) tokens in the order
 * (p descending, index ascending), found without a sort as the device does: every p above a
 * threshold value τ and the first m of those equal to τ by index.
 */
export function sampleKept(logits: Float32Array, row: number, V: number, f: SampleFilter): { p: Float64Array; kept: Uint8Array } {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if ((logits[row + i] as number) > max) max = logits[row + i] as number;
  const p = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) {
    const e = Math.exp(((logits[row + i] as number) - max) / f.temperature);
    sum += p[i] = e >= 0 ? e : 0;
  }
  const kOn = f.topK > 0 && f.topK < V;
  const pOn = f.topP < 1;
  let tau = 0;
  let m = V; // ties at τ kept (all when no filter)
  if (kOn || pOn) {
    const desc = Float64Array.from(p).sort().reverse();
    const tauK = kOn ? (desc[f.topK - 1] as number) : 0;
    const target = f.topP * sum;
    let tauP = 0;
    if (pOn) {
      let mass = 0;
      for (const v of desc) {
        mass += v;
        tauP = v;
        if (mass >= target) break;
      }
    }
    tau = Math.max(tauK, tauP);
    let cgt = 0;
    let mgt = 0;
    let ceq = 0;
    for (const v of p) {
      if (v > tau) [cgt, mgt] = [cgt + 1, mgt + v];
      else if (v === tau) ceq++;
    }
    const mk = kOn && tauK === tau ? f.topK - cgt : ceq;
    const mp = pOn && tauP === tau && tau > 0 ? Math.min(ceq, Math.max(1, Math.ceil((target - mgt) / tau))) : ceq;
    m = Math.min(mk, mp);
  }
  const kept = new Uint8Array(V);
  for (let i = 0, rank = 0; i < V; i++) {
    const v = p[i] as number;
    if (v > tau || (v === tau && rank < m)) kept[i] = 1;
    if (v === tau) rank++;
  }
  return { p, kept };
}

/**
 * The token that u ∈ [0, 1) draws from logits[row … row + V) under f (Backend.sample's reference):
 * the kept tokens (sampleKept) walked in index order, the first whose running mass exceeds u·Σ kept
 * (the last kept one with mass if rounding leaves none; 0 if no token has mass). Index order, not
 * probability order, so a device needs no sort: the distribution is the same.
 */
export function sampleRow(logits: Float32Array, row: number, V: number, f: SampleFilter, u: number): number {
  const { p, kept } = sampleKept(logits, row, V, f);
  let total = 0;
  let last = -1;
  for (let i = 0; i < V; i++) {
    if (kept[i] && (p[i] as number) > 0) [total, last] = [total + (p[i] as number), i];
  }
  if (last < 0) return 0;
  const x = u * total;
  let cum = 0;
  for (let i = 0; i < V; i++) {
    if (!kept[i]) continue;
    cum += p[i] as number;
    if (cum > x) return i;
  }
  return last;
}
