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
  | 'gram';

/** Parameters of causal multi-head attention with grouped KV heads. */
export interface AttentionParams {
  /** Query heads. */
  readonly nHeads: number;
  /** Key/value heads; `nHeads % nKvHeads === 0`, query head h uses kv head `floor(h / (nHeads / nKvHeads))`. */
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Absolute position of the first query row; query row t sees keys 0 … pos0 + t. */
  readonly pos0: number;
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
  /** Releases every resource of the backend. */
  dispose(): void;

  // --- ops (enqueued; out is written, never read unless stated) ------------

  /** out[t, :] = table[ids[t], :].  out: [T, D] f32, table: [V, D], ids: [T] i32. */
  embedding(out: Tensor, table: Tensor, ids: Tensor): void;

  /** out[t, :] = x[t, :] / sqrt(mean(x[t, :]²) + eps) · weight.  out, x: [T, D] f32, weight: [D]. */
  rmsnorm(out: Tensor, x: Tensor, weight: Tensor, eps: number): void;

  /**
   * out = x·Wᵀ (+ bias).  out: [T, M] f32, x: [T, K] f32, w: [M, K], bias: [M].
   * w may be a packed weight (`uploadPacked`): then W = Ŵ = `FORMATS[format].unpack(…).weight`.
   */
  matmul(out: Tensor, x: Tensor, w: Tensor, bias?: Tensor): void;

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
   * k, v: [S, nKvHeads·headDim] (a KV cache; rows 0 … pos0+T−1 are read), f32.
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
   * Gram accumulation for calibration Hessians: h += scale · xᵀx, i.e.
   * h[i, j] += scale · Σ_t x[t, i] · x[t, j].  h: [K, K] f32 (read and written), x: [T, K] f32.
   * Accumulation is f32; GPTQ's H = (2/n)·Σ xxᵀ is built by calling this per batch.
   */
  gram(h: Tensor, x: Tensor, scale: number): void;
}
