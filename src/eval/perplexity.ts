/**
 * Perplexity and KL divergence, GPTQ style (CONVENTIONS §4): the ids already
 * carry BOS once at the start; n = floor(len / seqlen) non-overlapping windows;
 * each window predicts its tokens 1 … seqlen−1 from a fresh context;
 * ppl = exp(mean NLL over every prediction).
 */
import type { Tensor } from '../backend/backend.js';
import {
  createKvCache,
  createRunState,
  forward,
  freeKvCache,
  freeRunState,
  type KvCache,
  type LlamaModel,
  type RunState,
} from '../model/llama.js';
import { tensor } from '../tensor/tensor.js';

export interface WindowOptions {
  readonly seqlen: number;
  /** Evaluate only the first N windows (all when absent). */
  readonly windows?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface PerplexityResult {
  readonly ppl: number;
  /** Mean negative log-likelihood per predicted token, in nats. */
  readonly nll: number;
  /** Number of predicted tokens. */
  readonly tokens: number;
  readonly windows: number;
  readonly seqlen: number;
}

/** Number of windows evaluated for `n` ids; throws when there is not one full window. */
export function windowCount(n: number, o: WindowOptions): number {
  if (!Number.isInteger(o.seqlen) || o.seqlen < 2) throw new Error(`seqlen must be an integer ≥ 2, got ${o.seqlen}`);
  const all = Math.floor(n / o.seqlen);
  if (all === 0) throw new Error(`the text has ${n} tokens, fewer than one window of seqlen ${o.seqlen}`);
  if (o.windows !== undefined && (!Number.isInteger(o.windows) || o.windows < 1)) {
    throw new Error(`windows must be a positive integer, got ${o.windows}`);
  }
  return Math.min(all, o.windows ?? all);
}

/** A model prepared to score whole windows of `seqlen` tokens. */
class WindowRunner {
  readonly m: LlamaModel;
  readonly seqlen: number;
  readonly state: RunState;
  readonly kv: KvCache;
  readonly targets: Tensor;

  constructor(m: LlamaModel, seqlen: number) {
    this.m = m;
    this.seqlen = seqlen;
    this.state = createRunState(m, seqlen, true);
    this.kv = createKvCache(m, seqlen);
    this.targets = m.backend.empty('i32', [seqlen]);
  }

  /** Enqueues the forward pass of window `ids` (length seqlen); logits land in state.logits. */
  run(ids: Int32Array): void {
    this.m.backend.write(this.state.ids, tensor('i32', [this.seqlen], ids));
    forward(this.m, this.state, this.kv, 0);
  }

  /**
   * Σ NLL of predicting ids[1 …] from the current logits. Everything up to the
   * read-back is enqueued before it returns, so the caller may enqueue the next
   * window before awaiting this one (the GPU then never waits for the host).
   */
  async nllSum(ids: Int32Array): Promise<number> {
    const b = this.m.backend;
    const targets = new Int32Array(this.seqlen);
    targets.set(ids.subarray(1)); // row t predicts ids[t+1]; the last row has no target
    b.write(this.targets, tensor('i32', [this.seqlen], targets));
    const out = b.empty('f32', [this.seqlen]);
    b.nll(out, this.state.logits, this.targets);
    const nll = (await b.read(out)).data as Float32Array;
    b.free(out);
    let sum = 0;
    for (let t = 0; t < this.seqlen - 1; t++) sum += nll[t] as number;
    return sum;
  }

  dispose(): void {
    freeRunState(this.m.backend, this.state);
    freeKvCache(this.m.backend, this.kv);
    this.m.backend.free(this.targets);
  }
}

export async function perplexity(m: LlamaModel, ids: Int32Array, o: WindowOptions): Promise<PerplexityResult> {
  const n = windowCount(ids.length, o);
  const runner = new WindowRunner(m, o.seqlen);
  let sum = 0;
  let pending: Promise<number> | null = null; // the previous window's read-back, awaited after the next window is queued
  try {
    for (let i = 0; i < n; i++) {
      const win = ids.subarray(i * o.seqlen, (i + 1) * o.seqlen);
      runner.run(win);
      const prev = pending;
      pending = runner.nllSum(win);
      if (prev) {
        sum += await prev;
        o.onProgress?.(i, n);
      }
    }
    if (pending) sum += await pending;
    pending = null;
    o.onProgress?.(n, n);
  } finally {
    await pending?.catch(() => undefined);
    runner.dispose();
  }
  const tokens = n * (o.seqlen - 1);
  return { ppl: Math.exp(sum / tokens), nll: sum / tokens, tokens, windows: n, seqlen: o.seqlen };
}

export interface KlResult {
  /** Mean KL(P‖Q) per predicted token in nats, P = the base model, Q = the compared one. */
  readonly kl: number;
  /** Fraction of positions where both models' most likely next token agree. */
  readonly top1: number;
  /** The compared model's perplexity on the same windows. */
  readonly compared: PerplexityResult;
}

/**
 * KL divergence of next-token distributions between `base` (P) and each of
 * `compared` (Q) on the same windows, with every model's perplexity. The base
 * model runs once per window however many models it is compared with.
 */
export async function klDivergence(
  base: LlamaModel,
  compared: readonly LlamaModel[],
  ids: Int32Array,
  o: WindowOptions,
): Promise<{ base: PerplexityResult; compared: KlResult[] }> {
  const V = base.config.vocabSize;
  const b = base.backend;
  for (const c of compared) {
    if (c.config.vocabSize !== V) throw new Error(`vocabularies differ: ${V} vs ${c.config.vocabSize}`);
    if (c.backend !== b) throw new Error('KL: all models must live on the same backend');
  }
  const n = windowCount(ids.length, o);
  const T = o.seqlen;
  const rp = new WindowRunner(base, T);
  const rq = compared.map((c) => new WindowRunner(c, T));
  const outs = compared.map(() => b.empty('f32', [T, 2]));
  const klSum = compared.map(() => 0);
  const agree = compared.map(() => 0);
  const nllQ = compared.map(() => 0);
  let nllP = 0;
  // one window's read-backs, enqueued; the next window is queued before they are awaited
  interface Pending {
    readonly p: Promise<number>;
    readonly q: Promise<number>[];
    readonly k: Promise<{ data: unknown }>[];
  }
  const enqueue = (win: Int32Array): Pending => {
    rp.run(win);
    const p = rp.nllSum(win);
    const q: Promise<number>[] = [];
    const k: Promise<{ data: unknown }>[] = [];
    for (const [j, r] of rq.entries()) {
      r.run(win);
      q.push(r.nllSum(win));
      b.kl(outs[j] as Tensor, rp.state.logits, r.state.logits); // row t predicts token t+1; the last row has no target
      k.push(b.read(outs[j] as Tensor));
    }
    return { p, q, k };
  };
  const settle = async (x: Pending): Promise<void> => {
    nllP += await x.p;
    for (let j = 0; j < compared.length; j++) {
      nllQ[j] = (nllQ[j] as number) + (await (x.q[j] as Promise<number>));
      const d = (await (x.k[j] as Promise<{ data: unknown }>)).data as Float32Array;
      for (let t = 0; t < T - 1; t++) {
        klSum[j] = (klSum[j] as number) + (d[2 * t] as number);
        agree[j] = (agree[j] as number) + (d[2 * t + 1] as number);
      }
    }
  };
  let pending: Pending | null = null;
  try {
    for (let i = 0; i < n; i++) {
      const prev: Pending | null = pending;
      pending = enqueue(ids.subarray(i * T, (i + 1) * T));
      if (prev) {
        await settle(prev);
        o.onProgress?.(i, n);
      }
    }
    if (pending) await settle(pending);
    pending = null;
    o.onProgress?.(n, n);
  } finally {
    if (pending) await Promise.allSettled([pending.p, ...pending.q, ...pending.k]);
    for (const t of outs) b.free(t);
    rp.dispose();
    for (const r of rq) r.dispose();
  }
  const tokens = n * (T - 1);
  const res = (s: number): PerplexityResult => ({ ppl: Math.exp(s / tokens), nll: s / tokens, tokens, windows: n, seqlen: T });
  return {
    base: res(nllP),
    compared: compared.map((_, j) => ({ kl: (klSum[j] as number) / tokens, top1: (agree[j] as number) / tokens, compared: res(nllQ[j] as number) })),
  };
}
