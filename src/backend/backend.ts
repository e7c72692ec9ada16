/**
 * The compute backend interface shared by the CPU reference and WebGPU.
 *
 * A backend owns device tensors. Ops write into preallocated output tensors
 * (llm.c style: the model allocates its activations once) and are *enqueued*:
 * they return at once, and their results are visible to later ops and to
 * `read`, which is the only asynchronous data path back to the host. `sync`
 * waits for all queued work and turns device errors into exceptions.
 *
 * Layout rules (CONVENTIONS §2.4): tensors are row-major; matrices are
 * `[out, in]`; `matmul` computes `x·Wᵀ`. Activations are f32; weights may be
 * f32, bf16 or f16 (`supports` says which op takes which weight dtype).
 *
 * This file and everything under backend/ except the `node*.ts` adapters
 * import no Node-only module, so the same code runs in a browser.
 */
import type { UniformGridConfig } from '../formats/grids/uniform.js';
import type { FormatId, PackedTensor } from '../formats/types.js';
import type { DType } from '../tensor/dtype.js';
import type { HostTensor, Shape } from '../tensor/tensor.js';

export type BackendName = 'cpu' | 'webgpu';

/** `uploadPacked` of a tensor that does not fit the backend's limits (a caller may load it dequantized instead). */
export class PackedTooLargeError extends Error {
  override readonly name = 'PackedTooLargeError';
}

/** A tensor that lives on a backend. Only the backend that made it may use it. */
export interface Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  /**
   * Set on a packed weight (`uploadPacked`): its quantized format; `shape` is
   * then [out, in] and `dtype` is 'u8' (bytes), and only `matmul` (as `w`) and
   * `free` accept it.
   */
  readonly format?: FormatId;
  /**
   * Set on a packed weight: the bytes the backend holds for it, which its matmul reads (WebGPU:
   * the GPU image of webgpu/packed.ts, header and transposed or merged statistics included; CPU:
   * the format's arrays).
   */
  readonly bytes?: number;
}

export type OpName =
  | 'embedding'
  | 'rmsnorm'
  | 'matmul'
  | 'rope'
  | 'attention'
  | 'copyRows'
  | 'siluMul'
  | 'add'
  | 'nll'
  | 'kl'
  | 'gram'
  | 'cholesky'
  | 'triInverse'
  | 'diagonal'
  | 'permuteSymmetric'
  | 'gatherTranspose'
  | 'rowDot'
  | 'gptqBlock'
  | 'ropeKv'
  | 'ropeKvAttention'
  | 'argmax'
  | 'sample'
  | 'spqrBlock';

/** Parameters of causal multi-head attention with grouped KV heads. */
export interface AttentionParams {
  /** Query heads. */
  readonly nHeads: number;
  /** Key/value heads; `nHeads % nKvHeads === 0`, query head h uses kv head `floor(h / (nHeads / nKvHeads))`. */
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Absolute position of the first query row; query row t sees keys 0 … pos0 + t. */
  readonly pos0: number;
  /**
   * A [1] i32 device tensor added to `pos0` on the device: the first query row
   * is then at P = pos0 + pos[0] and row t sees keys 0 … P + t (P + T ≤ S). The
   * commands recorded for the call do not depend on pos[0], so a decode step
   * recorded once replays at every position; WebGPU then sizes its key splits by
   * the cache (S rows) instead of P + T.
   */
  readonly pos?: Tensor;
}

/** Parameters of `Backend.ropeKv`. */
export interface RopeKvParams {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Position of the first row, plus pos[0] when `pos` ([1] i32 device tensor) is given. */
  readonly pos0: number;
  readonly pos?: Tensor;
}

/** Backend.sample's filter: softmax(logits / temperature) kept to the top-k tokens and the top-p nucleus. */
export interface SampleFilter {
  /** > 0 (temperature 0 is argmax). */
  readonly temperature: number;
  /** Keep the k most likely tokens; 0 (or ≥ V) keeps all. */
  readonly topK: number;
  /** Keep the smallest prefix, most likely first, whose mass reaches topP of the total: (0, 1], 1 keeps all. */
  readonly topP: number;
}

/** Backend.sample's filter and its draws: uniforms [NU] f32 in [0, 1) (a device tensor the host fills ahead). */
export interface SampleDraws extends SampleFilter {
  readonly uniforms: Tensor;
}

/** Where `Backend.argmax` also files its tokens: tokens [N] i32, pos [1] i32 (device tensors). */
export interface ArgmaxHistory {
  readonly tokens: Tensor;
  readonly pos: Tensor;
  /**
   * Then pos[0] += 1 (T = 1 only): the next replayed step runs at the next position without a
   * host write, so a chunk of decode steps can be issued as one submit.
   */
  readonly advance?: boolean;
}

/**
 * What `matmul` folds into the product (a decode step's neighbours of each
 * projection): the input transform, where the output lands, and whether it adds.
 */
export interface MatmulOptions {
  /**
   * RMSNorm folded in: the product reads rmsnorm(x, norm.weight, norm.eps)
   * (as the `rmsnorm` op) instead of x, which is then the raw residual stream.
   */
  readonly norm?: {
    readonly weight: Tensor;
    readonly eps: number;
    /**
     * A tensor that the matmul which last wrote x filled through its `normOut` with this norm
     * weight (and nothing has written x since): a backend may read the normalized input from it
     * instead of x and the weight. Ignored where it was not written (another T, a kernel without
     * the epilogue, the CPU backend): x is then normalized as usual.
     */
    readonly prepared?: Tensor;
  };
  /**
   * The producer side of `norm.prepared`: besides out, the backend may write the next RMSNorm's
   * inputs into `into` (f32 [T, 2·N], its layout backend-defined: on WebGPU at T = 1, out·weight
   * then the partial sums of out² of the kernel's workgroups). Needs col0 0, no glu, no norm.
   */
  readonly normOut?: { readonly weight: Tensor; readonly into: Tensor };
  /** SwiGLU folded in: x is [T, 2K] = (gate | up) per row and the product reads silu(gate)·up. */
  readonly gated?: boolean;
  /**
   * SwiGLU on the output: w is (gate | up), M = 2F rows, y = x·Wᵀ (+ bias), and the result is
   * silu(y[:, :F])·y[:, F:], F columns wide (which col0, accumulate and out's shape refer to).
   */
  readonly glu?: boolean;
  /** The residual add folded in: out += product instead of out = product. */
  readonly accumulate?: boolean;
  /**
   * The product lands in columns col0 … col0+M−1 of a wider out ([T, N], N ≥
   * col0 + M), e.g. q, k and v side by side. Without it out must be [T, M].
   */
  readonly col0?: number;
}

/** The tensors of one GPTQ lazy-batch block (`Backend.gptqBlock`); n = input columns, out = rows of W. */
export interface GptqBlockTensors {
  /** Working weights, transposed and in layout (quantization) order: [n, out] f32, read and written. */
  readonly wt: Tensor;
  /** U, the upper Cholesky factor of H⁻¹ in layout order (H⁻¹ = UᵀU): [n, n] f32. */
  readonly u: Tensor;
  /** Grid steps and zero points [nGroups, out] f32: read, and written for groups fitted in the block. */
  readonly scale: Tensor;
  readonly zero: Tensor;
  /** group[j]: the row of scale/zero that layout column j uses: [n] i32. */
  readonly group: Tensor;
  /** perm[j]: the original column of layout column j: [n] i32. */
  readonly perm: Tensor;
  /** Ŵ in original column order: [out, n] f32; columns perm[i1 … i2) are written. */
  readonly what: Tensor;
  /** Scratch for the block's scaled errors E, transposed: [≥ i2 − i1, out] f32. */
  readonly err: Tensor;
}

/** What one GPTQ block does (`Backend.gptqBlock`). */
export interface GptqBlockParams {
  /** The block's layout columns [i1, i2). */
  readonly i1: number;
  readonly i2: number;
  /** The uniform grid and how a group is fitted (formats/grids/uniform.ts `fitUniform`: min-max or the mse shrink search). */
  readonly grid: UniformGridConfig;
  /**
   * Groups fitted on the fly: at each layout column j with j % fitGroupSize = 0,
   * row r's grid is fitted on wt[j … j + fitGroupSize, r] into scale/zero row
   * j / fitGroupSize. 0: nothing is fitted here (per-channel or static groups).
   */
  readonly fitGroupSize: number;
}

/** A fixed sequence of enqueued ops captured by `Backend.record`, replayed by `Backend.replay`. */
export interface Recording {
  /** Ops (dispatches) it holds. */
  readonly ops: number;
}

/** The tensors of one SpQR block (`Backend.spqrBlock`); n = input columns, out = rows of W, β2 = qqGroup. */
export interface SpqrBlockTensors {
  /** Working weights, transposed and in layout order: [n, out] f32, read and written. */
  readonly wt: Tensor;
  /** U, the upper Cholesky factor of H⁻¹ in layout order (H⁻¹ = UᵀU): [n, n] f32. */
  readonly u: Tensor;
  /** Scratch for one group's unquantized first-level (scale, zero): [2, out] f32. */
  readonly fit: Tensor;
  /**
   * First-level stats [nGroups, 4, out] f32, written for the block's groups:
   * dequantized scale, dequantized zero, scale code, zero code (codes on the qqBits grid).
   */
  readonly grid: Tensor;
  /**
   * Second-level stats [nGroups, ceil(out / β2), 4] f32, written for the block's groups:
   * the fp16 (scale, zero) of the chunk's scales, then of its zeros. A scale that
   * overflows fp16 is written as −1 for the caller to report.
   */
  readonly stats: Tensor;
  /** Ŵ in layout order: [out, n] f32; columns [i1, i2) are written. */
  readonly what: Tensor;
  /**
   * Codes in layout order: [out, n] i32; columns [i1, i2) are written as
   * code | 0x100 · outlier | (fp16 bits of the outlier's residual) << 16.
   */
  readonly codes: Tensor;
  /** Scratch for the block's scaled errors E, transposed: [≥ i2 − i1, out] f32. */
  readonly err: Tensor;
}

/** What one SpQR block does (`Backend.spqrBlock`). */
export interface SpqrBlockParams {
  /** The block's layout columns [i1, i2); i1 is a multiple of groupSize and no group straddles i2 (unless i2 = n). */
  readonly i1: number;
  readonly i2: number;
  /** Weight code bits (2–8). */
  readonly bits: number;
  /** β1: input columns per group of first-level stats. */
  readonly groupSize: number;
  /** Bits of the quantized first-level stats (2–8). */
  readonly qqBits: number;
  /** β2: output rows per chunk of second-level stats. */
  readonly qqGroup: number;
  /** τ_abs of the outlier tests (absolute, in units of the scaled error²); Infinity = no outliers. */
  readonly tauAbs: number;
}

export interface Backend {
  readonly name: BackendName;
  /** Human-readable device description (adapter name, thread count). */
  readonly description: string;

  /**
   * Whether `op` accepts a weight (or table) of dtype `dtype`, or — for
   * `matmul` — a packed weight of format `kind` (`uploadPacked`). Activations are always f32.
   */
  supports(op: OpName, kind: DType | FormatId): boolean;

  // --- memory -------------------------------------------------------------

  /** Copies a host tensor to the device. f16/bf16 stay 16-bit where the backend supports them. */
  upload(t: HostTensor): Tensor;
  /**
   * Uploads a packed quantized weight [out, in] as it is stored (the format's
   * byte arrays, no dequantized copy) for `matmul`; throws unless
   * `supports('matmul', p.format)`. The result carries `format`.
   */
  uploadPacked(p: PackedTensor): Tensor;
  /** A zero-filled device tensor. */
  empty(dtype: DType, shape: Shape): Tensor;
  /** Overwrites the whole of `dst` with `src` (same dtype and element count). */
  write(dst: Tensor, src: HostTensor): void;
  /** Reads a tensor back after all queued work that writes it has finished. */
  read(t: Tensor): Promise<HostTensor>;
  /** Releases a tensor's memory now; using it afterwards is an error. */
  free(t: Tensor): void;
  /** Waits for all queued work; throws the first device error (validation, out of memory, lost). */
  sync(): Promise<void>;
  /** Starts the work queued so far without waiting for it (a GPU backend submits its recorded commands). */
  submit(): void;
  /** Releases every resource of the backend. */
  dispose(): void;

  /**
   * Runs `fn`, which may only enqueue ops, and returns a recording that
   * enqueues the same ops on the same tensors with the same parameters again,
   * for a fraction of the host work (a GPU backend keeps the pipelines, bind
   * groups and grids). A decode step that reads its position from a tensor is
   * recorded once and replayed for every token. `fn` must not read, write,
   * allocate or free tensors; a recording is invalid once one of its tensors is freed.
   */
  record(fn: () => void): Recording;
  /** Enqueues a recording's ops again. */
  replay(r: Recording): void;

  // --- ops (enqueued; out is written, never read unless stated) ------------

  /** out[t, :] = table[ids[t], :].  out: [T, D] f32, table: [V, D], ids: [T] i32. */
  embedding(out: Tensor, table: Tensor, ids: Tensor): void;

  /** out[t, :] = x[t, :] / sqrt(mean(x[t, :]²) + eps) · weight.  out, x: [T, D] f32, weight: [D]. */
  rmsnorm(out: Tensor, x: Tensor, weight: Tensor, eps: number): void;

  /**
   * out = x·Wᵀ (+ bias).  out: [T, M] f32, x: [T, K] f32, w: [M, K], bias: [M].
   * w may be a packed weight (`uploadPacked`): then W = Ŵ = `FORMATS[format].unpack(…).weight`.
   * `o` folds a norm or SwiGLU into the input and a residual add or column
   * offset into the output (MatmulOptions); a backend fuses them where it can
   * and otherwise runs the same ops separately, with the same result up to rounding.
   */
  matmul(out: Tensor, x: Tensor, w: Tensor, bias?: Tensor, o?: MatmulOptions): void;

  /**
   * Rotary embedding in place, HF half-split convention: within each head of
   * `headDim`, the pair (i, i + headDim/2) at absolute position p = pos0 + t is
   * rotated by the angle whose cos/sin are `cos[p, i]`, `sin[p, i]`.
   * x: [T, H·headDim] f32, cos/sin: [P, headDim/2] f32 with P ≥ pos0 + T.
   */
  rope(x: Tensor, cos: Tensor, sin: Tensor, pos0: number, headDim: number): void;

  /**
   * Causal softmax attention, scale 1/sqrt(headDim).
   * out: [T, nHeads·headDim], q: [T, nHeads·headDim],
   * k, v: [S, nKvHeads·headDim] (a KV cache; rows 0 … P+T−1 are read, P = pos0 + (pos ? pos[0] : 0)), f32.
   */
  attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, p: AttentionParams): void;

  /** dst[dstRow0 + r, :] = src[srcRow0 + r, :] for r < rows.  dst: [R, C], src: [S, C], same dtype. */
  copyRows(dst: Tensor, dstRow0: number, src: Tensor, srcRow0: number, rows: number): void;

  /** out = silu(gate) · up, elementwise.  out, gate, up: [T, F] f32. */
  siluMul(out: Tensor, gate: Tensor, up: Tensor): void;

  /** out = a + b, elementwise; out may alias a or b.  All [same shape] f32. */
  add(out: Tensor, a: Tensor, b: Tensor): void;

  /** out[t] = −log softmax(logits[t, :])[targets[t]].  out: [T] f32, logits: [T, V] f32, targets: [T] i32. */
  nll(out: Tensor, logits: Tensor, targets: Tensor): void;

  /**
   * Per-row KL divergence of two next-token distributions and top-1 agreement:
   * out[t, 0] = Σ_v P(v)·(log P(v) − log Q(v)) with P = softmax(p[t, :]), Q = softmax(q[t, :]);
   * out[t, 1] = 1 when argmax p[t, :] = argmax q[t, :] (first maximum), else 0.
   * out: [T, 2] f32, p, q: [T, V] f32. Only 2·T numbers come back to the host.
   */
  kl(out: Tensor, p: Tensor, q: Tensor): void;

  /**
   * Gram accumulation for calibration Hessians: h += scale · xᵀx, i.e.
   * h[i, j] += scale · Σ_t x[t, i] · x[t, j].  h: [K, K] f32 (read and written), x: [T, K] f32.
   * Accumulation is f32; GPTQ's H = (2/n)·Σ xxᵀ is built by calling this per batch.
   */
  gram(h: Tensor, x: Tensor, scale: number): void;

  // --- dense linear algebra for GPTQ (f32; only the noted triangles are read) --

  /**
   * Lower Cholesky factor: a = L·Lᵀ, out = L (zeros above the diagonal). Only
   * the lower triangle of a is read; out may be a. A pivot that is not > 0
   * (a not positive definite) makes that diagonal entry and the column below it
   * 0 and the factorization goes on, so a caller checks `diagonal(L) > 0`.
   * out, a: [n, n] f32.
   */
  cholesky(out: Tensor, a: Tensor): void;

  /** Inverse of a lower-triangular matrix: out = L⁻¹ (lower; a 0 on L's diagonal gives 0 in its row).  out, l: [n, n] f32, out ≠ l. */
  triInverse(out: Tensor, l: Tensor): void;

  /** out[i] = a[i, i].  out: [n] f32, a: [n, n] f32. */
  diagonal(out: Tensor, a: Tensor): void;

  /** out[i, j] = a[idx[i], idx[j]] + (i = j ? diagAdd[i] : 0).  out, a: [n, n] f32 (out ≠ a), idx: [n] i32, diagAdd: [n] f32. */
  permuteSymmetric(out: Tensor, a: Tensor, idx: Tensor, diagAdd: Tensor): void;

  /** Gathered columns, transposed: out[i, r] = idx[i] < 0 ? 0 : x[r, idx[i]].  out: [n, R], x: [R, C], idx: [n] i32; f32. */
  gatherTranspose(out: Tensor, x: Tensor, idx: Tensor): void;

  /** out[r] = Σ_c a[r, c] · b[r, c].  out: [R] f32, a, b: [R, C] f32. */
  rowDot(out: Tensor, a: Tensor, b: Tensor): void;

  /**
   * One lazy-batch block of GPTQ (Alg. 1 lines 5–10) on transposed working
   * weights: for each layout column j in [i1, i2): (fit the groups starting at
   * j,) quantize every row's wt[j, r] on its grid, write Ŵ, the scaled error
   * e = (w − ŵ) / U[j, j] into err[j − i1, r], and wt[k, r] −= e · U[j, k] for
   * k in (j, i2); then the lazy update wt[i2:, :] −= U[i1:i2, i2:]ᵀ · err.
   * Codes follow from Ŵ (code = quantize(ŵ), exact on the grid).
   */
  gptqBlock(t: GptqBlockTensors, p: GptqBlockParams): void;

  // --- decode step (position read on the device, so the step can be replayed) --

  /**
   * RoPE of q and k plus the KV-cache append, from the fused projection output.
   * qkv: [T, Cq + 2·Ckv] f32, each row = (q | k | v), Cq = nHeads·headDim, Ckv = nKvHeads·headDim.
   * q: [T, Cq] ← rope(q part); kCache, vCache: [S, Ckv] f32, rows P … P+T−1 ← rope(k part) and the v part,
   * where P = pos0 + (pos ? pos[0] : 0). Rotation as `rope` (HF half-split), cos/sin [maxPos, headDim/2].
   * q, kCache, vCache and qkv are four distinct tensors; P + T ≤ S and P + T ≤ maxPos.
   */
  ropeKv(q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, p: RopeKvParams): void;

  /**
   * The decode step's attention as one op: `ropeKv(q, kCache, vCache, qkv, cos, sin, p)`, then
   * `attention(out, q, kCache, vCache, p)`, with the same results in out and in the caches. q is
   * scratch: a backend may rotate the queries inside its attention kernel and leave q as it was
   * (WebGPU does at T = 1 on its one-pass decode path, one dispatch instead of two).
   */
  ropeKvAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, p: RopeKvParams): void;

  /**
   * Greedy next tokens: ids[t] = argmax logits[t, :] (the first maximum). ids: [T] i32, logits: [T, V] f32.
   * With `history`: also history.tokens[P + t + 1] = ids[t], P = history.pos[0] — the token lands at the
   * position it will occupy, so a replayed decode loop leaves every generated token on the device.
   * NaNs never win; a row without a value above −∞ gives 0. P + T < N (tokens: [N]).
   */
  argmax(ids: Tensor, logits: Tensor, history?: ArgmaxHistory): void;

  /**
   * Sampled next tokens: ids[t] = the token uniforms[j] draws from logits[t, :] under the filter
   * (ops.sampleRow, the reference: kept tokens walked in index order), j = P + t + 1 with `history`
   * (the draw of the position the token will occupy; P = history.pos[0]), else t. History and
   * advance as `argmax`, so a recorded decode step that samples replays like a greedy one. The
   * device computes in f32: a token may differ from the reference only where u·Σ kept or the
   * nucleus mass lies within f32 rounding of a boundary.
   */
  sample(ids: Tensor, logits: Tensor, draws: SampleDraws, history?: ArgmaxHistory): void;

  /**
   * One lazy-batch block of SpQR (Alg. 1; formats/grids/affine.ts) on transposed
   * working weights: at each group start j (j % groupSize = 0), every row's
   * first-level (scale, zero) is fitted on wt[j … j + groupSize, r] — with
   * tauAbs finite, weights whose leave-one-out error reduction exceeds tauAbs
   * are first replaced by the mean of the others (fitAffineOutlierAware) —
   * then each chunk of qqGroup rows' scales and zeros is fitted on a qqBits
   * grid with fp16 stats (fitAffineF16) and quantized into grid/stats. Then for
   * each column j of the group and row r: code and ŵ on the dequantized stats,
   * e = (w − ŵ) / U[j, j]; if e² > tauAbs the weight is an outlier: the code of
   * 0 plus the fp16 residual v = f16(w − dense), ŵ = dense + v, e recomputed.
   * ŵ, the code and e go to what, codes, err[j − i1, r], and wt[k, r] −= e · U[j, k]
   * for k in (j, i2). Last the lazy update wt[i2:, :] −= U[i1:i2, i2:]ᵀ · err.
   */
  spqrBlock(t: SpqrBlockTensors, p: SpqrBlockParams): void;
}
