/**
 * The WASM SIMD GEMM (gemm.wat, assembled at build time into gemm-wasm.gen.ts)
 * behind the CPU backend's `MatmulKernel` contract, on one thread.
 *
 * Memory: the kernel reads its own linear memory. A matrix that already lives
 * there (a tensor the backend allocated in `heap`, see `CpuArena`) is read in
 * place; any other array is copied into scratch blocks for the call, and
 * `out` copied back. With a shared memory the backend keeps every tensor in
 * the heap, so weights are resident and never copied per call.
 */
import type { CpuArena, MatmulKernel } from './cpu.js';
import { GEMM_WASM_SHARED, GEMM_WASM_UNSHARED } from './gemm-wasm.gen.js';
import { WasmHeap } from './wasm-heap.js';

/** gemm(out, x, w, bias, T, K, M, ldo, mb): byte pointers, bias 0 = none, ldo = out row stride, mb = column block. */
export type GemmFn = (
  out: number,
  x: number,
  w: number,
  bias: number,
  T: number,
  K: number,
  M: number,
  ldo: number,
  mb: number,
) => void;

/**
 * qgemm(out, x, codes, stats, bias, T, K, M, ldo, bits, nGroups, cpg, scratch, tile, mb, spqr, row0):
 * gemm on a packed int or SpQR weight (gemm.wat), `tile` rows at a time decoded into `scratch`
 * (at T = 1 each chunk's codes dotted with x in registers instead, statistics folded per group);
 * spqr: SpQR's descriptor (SpqrImage.desc) or 0, row0: the weight row that row 0 of codes is.
 */
export type QgemmFn = (
  out: number,
  x: number,
  codes: number,
  stats: number,
  bias: number,
  T: number,
  K: number,
  M: number,
  ldo: number,
  bits: number,
  nGroups: number,
  cpg: number,
  scratch: number,
  tile: number,
  mb: number,
  spqr: number,
  row0: number,
) => void;

/** The module's exports. */
export interface GemmKernels {
  readonly gemm: GemmFn;
  readonly qgemm: QgemmFn;
}

/**
 * A packed int2/3/4/8 or SpQR (2/3/4/8-bit codes) weight as qgemm reads it, inside the kernel
 * memory: codes as stored ([M, K] bit-packed rows, K a multiple of 32) and, for an int weight, one
 * u32 a (row, group), fp16 scale | fp16 zero << 16, groups of cpg whole 32-code chunks; for SpQR,
 * `spqr` (stats empty, cpg 0). qgemm's Ŵ column j is input gather[j] (the act-order permutation,
 * and at 2, 3 and 4 bits the chunk order the kernel decodes in: position 32·ch + 4k + l holds code
 * 32·ch + 8l + k); null: column j is input j.
 */
export interface QImage {
  readonly codes: Uint8Array;
  readonly stats: Uint32Array;
  readonly spqr: SpqrImage | null;
  readonly gather: Uint32Array | null;
  readonly bits: number;
  readonly M: number;
  readonly K: number;
  readonly nGroups: number;
  readonly cpg: number;
}

/**
 * SpQR's statistics and outliers as qgemm reads them (gemm.wat), in the kernel memory: `desc` the
 * 8 u32s the kernel is passed (byte offsets of sq, second, rowPtr, ents; nStat, β2, β1, 0).
 * sq [M, nGroups] u16 scale code | zero code << 8; second [nGroups, nStat, 4] f32 (the scale's
 * grid scale and zero, the zero's); rowPtr [M + 1] u32; ents one u32 an outlier (layout column |
 * fp16 value << 16). β1 (groupSize) 16 or whole chunks dividing K.
 */
export interface SpqrImage {
  readonly desc: Uint32Array;
  readonly sq: Uint16Array;
  readonly second: Float32Array;
  readonly rowPtr: Uint32Array;
  readonly ents: Uint32Array;
}

/** f32 values of one decoded tile, at most (256 KiB: it stays in L2 while gemm reads it; 4 rows when K > 16384). */
const QTILE_ELEMS = 1 << 16;
/**
 * Rows of one decoded tile at this K: a multiple of 4 (≥ 4), as gemm's column blocks, so that no
 * row of a tile falls to gemm's one-row path (which reads x again for it alone).
 */
export const qtileRows = (K: number): number => Math.max(4, Math.floor(QTILE_ELEMS / K) & ~3);
/** Bytes of one thread's decode scratch at this K. */
export const qscratchBytes = (K: number): number => 4 * qtileRows(K) * K;

/** Max pages of the kernel's memory (4 GiB, the wasm32 limit); must match gemm.wat. */
const MAX_PAGES = 65536;
/** Tensors may fill the memory up to here; the rest stays free for per-call scratch. */
const ARENA_LIMIT = 3 * 2 ** 30;
/** Bytes of w rows one column block should occupy (fits a 512 KiB L2 with x rows beside it). */
const BLOCK_BYTES = 256 * 1024;

const decode = (b64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

let modules: { shared: WebAssembly.Module | null; unshared: WebAssembly.Module | null } | undefined;

/** The compiled kernel modules; null where this engine lacks SIMD (or threads, for the shared one). */
export function gemmModules(): { shared: WebAssembly.Module | null; unshared: WebAssembly.Module | null } {
  if (!modules) {
    const compile = (b64: string): WebAssembly.Module | null => {
      const bytes = decode(b64);
      return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    };
    modules = { shared: canShareMemory() ? compile(GEMM_WASM_SHARED) : null, unshared: compile(GEMM_WASM_UNSHARED) };
  }
  return modules;
}

/** Whether this engine has WebAssembly SIMD (the kernel validates). */
export const wasmSimdSupported = (): boolean => gemmModules().unshared !== null;

function canShareMemory(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/** A new memory for the kernel: shared when the engine allows it. */
export function gemmMemory(shared: boolean): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared });
}

/** Instantiates the kernels on `memory`. */
export function instantiateGemm(module: WebAssembly.Module, memory: WebAssembly.Memory): GemmKernels {
  const inst = new WebAssembly.Instance(module, { env: { memory } });
  return { gemm: inst.exports['gemm'] as GemmFn, qgemm: inst.exports['qgemm'] as QgemmFn };
}

/** Rows of w per column block for a given K: a multiple of 4, at least 4. */
export const blockRows = (K: number): number => Math.max(4, Math.floor(BLOCK_BYTES / Math.max(1, 4 * K)) & ~3);

/** Byte pointers of one matmul's operands inside the kernel memory. */
export interface StagedGemm {
  readonly out: number;
  readonly x: number;
  readonly w: number;
  /** 0 when there is no bias. */
  readonly bias: number;
  /** Copies `out` back if it was staged and frees the scratch blocks. */
  finish(): void;
}

/** The kernel on one memory: stages operands, runs on this thread. */
export class WasmGemm {
  readonly heap: WasmHeap;
  readonly kernels: GemmKernels;
  readonly gemm: GemmFn;

  constructor(heap: WasmHeap, kernels: GemmKernels) {
    this.heap = heap;
    this.kernels = kernels;
    this.gemm = kernels.gemm;
  }

  /** A single-thread kernel on a fresh memory (shared when possible, so tensors can live in it). */
  static create(): WasmGemm {
    const { shared, unshared } = gemmModules();
    const module = shared ?? unshared;
    if (!module) throw new Error('cpu backend: this engine has no WebAssembly SIMD');
    const memory = gemmMemory(shared !== null);
    return new WasmGemm(new WasmHeap(memory, shared !== null), instantiateGemm(module, memory));
  }

  /** The heap as tensor storage for the backend, or undefined when the memory is not shared. */
  get arena(): CpuArena | undefined {
    const heap = this.heap;
    if (!heap.shared) return undefined;
    return {
      alloc: (bytes) => {
        if (heap.used + bytes > ARENA_LIMIT) return null;
        const off = heap.alloc(bytes);
        return off === null ? null : { buffer: heap.buffer, byteOffset: off };
      },
      free: (byteOffset) => heap.free(byteOffset),
    };
  }

  /** Places every operand in the kernel memory: in place when resident, else copied into scratch. */
  stage(out: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | undefined): StagedGemm {
    const heap = this.heap;
    const scratch: number[] = [];
    const copies: [number, Float32Array][] = [];
    const place = (a: Float32Array, copyIn: boolean): number => {
      if (heap.owns(a)) return a.byteOffset;
      const off = heap.alloc(a.byteLength, false);
      if (off === null) {
        for (const s of scratch) heap.free(s);
        throw new Error(`cpu backend: WASM memory cannot hold ${a.byteLength} more bytes`);
      }
      scratch.push(off);
      if (copyIn) copies.push([off, a]);
      return off;
    };
    const xp = place(x, true);
    const wp = w === x ? xp : place(w, true);
    const bp = bias ? place(bias, true) : 0;
    const outStaged = !heap.owns(out);
    const op = place(out, false);
    // Views only after the last alloc: growing an unshared memory detaches its buffer.
    for (const [off, a] of copies) new Float32Array(heap.buffer, off, a.length).set(a);
    return {
      out: op,
      x: xp,
      w: wp,
      bias: bp,
      finish: () => {
        if (outStaged) out.set(new Float32Array(heap.buffer, op, out.length));
        for (const s of scratch) heap.free(s);
      },
    };
  }

  /**
   * out = x·Ŵᵀ (+ bias) for a packed weight in this memory (qgemm), on this thread; out: [T, M],
   * x: [T, K] (staged like gemm's operands). `scratch`: a block of qscratchBytes(K) in this heap.
   */
  qmatmulOn(out: Float32Array, x: Float32Array, w: QImage, T: number, bias: Float32Array | undefined, scratch: number): void {
    checkQ(this.heap, out, x, w, T, bias);
    const s = this.stage(out, x, x, bias);
    try {
      this.kernels.qgemm(s.out, s.x, w.codes.byteOffset, w.stats.byteOffset, s.bias, T, w.K, w.M, w.M, w.bits, w.nGroups, w.cpg, scratch, qtileRows(w.K), blockRows(w.K), w.spqr?.desc.byteOffset ?? 0, 0);
    } finally {
      s.finish();
    }
  }

  /** qmatmulOn with a scratch block of its own (freed after). */
  readonly qmatmul = (out: Float32Array, x: Float32Array, w: QImage, T: number, bias?: Float32Array): void => {
    const scratch = this.heap.alloc(qscratchBytes(w.K), false);
    if (scratch === null) throw new Error(`cpu backend: WASM memory cannot hold ${qscratchBytes(w.K)} more bytes`);
    try {
      this.qmatmulOn(out, x, w, T, bias, scratch);
    } finally {
      this.heap.free(scratch);
    }
  };

  /** The `MatmulKernel` on this thread. */
  readonly matmul: MatmulKernel = (out, x, w, T, K, M, bias) => {
    checkSizes(out, x, w, T, K, M, bias);
    const s = this.stage(out, x, w, bias);
    try {
      this.gemm(s.out, s.x, s.w, s.bias, T, K, M, M, blockRows(K));
    } finally {
      s.finish();
    }
  };
}

/** Whether SpQR's arrays are laid out as qgemm reads them (sizes, residence, alignment, the descriptor's offsets); rowPtr and the outliers' columns are the host's to validate. */
function spqrLaidOut(heap: WasmHeap, w: QImage, q: SpqrImage): boolean {
  const { M, K, nGroups } = w;
  const d = q.desc;
  const [nStat, qqGroup, groupSize] = [d[4] as number, d[5] as number, d[6] as number];
  const own = (a: ArrayBufferView): boolean => heap.owns(a) && a.byteOffset % 4 === 0;
  return (
    d.length === 8 &&
    (groupSize === 16 || (groupSize % 32 === 0 && K % groupSize === 0)) &&
    nGroups * groupSize === K &&
    w.cpg === 0 &&
    nStat === Math.ceil(M / qqGroup) &&
    q.sq.length === M * nGroups &&
    q.second.length === nGroups * nStat * 4 &&
    q.rowPtr.length === M + 1 &&
    q.ents.length === q.rowPtr[M] &&
    [q.sq, q.second, q.rowPtr, q.ents, d].every(own) &&
    d[0] === q.sq.byteOffset &&
    d[1] === q.second.byteOffset &&
    d[2] === q.rowPtr.byteOffset &&
    d[3] === q.ents.byteOffset
  );
}

/** qgemm trusts its operands (it reads raw memory): sizes, layout and residence checked here. */
export function checkQ(heap: WasmHeap, out: Float32Array, x: Float32Array, w: QImage, T: number, bias?: Float32Array): void {
  const { M, K, bits, nGroups, cpg } = w;
  const ok =
    (bits === 2 || bits === 3 || bits === 4 || bits === 8) &&
    K % 32 === 0 &&
    w.codes.length === (M * K * bits) / 8 &&
    heap.owns(w.codes) &&
    w.codes.byteOffset % 4 === 0 &&
    (w.spqr ? spqrLaidOut(heap, w, w.spqr) : nGroups * cpg * 32 === K && w.stats.length === M * nGroups && heap.owns(w.stats));
  if (!ok) throw new Error(`wasm qgemm: a ${bits}-bit [${M}, ${K}] ${w.spqr ? `SpQR weight (β1 ${w.spqr.desc[6]})` : `weight in ${nGroups} groups of ${cpg} chunks`} is not laid out for the kernel`);
  if (out.length !== T * M || x.length !== T * K || (bias && bias.length !== M)) {
    throw new Error(`wasm qgemm: T=${T} K=${K} M=${M} needs out ${T * M}, x ${T * K}${bias ? `, bias ${M}` : ''}; got out ${out.length}, x ${x.length}${bias ? `, bias ${bias.length}` : ''}`);
  }
}

/** The kernel trusts its sizes (it reads raw memory), so they are checked here. */
export function checkSizes(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  T: number,
  K: number,
  M: number,
  bias?: Float32Array,
): void {
  if (out.length !== T * M || x.length !== T * K || w.length !== M * K || (bias && bias.length !== M)) {
    throw new Error(
      `wasm gemm: T=${T} K=${K} M=${M} needs out ${T * M}, x ${T * K}, w ${M * K}${bias ? `, bias ${M}` : ''}; ` +
        `got out ${out.length}, x ${x.length}, w ${w.length}${bias ? `, bias ${bias.length}` : ''}`,
    );
  }
}
