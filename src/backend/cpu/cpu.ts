/**
 * The CPU backend: device tensors are host typed arrays, ops run at once
 * (so "enqueued" work is always finished). Float weights are widened to f32
 * on upload; the matmul is pluggable so that a faster kernel (blocked,
 * threaded) can replace the reference loop without touching the model.
 */
import type { FormatId, PackedTensor } from '../../formats/types.js';
import { DTYPE_BYTES, f16ArrayToF32, f32ToF16, type DType } from '../../tensor/dtype.js';
import { numel, toF32, zeros, type HostTensor, type Shape } from '../../tensor/tensor.js';
import type { ArgmaxHistory, SampleDraws, AttentionParams, Backend, GptqBlockParams, GptqBlockTensors, MatmulOptions, OpName, Recording, RopeKvParams, SpqrBlockParams, SpqrBlockTensors, Tensor } from '../backend.js';
import * as shapes from '../shapes.js';
import * as linalg from './linalg.js';
import { spqrBlock } from './spqr.js';
import * as ops from './ops.js';
import { packedMatmul } from './packed.js';
import { fastPackedMatmul, gatherColumns, PackedRowDecoder, type ScratchF32 } from './packed-fast.js';
import type { QImage } from './wasm-gemm.js';
import { bytesU16, bytesU32 } from '../../formats/bytes.js';
import { mergedOutliers, mergedSpqrCodePairs, spqrSecondF32 } from '../../formats/spqr.js';
import { FORMATS, isPackedFormat } from '../../formats/index.js';
import { mergedIntStats } from '../../formats/int.js';

/** out = x·Wᵀ (+ bias).  out: [T, M], x: [T, K], w: [M, K], bias: [M]. */
export type MatmulKernel = (
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  T: number,
  K: number,
  M: number,
  bias?: Float32Array,
) => void;

class CpuTensor implements Tensor {
  readonly dtype: DType;
  readonly shape: Shape;
  data: HostTensor['data'] | null;

  constructor(dtype: DType, shape: Shape, data: HostTensor['data']) {
    this.dtype = dtype;
    this.shape = [...shape];
    this.data = data;
  }
}

/**
 * A packed weight: the format's byte arrays as stored, decoded tile by tile in matmul (packed.ts,
 * or packed-fast.ts's decoder on a backend with a fast matmul kernel; or, for int2/3/4/8 and SpQR
 * weights the WASM kernel can read, its codes, merged statistics and outliers in the kernel's
 * memory: `img`).
 */
class CpuPackedTensor implements Tensor {
  readonly dtype = 'u8' as const;
  readonly shape: Shape;
  readonly format: FormatId;
  readonly bytes: number;
  /** The format's arrays (with a kernel image, only the codes: the rest lives in the image); null after free. */
  packed: PackedTensor | null;
  decoder: PackedRowDecoder | null;
  img: QImage | null;
  /** The arena tensors that hold img's arrays (kept: a dropped one returns its block to the arena; `free` frees them). */
  readonly hold: readonly Tensor[];

  constructor(p: PackedTensor, decoder: PackedRowDecoder | null, img: { q: QImage; hold: readonly Tensor[] } | null) {
    this.shape = [...p.shape];
    this.format = p.format;
    this.packed = p;
    this.decoder = decoder;
    this.img = img?.q ?? null;
    this.hold = img?.hold ?? [];
    // with a kernel image: its arena blocks (codes, statistics, SpQR's outliers); else the format's arrays
    this.bytes = img ? img.hold.reduce((a, t) => a + ((t as CpuTensor).data?.byteLength ?? 0), 0) : Object.values(p.arrays).reduce((a, x) => a + x.byteLength, 0);
  }
}

/** QImage.gather: the input of each column qgemm decodes (act-order perm; at 2, 3 and 4 bits position 32·ch + 4k + l is code 32·ch + 8l + k), or null for the identity. */
function qGather(p: PackedTensor, bits: number): Uint32Array | null {
  const K = p.shape[1];
  const perm = p.params.permuted === 1 ? bytesU16(p.arrays.perm as Uint8Array) : null;
  if (!perm && bits === 8) return null;
  const idx = new Uint32Array(K);
  for (let j = 0; j < K; j++) {
    const c = bits < 8 ? (j & ~31) + 8 * (j & 3) + ((j & 31) >>> 2) : j;
    idx[j] = perm ? (perm[c] as number) : c;
  }
  return idx;
}

/**
 * The WASM kernel's layout parameters for an int2/3/4/8 or SpQR (2/3/4/8-bit codes) tensor, or null
 * when it cannot read it: K not whole 32-code chunks; int groups not whole chunks dividing K; SpQR
 * groups (β1) neither 16 columns nor whole chunks dividing K.
 */
function qLayout(p: PackedTensor): { bits: number; nGroups: number; cpg: number } | null {
  const spqr = p.format === 'spqr';
  const bits = spqr ? (p.params.bits as number) : FORMATS[p.format].bits;
  const [, K] = p.shape;
  const g = p.params.groupSize as number;
  if (!(bits === 2 || bits === 3 || bits === 4 || bits === 8) || !(spqr || p.format.startsWith('int')) || K % 32 !== 0) return null;
  if (spqr) return (g === 16 || g % 32 === 0) && K % g === 0 ? { bits, nGroups: K / g, cpg: 0 } : null;
  if (g >= K) return { bits, nGroups: 1, cpg: K / 32 };
  return g % 32 === 0 && K % g === 0 ? { bits, nGroups: K / g, cpg: g / 32 } : null;
}

/**
 * Memory outside the JS heap that tensors can live in, e.g. the WASM kernel's
 * shared linear memory, so that the kernel reads weights in place.
 */
export interface CpuArena {
  /** `bytes` zero-filled bytes at `byteOffset` of `buffer`, or null when the arena is full. */
  alloc(bytes: number): { readonly buffer: ArrayBufferLike; readonly byteOffset: number } | null;
  /** Returns the block at `byteOffset` to the arena. */
  free(byteOffset: number): void;
}

export interface CpuBackendOptions {
  /** The matmul kernel; the plain reference loop when absent. */
  readonly matmul?: MatmulKernel;
  /** Printed in `description`, e.g. "wasm simd, 2 threads". */
  readonly matmulName?: string;
  /**
   * Where `upload` and `empty` put tensor data: 'array' (default) ordinary
   * typed arrays; 'shared' SharedArrayBuffer memory that worker threads can
   * read: blocks of `arena` when given (falling back to a SharedArrayBuffer per
   * tensor when it is full), else a SharedArrayBuffer per tensor.
   */
  readonly storage?: 'array' | 'shared';
  readonly arena?: CpuArena;
  /** Called once by `dispose` (e.g. to stop the kernel's worker threads). */
  readonly release?: () => void;
  /**
   * How matmul decodes packed weights: 'reference' (default; packed.ts, what the WGSL kernels are
   * tested against) or 'fast' (packed-fast.ts: the same values, decoded a row and group at a time,
   * then the matmul kernel; the fast backends' choice).
   */
  readonly packed?: 'reference' | 'fast';
  /**
   * The WASM kernel for packed int2/3/4/8 and SpQR weights (with `packed: 'fast'` and an arena): uploadPacked
   * puts their codes and merged statistics in the arena, and matmul runs this on them.
   */
  readonly qmatmul?: (out: Float32Array, x: Float32Array, w: QImage, T: number, bias?: Float32Array) => void;
}

type ViewCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => HostTensor['data'];
const VIEW: { [D in DType]: ViewCtor } = {
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  i8: Int8Array,
  u8: Uint8Array,
  i16: Int16Array,
  i32: Int32Array,
  i64: BigInt64Array,
  bool: Uint8Array,
};

class CpuRecording implements Recording {
  readonly ops = 0;
  readonly fn: () => void;
  constructor(fn: () => void) {
    this.fn = fn;
  }
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly description: string;
  private readonly matmulKernel: MatmulKernel;
  private readonly fastPacked: boolean;
  private readonly qmatmul: CpuBackendOptions['qmatmul'];
  private readonly storage: 'array' | 'shared';
  private readonly arena: CpuArena | undefined;
  private release: (() => void) | undefined;
  /** Frees the arena block of a tensor that was dropped without `free`. */
  private readonly finalizer: FinalizationRegistry<number> | undefined;

  constructor(opts: CpuBackendOptions = {}) {
    this.matmulKernel = opts.matmul ?? ops.matmul;
    this.fastPacked = opts.packed === 'fast';
    this.qmatmul = this.fastPacked ? opts.qmatmul : undefined;
    this.description = `CPU (${opts.matmulName ?? 'reference matmul'}${this.fastPacked ? '' : opts.matmul ? ', reference packed decode' : ''})`;
    this.storage = opts.storage ?? 'array';
    this.arena = this.storage === 'shared' ? opts.arena : undefined;
    this.release = opts.release;
    const arena = this.arena;
    this.finalizer = arena ? new FinalizationRegistry((off) => arena.free(off)) : undefined;
  }

  supports(op: OpName, kind: DType | FormatId): boolean {
    return kind === 'f32' || (op === 'matmul' && isPackedFormat(kind));
  }

  uploadPacked(p: PackedTensor): Tensor {
    if (!isPackedFormat(p.format)) throw new Error(`uploadPacked: ${p.format} is not a packed format (upload it as a dense tensor)`);
    if (!this.fastPacked) return new CpuPackedTensor(p, null, null);
    const decoder = new PackedRowDecoder(p); // validates the arrays' sizes
    const L = this.qmatmul && this.arena ? qLayout(p) : null;
    if (!L) return new CpuPackedTensor(p, decoder, null);
    // codes and statistics (SpQR: and outliers) in the kernel's memory (the codes moved, not copied twice)
    const [M, K] = p.shape;
    const spqr = p.format === 'spqr';
    const nStat = spqr ? Math.ceil(M / (p.params.qqGroup as number)) : 0;
    const nOut = spqr ? (p.params.outliers as number) : 0;
    // u32 words of each block: codes (bytes), int stats | SpQR sq (u16 pairs), second, rowPtr, outliers, descriptor
    const sizes = spqr ? [Math.ceil((M * L.nGroups) / 2), L.nGroups * nStat * 4, M + 1, nOut, 8] : [M * L.nGroups];
    const codes = this.inArena('u8', [(p.arrays.codes as Uint8Array).length]);
    const blocks: CpuTensor[] = [];
    for (const n of sizes) {
      const t = codes && this.inArena('i32', [Math.max(1, n)]);
      if (!t) break;
      blocks.push(t);
    }
    if (!codes || blocks.length < sizes.length) {
      // the arena is full: decoded in JS from the arrays as they are
      for (const t of [codes, ...blocks]) if (t) this.free(t);
      return new CpuPackedTensor(p, decoder, null);
    }
    const c = codes.data as Uint8Array;
    c.set(p.arrays.codes as Uint8Array);
    const view = <V>(i: number, C: new (b: ArrayBufferLike, o: number, n: number) => V, n: number): V => {
      const d = (blocks[i] as CpuTensor).data as Int32Array;
      return new C(d.buffer, d.byteOffset, n);
    };
    // the tensor keeps only the codes (now in the arena): its statistics (and outliers) live in the image
    const moved: PackedTensor = { ...p, arrays: { codes: c } };
    const common = { codes: c, gather: qGather(p, L.bits), bits: L.bits, M, K, nGroups: L.nGroups, cpg: L.cpg };
    if (!spqr) {
      const q: QImage = { ...common, stats: mergedIntStats(p, L.nGroups, L.bits, view(0, Uint32Array, M * L.nGroups)), spqr: null };
      return new CpuPackedTensor(moved, null, { q, hold: [codes, ...blocks] });
    }
    const sq = mergedSpqrCodePairs(p, view(0, Uint16Array, M * L.nGroups));
    const second = spqrSecondF32(p, view(1, Float32Array, L.nGroups * nStat * 4));
    const rowPtr = view(2, Uint32Array, M + 1);
    rowPtr.set(bytesU32(p.arrays.outlierRowPtr as Uint8Array));
    const ents = mergedOutliers(p, view(3, Uint32Array, nOut));
    const desc = view(4, Uint32Array, 8);
    desc.set([sq.byteOffset, second.byteOffset, rowPtr.byteOffset, ents.byteOffset, nStat, p.params.qqGroup as number, p.params.groupSize as number, 0]);
    const q: QImage = { ...common, stats: new Uint32Array(0), spqr: { desc, sq, second, rowPtr, ents } };
    return new CpuPackedTensor(moved, null, { q, hold: [codes, ...blocks] });
  }

  upload(t: HostTensor): Tensor {
    const wide = t.dtype === 'bf16' || t.dtype === 'f16';
    const dtype = wide ? 'f32' : t.dtype;
    const src = wide ? toF32(t) : t.data;
    if (this.storage === 'array') return new CpuTensor(dtype, t.shape, wide ? src : src.slice());
    const out = this.allocate(dtype, t.shape);
    (this.own(out).data as Float32Array).set(src as Float32Array);
    return out;
  }

  empty(dtype: DType, shape: Shape): Tensor {
    if (this.storage === 'array') return new CpuTensor(dtype, shape, zeros(dtype, shape).data);
    return this.allocate(dtype, shape);
  }

  /** Scratch tensors of the fast packed matmul by purpose (held here: an arena block returns to the arena when its tensor is dropped). */
  private readonly scratch = new Map<string, CpuTensor>();
  /** Scratch arrays of the fast packed matmul, kept and grown by purpose; on shared storage inside the arena, so the kernel reads them in place. */
  private readonly scratchF32: ScratchF32 = (purpose, n) => {
    const have = this.scratch.get(purpose)?.data as Float32Array | undefined;
    if (have && have.length >= n) return have;
    const t = this.storage === 'array' ? new CpuTensor('f32', [n], new Float32Array(n)) : this.allocate('f32', [n]);
    this.scratch.set(purpose, t);
    return t.data as Float32Array;
  };

  /** A zero-filled tensor on shared memory: an arena block when one is free, else its own SharedArrayBuffer. */
  private allocate(dtype: DType, shape: Shape): CpuTensor {
    const n = numel(shape);
    if (!Number.isSafeInteger(n) || n < 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new Error(`invalid shape [${shape.join(', ')}]`);
    }
    return this.inArena(dtype, shape) ?? new CpuTensor(dtype, shape, new VIEW[dtype](new SharedArrayBuffer(n * DTYPE_BYTES[dtype]), 0, n));
  }

  /** A zero-filled tensor in an arena block, or null when there is no arena or it is full. */
  private inArena(dtype: DType, shape: Shape): CpuTensor | null {
    const n = numel(shape);
    const block = this.arena?.alloc(n * DTYPE_BYTES[dtype]);
    if (!block) return null;
    const t = new CpuTensor(dtype, shape, new VIEW[dtype](block.buffer, block.byteOffset, n));
    this.finalizer?.register(t, block.byteOffset, t);
    return t;
  }

  write(dst: Tensor, src: HostTensor): void {
    const d = this.arr(dst);
    if (src.dtype !== dst.dtype || src.data.length !== d.length) {
      throw new Error(`write: ${src.dtype}[${src.data.length}] does not fit ${dst.dtype}[${d.length}]`);
    }
    (d as Float32Array).set(src.data as Float32Array);
  }

  read(t: Tensor): Promise<HostTensor> {
    const data = this.arr(t).slice();
    return Promise.resolve({ dtype: t.dtype, shape: [...t.shape], data } as HostTensor);
  }

  /** How matmul decodes this packed weight: the WASM kernel, the JS fast decoder or the reference (null: not a packed weight of this backend). */
  packedPath(t: Tensor): 'wasm' | 'js' | 'reference' | null {
    if (!(t instanceof CpuPackedTensor) || t.packed === null) return null;
    return t.img ? 'wasm' : t.decoder ? 'js' : 'reference';
  }

  free(t: Tensor): void {
    if (t instanceof CpuPackedTensor) {
      if (t.packed === null) return;
      t.packed = null;
      t.decoder = null;
      t.img = null;
      for (const h of t.hold) this.free(h);
      return;
    }
    const ct = this.own(t);
    if (ct.data && this.arena && this.finalizer?.unregister(ct)) this.arena.free(ct.data.byteOffset);
    ct.data = null;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  /** Ops run when called, so there is nothing to start. */
  submit(): void {}

  dispose(): void {
    this.release?.();
    this.release = undefined;
  }

  embedding(out: Tensor, table: Tensor, ids: Tensor): void {
    const { D } = shapes.checkEmbedding(out, table, ids);
    ops.embedding(this.f32(out), this.f32(table), this.i32(ids), D);
  }

  rmsnorm(out: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    const { T, D } = shapes.checkRmsnorm(out, x, weight);
    ops.rmsnorm(this.f32(out), this.f32(x), this.f32(weight), T, D, eps);
  }

  /** The CPU executes ops as they come, so a recording is the function itself. */
  record(fn: () => void): Recording {
    fn();
    return new CpuRecording(fn);
  }

  replay(r: Recording): void {
    if (!(r instanceof CpuRecording)) throw new Error('cpu backend: replay of a recording made by another backend');
    r.fn();
  }

  /** The reference semantics of MatmulOptions: rmsnorm / silu·mul, product, then add or place. */
  matmul(out: Tensor, x: Tensor, w: Tensor, bias?: Tensor, o: MatmulOptions = {}): void {
    const { T, K, M, N, col0, width } = shapes.checkMatmul(out, x, w, bias, o);
    let xin = this.f32(x);
    if (o.norm) {
      const t = new Float32Array(T * K);
      ops.rmsnorm(t, xin, this.f32(o.norm.weight), T, K, o.norm.eps);
      xin = t;
    } else if (o.gated) {
      const t = new Float32Array(T * K);
      for (let r = 0; r < T; r++) ops.siluMul(t.subarray(r * K, (r + 1) * K), xin.subarray(2 * r * K, (2 * r + 1) * K), xin.subarray((2 * r + 1) * K, (2 * r + 2) * K));
      xin = t;
    }
    const dst = this.f32(out);
    const direct = !o.accumulate && !o.glu && N === M;
    let y = direct ? dst : new Float32Array(T * M);
    if (w instanceof CpuPackedTensor) {
      if (w.packed === null) throw new Error('cpu backend: tensor used after free');
      if (w.img && this.qmatmul) {
        const g = w.img.gather;
        this.qmatmul(y, g ? gatherColumns(xin, T, g, this.scratchF32('x', T * K)) : xin, w.img, T, bias ? this.f32(bias) : undefined);
      } else if (w.decoder) fastPackedMatmul(y, xin, w.decoder, T, this.matmulKernel, this.scratchF32, bias ? this.f32(bias) : undefined);
      else packedMatmul(y, xin, w.packed, T, this.matmulKernel, bias ? this.f32(bias) : undefined);
    } else {
      this.matmulKernel(y, xin, this.f32(w), T, K, M, bias ? this.f32(bias) : undefined);
    }
    if (direct) return;
    if (o.glu) {
      const h = new Float32Array(T * width);
      for (let r = 0; r < T; r++) ops.siluMul(h.subarray(r * width, (r + 1) * width), y.subarray(r * M, r * M + width), y.subarray(r * M + width, (r + 1) * M));
      y = h;
    }
    for (let r = 0; r < T; r++) {
      const row = dst.subarray(r * N + col0, r * N + col0 + width);
      const src = y.subarray(r * width, (r + 1) * width);
      if (o.accumulate) ops.add(row, row, src);
      else row.set(src);
    }
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, pos0: number, headDim: number): void {
    const { T, C, half } = shapes.checkRope(x, cos, sin, pos0, headDim);
    ops.rope(this.f32(x), this.f32(cos), this.f32(sin), T, C, half, pos0);
  }

  attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, p: AttentionParams): void {
    const { T, S } = shapes.checkAttention(out, q, k, v, p);
    const P = this.position('attention', p.pos0, p.pos, T, S, 'the cache');
    // an f16 cache is read widened to f32, the rows any query sees
    const rows = (t: Tensor): Float32Array => (t.dtype === 'f16' ? f16ArrayToF32((this.arr(t) as Uint16Array).subarray(0, (P + T) * (t.shape[1] as number))) : this.f32(t));
    ops.attention(this.f32(out), this.f32(q), rows(k), rows(v), T, p.nHeads, p.nKvHeads, p.headDim, P);
  }

  copyRows(dst: Tensor, dstRow0: number, src: Tensor, srcRow0: number, rows: number): void {
    const { C } = shapes.checkCopyRows(dst, dstRow0, src, srcRow0, rows);
    const s = this.arr(src) as Float32Array;
    (this.arr(dst) as Float32Array).set(s.subarray(srcRow0 * C, (srcRow0 + rows) * C), dstRow0 * C);
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor): void {
    shapes.checkElementwise('siluMul', out, gate, up);
    ops.siluMul(this.f32(out), this.f32(gate), this.f32(up));
  }

  add(out: Tensor, a: Tensor, b: Tensor): void {
    shapes.checkElementwise('add', out, a, b);
    ops.add(this.f32(out), this.f32(a), this.f32(b));
  }

  nll(out: Tensor, logits: Tensor, targets: Tensor): void {
    const { V } = shapes.checkNll(out, logits, targets);
    ops.nll(this.f32(out), this.f32(logits), this.i32(targets), V);
  }

  kl(out: Tensor, p: Tensor, q: Tensor): void {
    const { T, V } = shapes.checkKl(out, p, q);
    ops.kl(this.f32(out), this.f32(p), this.f32(q), T, V);
  }

  gram(h: Tensor, x: Tensor, scale: number): void {
    const { T, K } = shapes.checkGram(h, x);
    const hd = this.f32(h);
    const xd = this.f32(x);
    // xᵀx through the (fast) matmul kernel: out = xT · xTᵀ with xT: [K, T].
    const xT = new Float32Array(K * T);
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) xT[k * T + t] = xd[t * K + k]!;
    const g = new Float32Array(K * K);
    this.matmulKernel(g, xT, xT, K, T, K);
    for (let i = 0; i < K * K; i++) hd[i] = Math.fround(hd[i]! + Math.fround(scale * g[i]!));
  }

  cholesky(out: Tensor, a: Tensor): void {
    const { n } = shapes.checkSquare('cholesky', ['out', out], ['a', a]);
    const o = this.f32(out);
    if (out !== a) o.set(this.f32(a));
    linalg.cholesky(o, n);
  }

  triInverse(out: Tensor, l: Tensor): void {
    const { n } = shapes.checkSquare('triInverse', ['out', out], ['l', l]);
    if (out === l) throw new Error('triInverse: out must not be l');
    linalg.triInverse(this.f32(out), this.f32(l), n);
  }

  diagonal(out: Tensor, a: Tensor): void {
    const { n } = shapes.checkDiagonal(out, a);
    const o = this.f32(out);
    const ad = this.f32(a);
    for (let i = 0; i < n; i++) o[i] = ad[i * n + i]!;
  }

  permuteSymmetric(out: Tensor, a: Tensor, idx: Tensor, diagAdd: Tensor): void {
    const { n } = shapes.checkPermuteSymmetric(out, a, idx, diagAdd);
    linalg.permuteSymmetric(this.f32(out), this.f32(a), this.i32(idx), this.f32(diagAdd), n);
  }

  gatherTranspose(out: Tensor, x: Tensor, idx: Tensor): void {
    const { R, C } = shapes.checkGatherTranspose(out, x, idx);
    linalg.gatherTranspose(this.f32(out), this.f32(x), this.i32(idx), R, C);
  }

  rowDot(out: Tensor, a: Tensor, b: Tensor): void {
    const { R, C } = shapes.checkRowDot(out, a, b);
    linalg.rowDot(this.f32(out), this.f32(a), this.f32(b), R, C);
  }

  gptqBlock(t: GptqBlockTensors, p: GptqBlockParams): void {
    const { n, out } = shapes.checkGptqBlock(t, p);
    const arrays = {
      wt: this.f32(t.wt),
      u: this.f32(t.u),
      scale: this.f32(t.scale),
      zero: this.f32(t.zero),
      group: this.i32(t.group),
      perm: this.i32(t.perm),
      what: this.f32(t.what),
      err: this.f32(t.err),
    };
    linalg.gptqBlock(arrays, n, out, p.i1, p.i2, p.grid, p.fitGroupSize);
  }

  ropeKv(q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, p: RopeKvParams): void {
    const { T, S, Cq, Ckv, half } = shapes.checkRopeKv(q, kCache, vCache, qkv, cos, sin, p);
    const P = this.position('ropeKv', p.pos0, p.pos, T, S, 'the cache');
    this.position('ropeKv', p.pos0, p.pos, T, cos.shape[0] as number, 'the table');
    if (kCache.dtype === 'f16') {
      // rows P … P+T−1 computed in f32, then each element rounded to f16 (ties to even)
      const k = new Float32Array(T * Ckv);
      const v = new Float32Array(T * Ckv);
      ops.ropeKv(this.f32(q), k, v, this.f32(qkv), this.f32(cos), this.f32(sin), T, Cq, Ckv, half, 0, P);
      const kc = this.arr(kCache) as Uint16Array;
      const vc = this.arr(vCache) as Uint16Array;
      for (let i = 0; i < T * Ckv; i++) {
        kc[P * Ckv + i] = f32ToF16(k[i] as number);
        vc[P * Ckv + i] = f32ToF16(v[i] as number);
      }
      return;
    }
    ops.ropeKv(this.f32(q), this.f32(kCache), this.f32(vCache), this.f32(qkv), this.f32(cos), this.f32(sin), T, Cq, Ckv, half, P, P);
  }

  ropeKvAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, p: RopeKvParams): void {
    this.ropeKv(q, kCache, vCache, qkv, cos, sin, p);
    this.attention(out, q, kCache, vCache, p);
  }

  argmax(ids: Tensor, logits: Tensor, history?: ArgmaxHistory): void {
    const { T, V, N } = shapes.checkArgmax(ids, logits, history);
    this.pick('argmax', ids, T, N, history, (out) => ops.argmax(out, this.f32(logits), V));
  }

  sample(ids: Tensor, logits: Tensor, d: SampleDraws, history?: ArgmaxHistory): void {
    const { T, V, N } = shapes.checkSample(ids, logits, d, history);
    const x = this.f32(logits);
    const u = this.f32(d.uniforms);
    this.pick('sample', ids, T, N, history, (out, P) => {
      for (let t = 0; t < T; t++) out[t] = ops.sampleRow(x, t * V, V, d, u[history ? P + t + 1 : t] as number);
    });
  }

  /** argmax / sample: ids ← pick(ids, P), then with history tokens[P + 1 …] ← ids and (advance) pos[0] += 1; P = pos[0]. */
  private pick(op: string, ids: Tensor, T: number, N: number, history: ArgmaxHistory | undefined, pick: (out: Int32Array, P: number) => void): void {
    const P = history ? (this.i32(history.pos)[0] as number) : 0;
    if (history && (P < -1 || P + T >= N)) throw new Error(`${op}: history positions ${P + 1}…${P + T} exceed the tokens [${N}]`);
    const out = this.i32(ids);
    pick(out, P);
    if (history) this.i32(history.tokens).set(out, P + 1);
    if (history?.advance) {
      const pos = this.i32(history.pos);
      pos[0] = (pos[0] as number) + 1;
    }
  }

  /** P = pos0 + pos[0] (pos0 without pos), checked against `limit` rows of `what`. */
  private position(op: string, pos0: number, pos: Tensor | undefined, T: number, limit: number, what: string): number {
    const P = pos0 + (pos ? (this.i32(pos)[0] as number) : 0);
    if (P < 0 || P + T > limit) throw new Error(`${op}: positions ${P}…${P + T - 1} exceed ${what} of ${limit} rows`);
    return P;
  }

  spqrBlock(t: SpqrBlockTensors, p: SpqrBlockParams): void {
    const { n, out } = shapes.checkSpqrBlock(t, p);
    const arrays = {
      wt: this.f32(t.wt),
      u: this.f32(t.u),
      fit: this.f32(t.fit),
      grid: this.f32(t.grid),
      stats: this.f32(t.stats),
      what: this.f32(t.what),
      codes: this.i32(t.codes),
      err: this.f32(t.err),
    };
    spqrBlock(arrays, n, out, p);
  }

  private own(t: Tensor): CpuTensor {
    if (t instanceof CpuPackedTensor) throw new Error(`cpu backend: a packed ${t.format} weight is only accepted by matmul`);
    if (!(t instanceof CpuTensor)) throw new Error('cpu backend: tensor belongs to another backend');
    return t;
  }

  private arr(t: Tensor): HostTensor['data'] {
    const d = this.own(t).data;
    if (d === null) throw new Error('cpu backend: tensor used after free');
    if (d.length !== numel(t.shape)) throw new Error('cpu backend: tensor storage does not match its shape');
    return d;
  }

  private f32(t: Tensor): Float32Array {
    if (t.dtype !== 'f32') throw new Error(`cpu backend: expected an f32 tensor, got ${t.dtype}`);
    return this.arr(t) as Float32Array;
  }

  private i32(t: Tensor): Int32Array {
    if (t.dtype !== 'i32') throw new Error(`cpu backend: expected an i32 tensor, got ${t.dtype}`);
    return this.arr(t) as Int32Array;
  }
}
