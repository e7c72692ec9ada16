/**
 * Seeded synthetic layers for tests and the parity check: a weight W [out, in]
 * and a Hessian H = (2/n)·Σ x xᵀ [in, in] from inputs x with a few strong
 * shared directions and uneven channel scales, as LLM activations have.
 */

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sampler (Box–Muller) over a uniform generator. */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export interface SyntheticOptions {
  /** Seed of everything. */
  readonly seed: number;
  /** Calibration vectors n. Default 2·in + 16. */
  readonly nSamples?: number;
  /** Shared strong directions in x. Default 4. */
  readonly strong?: number;
  /** Input channels that are always 0 (dead columns, H_ii = 0). Default 0. */
  readonly dead?: number;
  /** W from a Student-t with 3 degrees of freedom instead of a normal. Default false. */
  readonly heavyTail?: boolean;
}

export interface SyntheticLayer {
  /** [out, in] f32. */
  readonly W: Float32Array;
  /** [in, in] f64, symmetric PSD. */
  readonly H: Float64Array;
  readonly out: number;
  readonly inn: number;
  readonly nSamples: number;
}

/** A random weight matrix [out, in] with entries of scale ~0.02 (normal or heavy-tailed). */
export function randomWeight(out: number, inn: number, seed: number, heavyTail = false): Float32Array {
  const g = gaussian(mulberry32(seed));
  const W = new Float32Array(out * inn);
  for (let i = 0; i < W.length; i++) {
    if (!heavyTail) W[i] = 0.02 * g();
    else {
      const chi2 = g() ** 2 + g() ** 2 + g() ** 2;
      W[i] = (0.02 * g()) / Math.sqrt(chi2 / 3);
    }
  }
  return W;
}

/** H = (2/n)·Σ x xᵀ of n inputs x [in].  → [in, in] f64. */
export function correlatedHessian(inn: number, opts: SyntheticOptions): { H: Float64Array; nSamples: number } {
  const g = gaussian(mulberry32(opts.seed ^ 0x5bd1e995));
  const n = opts.nSamples ?? 2 * inn + 16;
  const strong = opts.strong ?? 4;
  const chan = new Float64Array(inn).map(() => Math.exp(0.75 * g())); // uneven channel magnitudes
  for (let i = 0; i < (opts.dead ?? 0); i++) chan[(i * 7 + 3) % inn] = 0;
  const dirs = Array.from({ length: strong }, () => new Float64Array(inn).map(() => g() / Math.sqrt(inn)));
  const H = new Float64Array(inn * inn);
  const x = new Float64Array(inn);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < inn; i++) x[i] = g();
    dirs.forEach((v, k) => {
      const c = (2 / (k + 1)) * g();
      for (let i = 0; i < inn; i++) x[i] = (x[i] as number) + c * (v[i] as number) * Math.sqrt(inn);
    });
    for (let i = 0; i < inn; i++) x[i] = (x[i] as number) * (chan[i] as number);
    for (let i = 0; i < inn; i++) {
      const xi = (2 / n) * (x[i] as number);
      if (xi === 0) continue;
      for (let j = 0; j <= i; j++) H[i * inn + j] = (H[i * inn + j] as number) + xi * (x[j] as number);
    }
  }
  for (let i = 0; i < inn; i++) for (let j = 0; j < i; j++) H[j * inn + i] = H[i * inn + j] as number;
  return { H, nSamples: n };
}

/** W and H of a synthetic layer. */
export function syntheticLayer(out: number, inn: number, opts: SyntheticOptions): SyntheticLayer {
  const { H, nSamples } = correlatedHessian(inn, opts);
  return { W: randomWeight(out, inn, opts.seed, opts.heavyTail ?? false), H, out, inn, nSamples };
}
