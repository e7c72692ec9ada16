/**
 * The WebGPU backend: the ops of `Backend` as WGSL kernels (kernels/*.wgsl,
 * launched by kernels/*.ts), browser-safe — it takes a `GPU` object
 * (`navigator.gpu`, or the npm `webgpu` package's, see node.ts).
 *
 * Memory and layout: tensor.ts. Recording, errors, device loss: context.ts.
 * Every op validates its shapes with backend/shapes.ts (the same checks and
 * messages as the CPU backend), then checks what only WebGPU limits (weight
 * dtypes, chunked tensors, workgroup counts).
 */
import { packedRowAlign, slicePackedRows } from '../../formats/concat.js';
import { isPackedFormat } from '../../formats/index.js';
import type { FormatId, PackedTensor } from '../../formats/types.js';
import { DTYPE_BYTES, type DType } from '../../tensor/dtype.js';
import { numel, shapeStr, type HostTensor, type Shape } from '../../tensor/tensor.js';
import { PackedTooLargeError, type ArgmaxHistory, type SampleDraws, type AttentionParams, type Backend, type GptqBlockParams, type GptqBlockTensors, type MatmulOptions, type OpName, type Recording, type RopeKvParams, type SpqrBlockParams, type SpqrBlockTensors, type Tensor } from '../backend.js';
import * as shapes from '../shapes.js';
import { GpuContext, GpuRecording, USAGE } from './context.js';
import { attention, DEFAULT_ATTENTION, ropeKvAttention, ropeKvFolds, type AttentionCall, type AttentionTuning, type FlashSync } from './kernels/attention.js';
import { argmax, ropeKv, sample, sampleWorkgroupFor, sampleWorkgroupSize } from './kernels/decode.js';
import { add, copyVec4, fillRandom, siluMul, widen } from './kernels/elementwise.js';
import * as linalg from './kernels/linalg.js';
import { spqrBlock } from './kernels/spqr.js';
import { DEFAULT_MATMUL, matmul, type MatmulDevice, type MatmulTuning } from './kernels/matmul.js';
import { DEFAULT_PACKED, qgather, qgemv1, qgemv1Serves, qmatmul, type PackedTuning, type QMatmulCall } from './kernels/qmatmul.js';
import { embedding, gram, kl, nll, rmsnorm, rmsnormWide, rope } from './kernels/rows.js';
import { GpuPackedTensor, imageHeader, packedImage, packedImageBytes, type GpuPackedChunk } from './packed.js';
import { asGpuDType, bufferBytes, GpuTensor, packedBytes, planChunks, type GpuChunk, type GpuDType } from './tensor.js';

export interface WebGpuBackendOptions {
  /** Largest bytes per storage binding (and so per tensor chunk); below the device's limit to force chunking in tests. */
  readonly maxBindingBytes?: number;
  readonly powerPreference?: GPUPowerPreference;
  /** An adapter already requested from the same `GPU` (selection inspects one first). */
  readonly adapter?: GPUAdapter;
  /** Use subgroup operations when the device has them (default true). */
  readonly subgroups?: boolean;
  /**
   * Error scopes around every op ('op', the default: an error names its op and
   * shapes) or one pair per submit ('submit': less CPU per dispatch, for decode
   * benchmarks; an error names the submitted batch).
   */
  readonly errorScopes?: 'op' | 'submit';
  /** Matmul tile parameters (a sweep on a new GPU overrides these). */
  readonly matmul?: Partial<MatmulTuning>;
  /** Packed-weight GEMV parameters and the SpQR outlier strategy. */
  readonly packed?: Partial<PackedTuning>;
  /** Decode attention: flash-decoding's keys per split, and up to how many keys one dispatch (attention_decode) replaces split-K + combine. */
  readonly attention?: Partial<AttentionTuning>;
  /** Largest workgroup of the sample kernel (default 1024; the device's limits and workgroup memory may lower it; a vocabulary of V uses at most V/32 threads, at least 64). */
  readonly sampleWorkgroup?: number;
  /**
   * The int4 T = 1 GEMV's decode through f16 subnormals (qdot.wgsl word_dot_sub4) where a probe at
   * creation finds that unpack2x16float keeps them (default true; false: always the 1 + q/16 form).
   */
  readonly f16SubnormalDecode?: boolean;
}

/** Limits requested at the adapter's values when it offers more than the defaults. */
const LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;
const FEATURES: readonly GPUFeatureName[] = ['subgroups', 'shader-f16', 'timestamp-query'];
const WEIGHT_DTYPES: readonly DType[] = ['f32', 'bf16', 'f16'];
const STORAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

/** Describes an adapter in one line, e.g. "nvidia nvidia-h100-80gb-hbm3". */
export function adapterName(info: GPUAdapterInfo): string {
  const name = [info.vendor, info.device || info.description || info.architecture].filter((s) => s).join(' ');
  return name || 'unknown adapter';
}

/** The QMatmulCall fields that describe one buffer of a packed weight: the buffer, its header words, the format and the chunk's parameters. */
function packedWeight(w: GpuPackedTensor, c: GpuPackedChunk): Pick<QMatmulCall, 'w' | 'header' | 'format' | 'params'> {
  return { w: c.buffer, header: c.header, format: w.format, params: c.params };
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly description: string;
  readonly ctx: GpuContext;
  readonly adapterInfo: GPUAdapterInfo;
  /** Largest bytes of one tensor chunk (a multiple of 16). */
  readonly maxBindingBytes: number;
  readonly maxBufferBytes: number;
  readonly tuning: MatmulTuning;
  /** The packed kernels' tilings (setPackedTuning changes them for later ops). */
  get packedTuning(): PackedTuning {
    return this.packedTiles;
  }
  private packedTiles: PackedTuning;
  /** Decode attention's choices (setAttentionTuning changes them for later ops). */
  get attentionTuning(): AttentionTuning {
    return this.attnTiles;
  }
  private attnTiles: AttentionTuning;
  readonly subgroupSize: number;
  /** The sample kernel's largest workgroup (a power of two: sampleWorkgroupSize); a vocabulary of V uses sampleWorkgroupFor(V, sampleWG). */
  readonly sampleWG: number;
  /** What the matmul launchers need to know of the device (subgroup size, workgroup memory). */
  private matmulDevice: MatmulDevice;
  /** Whether the packed int4 GEMV decodes through f16 subnormals (probed at creation: probeF16Subnormals). */
  get f16Subnormals(): boolean {
    return this.matmulDevice.f16Subnormals === true;
  }
  private readonly dummy: GPUBuffer;
  /** A writable dummy, bound where a kernel's read_write binding is unused (none may alias `dummy`). */
  private readonly dummyRw: GPUBuffer;
  /**
   * Prepared norm inputs (MatmulOptions.normOut) by their tensor: what wrote them (the residual
   * `src`, with the norm `weight`) and how many partial sums of squares follow the K values.
   */
  private readonly normPrep = new WeakMap<Tensor, { readonly src: Tensor; readonly weight: Tensor; readonly parts: number }>();
  /** A zero [1] i32 word, bound where an op has no device position (`pos`). */
  private readonly zeroPos: GPUBuffer;
  private readonly scratchBufs = new Map<string, GPUBuffer>();
  private readonly widened = new WeakMap<GpuTensor, GPUBuffer>();

  private constructor(device: GPUDevice, info: GPUAdapterInfo, opts: WebGpuBackendOptions) {
    this.ctx = new GpuContext(device, opts.errorScopes);
    this.adapterInfo = info;
    const lim = device.limits;
    const binding = Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize, opts.maxBindingBytes ?? Infinity);
    this.maxBindingBytes = Math.floor(binding / 16) * 16;
    this.maxBufferBytes = lim.maxBufferSize;
    this.tuning = { ...DEFAULT_MATMUL, ...opts.matmul };
    this.packedTiles = { ...DEFAULT_PACKED, ...opts.packed };
    this.attnTiles = { ...DEFAULT_ATTENTION, ...opts.attention };
    const sgMin = (info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize ?? 0;
    const sgMax = (info as GPUAdapterInfo & { subgroupMaxSize?: number }).subgroupMaxSize ?? 0;
    const useSg = opts.subgroups !== false && device.features.has('subgroups') && sgMin > 0 && sgMin === sgMax;
    this.subgroupSize = useSg ? sgMin : 0;
    this.sampleWG = sampleWorkgroupSize(lim, opts.sampleWorkgroup ?? 1024);
    this.matmulDevice = { subgroupSize: this.subgroupSize, workgroupStorage: lim.maxComputeWorkgroupStorageSize };
    const feats = FEATURES.filter((f) => device.features.has(f));
    this.description = `WebGPU: ${adapterName(info)} (${feats.join(', ') || 'no optional features'}; binding ≤ ${this.maxBindingBytes} bytes)`;
    this.dummy = device.createBuffer({ label: 'dummy', size: 16, usage: STORAGE });
    this.dummyRw = device.createBuffer({ label: 'dummy (read_write)', size: 16, usage: STORAGE });
    this.zeroPos = device.createBuffer({ label: 'zero pos', size: 16, usage: STORAGE });
  }

  /** Requests an adapter (unless given) and a device with the adapter's larger limits and useful features. */
  static async create(gpu: GPU, opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const adapter = opts.adapter ?? (await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' }));
    if (!adapter) throw new Error('webgpu: no adapter available (navigator.gpu.requestAdapter() returned null)');
    const requiredLimits: Record<string, number> = {};
    for (const n of LIMITS) {
      const v = adapter.limits[n];
      if (typeof v === 'number') requiredLimits[n] = v;
    }
    const requiredFeatures = FEATURES.filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'lowbit' });
    const b = new WebGpuBackend(device, adapter.info, opts);
    if (opts.f16SubnormalDecode !== false) {
      try {
        b.matmulDevice = { ...b.matmulDevice, f16Subnormals: await b.probeF16Subnormals() };
      } catch (e) {
        b.dispose();
        throw e;
      }
    }
    return b;
  }

  /**
   * Whether unpack2x16float returns f16 subnormals exactly (WGSL lets an implementation flush them
   * to zero): every 4-bit code at bits 0–3 (q·2^-24) and 4–7 (q·2^-20) of a half, and the largest
   * subnormal, through probe_f16.wgsl on the device.
   */
  private async probeF16Subnormals(): Promise<boolean> {
    const words: number[] = [];
    const want: number[] = [];
    for (let q = 0; q < 16; q++) {
      words.push((q | (q << 20)) >>> 0);
      want.push(q * 2 ** -24, q * 2 ** -20);
    }
    words.push(0x03ff0001);
    want.push(2 ** -24, 1023 * 2 ** -24);
    const n = words.length;
    const dev = this.ctx.device;
    const input = dev.createBuffer({ label: 'probe f16 words', size: n * 4, usage: STORAGE, mappedAtCreation: true });
    new Uint32Array(input.getMappedRange()).set(words);
    input.unmap();
    const out = dev.createBuffer({ label: 'probe f16 out', size: n * 8, usage: STORAGE });
    try {
      this.ctx.dispatch({ what: 'probe f16 subnormals', kernel: { files: ['probe_f16'], header: {} }, buffers: { 1: input, 2: out }, params: [n], grid: [1, 1, 1] });
      const got = new Float32Array(await this.ctx.readBuffer('probe f16 subnormals', out, 0, n * 8));
      return want.every((v, i) => got[i] === v);
    } finally {
      input.destroy();
      out.destroy();
    }
  }

  supports(op: OpName, dtype: DType | FormatId): boolean {
    if (op === 'matmul' && isPackedFormat(dtype)) return true;
    if (op === 'matmul' || op === 'embedding' || op === 'rmsnorm') return (WEIGHT_DTYPES as readonly string[]).includes(dtype);
    if (op === 'copyRows') return dtype === 'f32' || dtype === 'i32';
    return dtype === 'f32';
  }

  // --- memory -------------------------------------------------------------

  private createChunks(op: string, dtype: GpuDType, shape: Shape, fill?: HostTensor): GpuChunk[] {
    this.ctx.alive();
    const plan = planChunks(op, dtype, shape, this.maxBindingBytes);
    const rowElems = shape.length === 0 ? 1 : numel(shape.slice(1));
    const chunks: GpuChunk[] = [];
    try {
      for (const { row0, rows } of plan) {
        const n = rows * rowElems;
        const bytes = bufferBytes(dtype, n);
        if (bytes > this.maxBufferBytes) {
          throw new Error(`${op}: ${dtype}${shapeStr(shape)} needs a buffer of ${bytes} bytes, more than the device's maxBufferSize of ${this.maxBufferBytes} bytes`);
        }
        const buffer = this.ctx.scoped(`${op} ${dtype}${shapeStr(shape)} (${bytes} bytes)`, () =>
          this.ctx.device.createBuffer({ label: `${dtype}${shapeStr(shape)}@${row0}`, size: bytes, usage: STORAGE, mappedAtCreation: fill !== undefined }),
        );
        if (fill) {
          const src = fill.data as ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number };
          const bpe = DTYPE_BYTES[dtype];
          const start = src.byteOffset + row0 * rowElems * bpe;
          new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(src.buffer, start, n * bpe));
          buffer.unmap();
        }
        chunks.push({ buffer, row0, rows, bytes });
      }
    } catch (e) {
      for (const c of chunks) c.buffer.destroy();
      throw e;
    }
    return chunks;
  }

  upload(t: HostTensor): Tensor {
    const dtype = asGpuDType('upload', t.dtype, t.shape);
    if (t.data.length !== numel(t.shape)) throw new Error(`upload: ${t.data.length} elements do not fill ${shapeStr(t.shape)}`);
    return new GpuTensor(dtype, t.shape, this.createChunks('upload', dtype, t.shape, t));
  }

  /**
   * A packed weight in one buffer (packed.ts), or, when its image is larger than one storage
   * binding, in row chunks that each fit one (formats/concat.ts slicePackedRows; SpQR's at
   * multiples of β2). Only a β2 block of rows larger than a binding throws PackedTooLargeError
   * (the runtime then loads the tensor dequantized).
   */
  uploadPacked(p: PackedTensor): Tensor {
    this.ctx.alive();
    if (!isPackedFormat(p.format)) throw new Error(`uploadPacked: ${p.format} is not a packed format (upload it as a dense tensor)`);
    const chunks: GpuPackedChunk[] = [];
    try {
      for (const { row0, part } of this.packedRowChunks(p)) {
        const img = packedImage(part);
        const label = `${p.format}${shapeStr(p.shape)}${part === p ? '' : ` rows ${row0} … ${row0 + part.shape[0] - 1}`}`;
        const buffer = this.ctx.scoped(`uploadPacked ${label} (${img.length} bytes)`, () =>
          this.ctx.device.createBuffer({ label, size: img.length, usage: STORAGE, mappedAtCreation: true }),
        );
        new Uint8Array(buffer.getMappedRange()).set(img);
        buffer.unmap();
        chunks.push({ buffer, header: imageHeader(img), bytes: img.length, row0, rows: part.shape[0], params: part.params });
      }
    } catch (e) {
      for (const c of chunks) c.buffer.destroy();
      throw e;
    }
    return new GpuPackedTensor(p, chunks);
  }

  /** `p` whole when its image fits one binding, else its rows in the fewest chunks that each do (at the format's row alignment). */
  private packedRowChunks(p: PackedTensor): { row0: number; part: PackedTensor }[] {
    const max = this.maxBindingBytes;
    const whole = packedImageBytes(p.format, p.shape, p.params);
    if (whole <= max) return [{ row0: 0, part: p }];
    const out = p.shape[0];
    const align = packedRowAlign(p);
    // rows a chunk by the tensor's mean bytes a row, then fewer while a slice (SpQR: its own outliers) does not fit
    const step = Math.max(align, Math.floor(max / (whole / out) / align) * align);
    const parts: { row0: number; part: PackedTensor }[] = [];
    for (let r0 = 0; r0 < out; ) {
      let rows = Math.min(step, out - r0);
      for (;;) {
        const part = slicePackedRows(p, r0, r0 + rows);
        const bytes = packedImageBytes(part.format, part.shape, part.params);
        if (bytes <= max) {
          parts.push({ row0: r0, part });
          break;
        }
        if (rows <= align) {
          throw new PackedTooLargeError(`uploadPacked: ${p.format}${shapeStr(p.shape)}: rows ${r0} … ${r0 + rows - 1} need ${bytes} bytes in one binding, more than the largest storage binding of ${max} bytes`);
        }
        rows = Math.max(align, Math.floor((rows * max) / bytes / align) * align);
      }
      r0 += rows;
    }
    return parts;
  }

  empty(dtype: DType, shape: Shape): Tensor {
    const d = asGpuDType('empty', dtype, shape);
    return new GpuTensor(d, shape, this.createChunks('empty', d, shape));
  }

  write(dst: Tensor, src: HostTensor): void {
    const t = this.own(dst);
    if (src.dtype !== t.dtype || src.data.length !== t.numel) {
      throw new Error(`write: ${src.dtype}[${src.data.length}] does not fit ${t.dtype}${shapeStr(t.shape)}`);
    }
    this.ctx.alive();
    this.ctx.notCapturing(`write ${t.dtype}${shapeStr(t.shape)}`);
    this.ctx.flush(); // earlier recorded ops run before the write
    const bpe = DTYPE_BYTES[t.dtype];
    const data = src.data as unknown as { buffer: ArrayBufferLike; byteOffset: number };
    for (const c of t.live()) {
      const n = c.rows * t.rowElems;
      const bytes = new Uint8Array(data.buffer, data.byteOffset + c.row0 * t.rowElems * bpe, n * bpe);
      const padded = packedBytes(t.dtype, n);
      const body = padded === bytes.length ? bytes : (() => {
        const b = new Uint8Array(padded);
        b.set(bytes);
        return b;
      })();
      this.ctx.scoped(`write ${t.dtype}${shapeStr(t.shape)}`, () => this.ctx.device.queue.writeBuffer(c.buffer, 0, body));
    }
  }

  async read(x: Tensor): Promise<HostTensor> {
    const t = this.own(x);
    const bpe = DTYPE_BYTES[t.dtype];
    const out = new Uint8Array(t.numel * bpe);
    for (const c of t.live()) {
      const n = c.rows * t.rowElems;
      const bytes = await this.ctx.readBuffer(`${t.dtype}${shapeStr(t.shape)}`, c.buffer, 0, n * bpe);
      out.set(new Uint8Array(bytes), c.row0 * t.rowElems * bpe);
    }
    const data =
      t.dtype === 'f32' ? new Float32Array(out.buffer) : t.dtype === 'i32' ? new Int32Array(out.buffer) : new Uint16Array(out.buffer);
    return { dtype: t.dtype, shape: [...t.shape], data } as HostTensor;
  }

  free(x: Tensor): void {
    if (x instanceof GpuPackedTensor) {
      const chunks = x.live();
      this.ctx.flush();
      for (const c of chunks) c.buffer.destroy();
      x.chunks = null;
      return;
    }
    const t = this.own(x);
    const chunks = t.live();
    this.ctx.flush(); // recorded ops that use it are submitted before it goes
    for (const c of chunks) c.buffer.destroy();
    t.chunks = null;
  }

  sync(): Promise<void> {
    return this.ctx.sync();
  }

  submit(): void {
    this.ctx.alive();
    this.ctx.flush();
  }

  record(fn: () => void): Recording {
    return this.ctx.capture(fn);
  }

  replay(r: Recording): void {
    if (!(r instanceof GpuRecording)) throw new Error('webgpu: replay of a recording made by another backend');
    this.ctx.replay(r);
  }

  /**
   * Changes the packed kernels' tilings for the ops issued from now on (benches compare tilings on
   * one uploaded model; a recording keeps the pipelines it captured).
   */
  setPackedTuning(p: Partial<PackedTuning>): void {
    this.packedTiles = { ...this.packedTiles, ...p };
  }

  setAttentionTuning(a: Partial<AttentionTuning>): void {
    this.attnTiles = { ...this.attnTiles, ...a };
  }

  dispose(): void {
    this.ctx.dispose();
  }

  // --- ops ------------------------------------------------------------------

  embedding(out: Tensor, table: Tensor, ids: Tensor): void {
    const { T, D } = shapes.checkEmbedding(out, table, ids);
    const tb = this.weight('embedding', 'table', table);
    const what = `embedding out${shapeStr(out.shape)} table ${tb.dtype}${shapeStr(table.shape)}`;
    const o = this.buf(what, 'out', out);
    const i = this.buf(what, 'ids', ids);
    for (const c of tb.live()) embedding(this.ctx, what, o, c.buffer, tb.dtype, i, T, D, c.row0, c.rows);
  }

  rmsnorm(out: Tensor, x: Tensor, weight: Tensor, eps: number): void {
    const { T, D } = shapes.checkRmsnorm(out, x, weight);
    const w = this.weight('rmsnorm', 'weight', weight);
    const what = `rmsnorm x${shapeStr(x.shape)} weight ${w.dtype}${shapeStr(w.shape)}`;
    rmsnorm(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'x', x), this.buf(what, 'weight', w), w.dtype, T, D, eps);
  }

  /**
   * T = 1 on a dense weight: one gemv1 dispatch with everything in `o` folded
   * in (for weights up to `tuning.fuseInputMaxBytes`). Otherwise the norm or SwiGLU input runs first into a scratch buffer
   * (rmsnorm / silu_mul kernels), and the product kernels place or add the
   * result themselves (col0, accumulate). The SwiGLU output (`glu`) is gemv1's
   * epilogue for a T = 1 dense weight in one buffer, and qgemv1's for a packed
   * weight it serves; otherwise the product goes
   * to a scratch buffer and silu_mul places (or adds) silu(gate)·up.
   * The prepared norm input (`normOut` → `norm.prepared`) is qgemv1's at T = 1: a producer writes
   * out·weight and its workgroups' Σ out², and a consumer reads them instead of x and the norm
   * weight; elsewhere normOut writes nothing and prepared is ignored.
   */
  matmul(out: Tensor, x: Tensor, w: Tensor, bias?: Tensor, o: MatmulOptions = {}): void {
    const { T, K, M, N, col0 } = shapes.checkMatmul(out, x, w, bias, o);
    const packed = w instanceof GpuPackedTensor;
    const what = `matmul x${shapeStr(x.shape)} w ${packed ? w.format : this.own(w).dtype}${shapeStr(w.shape)}${bias ? ' + bias' : ''}${o.norm ? ' (rmsnorm in)' : ''}${o.gated ? ' (swiglu in)' : ''}${o.glu ? ' (swiglu out)' : ''}${o.accumulate ? ' (+=)' : ''}`;
    const ob = this.buf(what, 'out', out);
    const b = bias ? this.vectorF32(what, 'bias', bias) : undefined;
    let xb = this.buf(what, 'x', x);
    // a packed weight in row chunks runs chunk by chunk (qmatmul), its norm input and SwiGLU output apart
    const fuse = T === 1 && (packed ? w.live().length === 1 && qgemv1Serves(w.format, w.params, K) : this.own(w).live().reduce((n, c) => n + c.bytes, 0) <= this.tuning.fuseInputMaxBytes);
    if (!fuse && (o.norm || o.gated)) {
      const xin = this.scratch('input', what, T * K * 4);
      if (o.norm && T === 1 && K % 4 === 0) {
        // one row: spread over K / 1024 workgroups, not one workgroup's serial loop
        rmsnormWide(this.ctx, `${what}: rmsnorm`, xin, xb, this.vectorF32(what, 'norm weight', o.norm.weight), T, K, o.norm.eps, this.subgroupSize);
      } else if (o.norm) {
        const nw = this.weight('matmul', 'norm weight', o.norm.weight);
        rmsnorm(this.ctx, `${what}: rmsnorm`, xin, xb, this.buf(what, 'norm weight', nw), nw.dtype, T, K, o.norm.eps);
      } else {
        siluMul(this.ctx, `${what}: silu·mul`, xin, xb, xb, T * K, K);
      }
      xb = xin;
    }
    const place = { ldo: N, col0, accumulate: o.accumulate === true };
    const fused = fuse ? { ...(o.norm && { norm: { weight: this.vectorF32(what, 'norm weight', o.norm.weight), eps: o.norm.eps } }), gated: o.gated === true } : {};
    const gluFused = o.glu === true && T === 1 && (packed ? fuse : this.own(w).live().length === 1);
    // an unfused SwiGLU output: the product goes to scratch [T, M], then out[:, col0 …] (+)= silu(gate)·up
    const y = o.glu && !gluFused ? this.scratch('glu', what, T * M * 4) : null;
    const dst = y ?? ob;
    const at = y ? { ldo: M, col0: 0, accumulate: false } : place;
    if (o.normOut) this.normPrep.delete(o.normOut.into); // written again below, or stale
    if (w instanceof GpuPackedTensor) {
      if (fuse) {
        // the norm input prepared by the matmul that wrote x (normOut), read instead of x and the norm weight
        const prep = o.norm?.prepared ? this.normPrep.get(o.norm.prepared) : undefined;
        const usePrep = prep !== undefined && prep.src === x && prep.weight === o.norm?.weight;
        const xIn = usePrep ? this.buf(what, 'prepared norm input', o.norm?.prepared as Tensor) : xb;
        const normOut = o.normOut ? { weight: this.vectorF32(what, 'normOut weight', o.normOut.weight), into: this.buf(what, 'normOut.into', o.normOut.into) } : undefined;
        // labels for profiles and tests: which GEMVs read a prepared input or write the next one
        const label = `${what}${usePrep ? ' (prepared)' : ''}${normOut ? ' (norm out)' : ''}`;
        const call = { what: label, out: dst, x: xIn, ...packedWeight(w, w.live()[0] as GpuPackedChunk), bias: b, T, K, M, ...at };
        const f = { ...fused, glu: gluFused, ...(usePrep && { prep: { parts: prep.parts } }), ...(normOut && { normOut }) };
        const parts = qgemv1(this.ctx, call, f, this.packedTuning, this.matmulDevice, this.dummy, this.dummyRw);
        if (o.normOut && parts > 0) this.normPrep.set(o.normOut.into, { src: out, weight: o.normOut.weight, parts });
      } else {
        this.packedMatmul(what, dst, xb, w, T, K, M, b, at);
      }
    } else {
      const wt = this.weight('matmul', 'w', w);
      for (const c of wt.live()) {
        const rows = gluFused ? c.rows / 2 : c.rows;
        const call = { what, out: dst, x: xb, w: c.buffer, wDtype: wt.dtype, bias: b, T, K, m0: c.row0, rows, ...at, ...fused, glu: gluFused };
        matmul(this.ctx, call, this.tuning, this.matmulDevice, this.dummy);
      }
    }
    if (y) siluMul(this.ctx, `${what}: silu·mul`, ob, y, y, (T * M) / 2, M / 2, { ldo: N, col0, acc: place.accumulate });
  }

  private packedMatmul(
    what: string,
    out: GPUBuffer,
    x: GPUBuffer,
    w: GpuPackedTensor,
    T: number,
    K: number,
    M: number,
    bias: GPUBuffer | undefined,
    place: { ldo: number; col0: number; accumulate: boolean },
  ): void {
    let xb = x;
    const chunks = w.live();
    if (w.params.permuted === 1) {
      // every chunk holds the tensor's permutation: x is gathered once
      const xp = this.scratch('perm', what, T * K * 4);
      qgather(this.ctx, what, (chunks[0] as GpuPackedChunk).buffer, w.format, xb, xp, T, K);
      xb = xp;
    }
    for (const c of chunks) {
      const label = chunks.length === 1 ? what : `${what} rows ${c.row0} … ${c.row0 + c.rows - 1}`;
      const call = { what: label, out, x: xb, ...packedWeight(w, c), bias, T, K, M: c.rows, m0: c.row0, ...place };
      qmatmul(this.ctx, call, this.tuning, this.packedTuning, this.matmulDevice, this.dummy);
    }
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, pos0: number, headDim: number): void {
    const { T, C, half } = shapes.checkRope(x, cos, sin, pos0, headDim);
    const what = `rope x${shapeStr(x.shape)} pos0 ${pos0} headDim ${headDim}`;
    rope(this.ctx, what, this.buf(what, 'x', x), this.buf(what, 'cos', cos), this.buf(what, 'sin', sin), T, C, half, pos0);
  }

  attention(out: Tensor, q: Tensor, k: Tensor, v: Tensor, p: AttentionParams): void {
    const { T, S } = shapes.checkAttention(out, q, k, v, p);
    const what = `attention q${shapeStr(q.shape)} kv ${k.dtype}${shapeStr(k.shape)} heads ${p.nHeads}/${p.nKvHeads}×${p.headDim} pos0 ${p.pos0}${p.pos ? ' + pos' : ''}`;
    attention(this.ctx, this.attentionCall(what, out, q, k, v, p, T, S), this.attentionTuning, (bytes) => this.scratch('attention', what, bytes), this.flashSync, this.subgroupSize);
  }

  private attentionCall(what: string, out: Tensor, q: Tensor, k: Tensor, v: Tensor, p: AttentionParams, T: number, S: number): AttentionCall {
    const b = (name: string, x: Tensor): GPUBuffer => this.buf(what, name, x);
    const pos = p.pos ? b('pos', p.pos) : this.zeroPos;
    return { what, out: b('out', out), q: b('q', q), k: b('k', k), v: b('v', v), T, S, nHeads: p.nHeads, nKvHeads: p.nKvHeads, headDim: p.headDim, pos0: p.pos0, pos, devicePos: p.pos !== undefined, kv16: k.dtype === 'f16' };
  }

  copyRows(dst: Tensor, dstRow0: number, src: Tensor, srcRow0: number, rows: number): void {
    const { C } = shapes.checkCopyRows(dst, dstRow0, src, srcRow0, rows);
    const d = this.own(dst);
    const s = this.own(src);
    const what = `copyRows ${s.dtype}${shapeStr(s.shape)}[${srcRow0}…+${rows}] → ${shapeStr(d.shape)}[${dstRow0}]`;
    if (!this.supports('copyRows', s.dtype)) throw new Error(`${what}: webgpu copies f32 or i32 rows, not ${s.dtype}`);
    // each destination chunk takes the overlapping source rows, chunk by chunk
    for (const dc of d.live()) {
      for (const sc of s.live()) {
        const lo = Math.max(dstRow0, dc.row0, sc.row0 - srcRow0 + dstRow0);
        const hi = Math.min(dstRow0 + rows, dc.row0 + dc.rows, sc.row0 + sc.rows - srcRow0 + dstRow0);
        if (hi <= lo) continue;
        const srcRow = lo - dstRow0 + srcRow0;
        this.ctx.copy(what, sc.buffer, (srcRow - sc.row0) * C * 4, dc.buffer, (lo - dc.row0) * C * 4, (hi - lo) * C * 4);
      }
    }
  }

  siluMul(out: Tensor, gate: Tensor, up: Tensor): void {
    const { n } = shapes.checkElementwise('siluMul', out, gate, up);
    const what = `siluMul ${shapeStr(out.shape)}`;
    siluMul(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'gate', gate), this.buf(what, 'up', up), n);
  }

  add(out: Tensor, a: Tensor, b: Tensor): void {
    const { n } = shapes.checkElementwise('add', out, a, b);
    const what = `add ${shapeStr(out.shape)}`;
    add(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'a', a), this.buf(what, 'b', b), n);
  }

  nll(out: Tensor, logits: Tensor, targets: Tensor): void {
    const { T, V } = shapes.checkNll(out, logits, targets);
    const what = `nll logits${shapeStr(logits.shape)}`;
    nll(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'logits', logits), this.buf(what, 'targets', targets), T, V);
  }

  kl(out: Tensor, p: Tensor, q: Tensor): void {
    const { T, V } = shapes.checkKl(out, p, q);
    const what = `kl p${shapeStr(p.shape)}`;
    kl(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'p', p), this.buf(what, 'q', q), T, V);
  }

  gram(h: Tensor, x: Tensor, scale: number): void {
    const { T, K } = shapes.checkGram(h, x);
    const what = `gram h${shapeStr(h.shape)} x${shapeStr(x.shape)}`;
    gram(this.ctx, what, this.buf(what, 'h', h), this.buf(what, 'x', x), T, K, scale);
  }

  // --- dense linear algebra for GPTQ -------------------------------------------

  cholesky(out: Tensor, a: Tensor): void {
    const { n } = shapes.checkSquare('cholesky', ['out', out], ['a', a]);
    const what = `cholesky ${shapeStr(a.shape)}`;
    const o = this.buf(what, 'out', out);
    if (out !== a) this.ctx.copy(`${what} (copy)`, this.buf(what, 'a', a), 0, o, 0, n * n * 4);
    linalg.cholesky(this.ctx, what, o, n, this.dummy);
  }

  triInverse(out: Tensor, l: Tensor): void {
    const { n } = shapes.checkSquare('triInverse', ['out', out], ['l', l]);
    if (out === l) throw new Error('triInverse: out must not be l');
    const what = `triInverse ${shapeStr(l.shape)}`;
    linalg.triInverse(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'l', l), n, this.dummy);
  }

  diagonal(out: Tensor, a: Tensor): void {
    const { n } = shapes.checkDiagonal(out, a);
    const what = `diagonal ${shapeStr(a.shape)}`;
    linalg.diagonal(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'a', a), n);
  }

  permuteSymmetric(out: Tensor, a: Tensor, idx: Tensor, diagAdd: Tensor): void {
    const { n } = shapes.checkPermuteSymmetric(out, a, idx, diagAdd);
    const what = `permuteSymmetric ${shapeStr(a.shape)}`;
    linalg.permuteSymmetric(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'a', a), this.buf(what, 'idx', idx), this.buf(what, 'diagAdd', diagAdd), n);
  }

  gatherTranspose(out: Tensor, x: Tensor, idx: Tensor): void {
    const { n, R, C } = shapes.checkGatherTranspose(out, x, idx);
    const what = `gatherTranspose x${shapeStr(x.shape)} → ${shapeStr(out.shape)}`;
    linalg.gatherTranspose(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'x', x), this.buf(what, 'idx', idx), n, R, C);
  }

  rowDot(out: Tensor, a: Tensor, b: Tensor): void {
    const { R, C } = shapes.checkRowDot(out, a, b);
    const what = `rowDot ${shapeStr(a.shape)}`;
    linalg.rowDot(this.ctx, what, this.buf(what, 'out', out), this.buf(what, 'a', a), this.buf(what, 'b', b), R, C);
  }

  gptqBlock(t: GptqBlockTensors, p: GptqBlockParams): void {
    const { n, out } = shapes.checkGptqBlock(t, p);
    const what = `gptqBlock wt${shapeStr(t.wt.shape)} [${p.i1}, ${p.i2})`;
    const b = (name: string, x: Tensor): GPUBuffer => this.buf(what, name, x);
    const call = {
      what,
      wt: b('wt', t.wt),
      u: b('u', t.u),
      scale: b('scale', t.scale),
      zero: b('zero', t.zero),
      group: b('group', t.group),
      perm: b('perm', t.perm),
      wHat: b('what', t.what),
      err: b('err', t.err),
      n,
      out,
      i1: p.i1,
      i2: p.i2,
      grid: p.grid,
      fitG: p.fitGroupSize,
    };
    linalg.gptqBlock(this.ctx, call, this.dummy);
  }

  ropeKv(q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, p: RopeKvParams): void {
    const { T, S, Cq, Ckv, half } = shapes.checkRopeKv(q, kCache, vCache, qkv, cos, sin, p);
    const what = `ropeKv qkv${shapeStr(qkv.shape)} cache ${kCache.dtype}${shapeStr(kCache.shape)} heads ${p.nHeads}/${p.nKvHeads}×${p.headDim} pos0 ${p.pos0}${p.pos ? ' + pos' : ''}`;
    const b = (name: string, x: Tensor): GPUBuffer => this.buf(what, name, x);
    const pos = p.pos ? b('pos', p.pos) : this.zeroPos;
    const call = { what, q: b('q', q), kCache: b('kCache', kCache), vCache: b('vCache', vCache), qkv: b('qkv', qkv), cos: b('cos', cos), sin: b('sin', sin), pos };
    ropeKv(this.ctx, { ...call, T, S, Cq, Ckv, half, pos0: p.pos0, maxPos: cos.shape[0] as number, kv16: kCache.dtype === 'f16' });
  }

  ropeKvAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, qkv: Tensor, cos: Tensor, sin: Tensor, p: RopeKvParams): void {
    const { T, S } = shapes.checkRopeKv(q, kCache, vCache, qkv, cos, sin, p);
    shapes.checkAttention(out, q, kCache, vCache, p);
    if (!ropeKvFolds(T, p.pos ? S : p.pos0 + T, p.headDim, this.attentionTuning)) {
      this.ropeKv(q, kCache, vCache, qkv, cos, sin, p);
      this.attention(out, q, kCache, vCache, p);
      return;
    }
    const what = `attention qkv${shapeStr(qkv.shape)} kv ${kCache.dtype}${shapeStr(kCache.shape)} heads ${p.nHeads}/${p.nKvHeads}×${p.headDim} pos0 ${p.pos0}${p.pos ? ' + pos' : ''}`;
    const b = (name: string, x: Tensor): GPUBuffer => this.buf(what, name, x);
    const rope = { qkv: b('qkv', qkv), cos: b('cos', cos), sin: b('sin', sin), maxPos: cos.shape[0] as number };
    ropeKvAttention(this.ctx, this.attentionCall(what, out, q, kCache, vCache, p, T, S), rope, this.attentionTuning, this.flashSync, this.subgroupSize);
  }

  argmax(ids: Tensor, logits: Tensor, history?: ArgmaxHistory): void {
    const { T, V, N } = shapes.checkArgmax(ids, logits, history);
    const what = `argmax logits${shapeStr(logits.shape)}${history ? ` → tokens${shapeStr(history.tokens.shape)}` : ''}`;
    const h = history ? { tokens: this.buf(what, 'history.tokens', history.tokens), pos: this.buf(what, 'history.pos', history.pos) } : null;
    argmax(this.ctx, what, this.buf(what, 'ids', ids), this.buf(what, 'logits', logits), h, { tokens: this.dummy, pos: this.zeroPos }, T, V, N, history?.advance === true, sampleWorkgroupFor(V, this.sampleWG));
  }

  sample(ids: Tensor, logits: Tensor, d: SampleDraws, history?: ArgmaxHistory): void {
    const { T, V, N, NU } = shapes.checkSample(ids, logits, d, history);
    const what = `sample logits${shapeStr(logits.shape)} (temperature ${d.temperature}, top-k ${d.topK}, top-p ${d.topP})${history ? ` → tokens${shapeStr(history.tokens.shape)}` : ''}`;
    const h = history ? { tokens: this.buf(what, 'history.tokens', history.tokens), pos: this.buf(what, 'history.pos', history.pos) } : null;
    const b = (name: string, x: Tensor): GPUBuffer => this.buf(what, name, x);
    sample(this.ctx, { what, WG: sampleWorkgroupFor(V, this.sampleWG), ids: b('ids', ids), logits: b('logits', logits), uniforms: b('uniforms', d.uniforms), history: h, dummies: { tokens: this.dummy, pos: this.zeroPos }, advance: history?.advance === true, T, V, N, NU, temperature: d.temperature, topK: d.topK, topP: d.topP }, this.subgroupSize);
  }

  spqrBlock(t: SpqrBlockTensors, p: SpqrBlockParams): void {
    const { n, out } = shapes.checkSpqrBlock(t, p);
    const what = `spqrBlock wt${shapeStr(t.wt.shape)} [${p.i1}, ${p.i2})`;
    const b = (name: string, x: Tensor): GPUBuffer => this.buf(what, name, x);
    const call = {
      what,
      wt: b('wt', t.wt),
      u: b('u', t.u),
      fit: b('fit', t.fit),
      grid: b('grid', t.grid),
      stats: b('stats', t.stats),
      wHat: b('what', t.what),
      codes: b('codes', t.codes),
      err: b('err', t.err),
      n,
      out,
      p,
    };
    spqrBlock(this.ctx, call, this.dummy);
  }

  // --- benchmarks -------------------------------------------------------------

  /** dst = src as vec4s (both f32, same element count, a multiple of 4): the copy-bandwidth probe. */
  copyVec4(dst: Tensor, src: Tensor): void {
    const d = this.own(dst);
    const s = this.own(src);
    if (d.numel !== s.numel || d.numel % 4 !== 0 || d.dtype !== 'f32' || s.dtype !== 'f32') throw new Error('copyVec4: f32 tensors of one size, a multiple of 4');
    copyVec4(this.ctx, 'copyVec4', d.single('copyVec4', 'dst'), s.single('copyVec4', 'src'), d.numel / 4);
  }

  /** Fills a float tensor with uniform values in [−scale, scale) generated on the GPU (benchmark weights). */
  randomize(x: Tensor, seed: number, scale: number): void {
    const t = this.own(x);
    if (t.dtype === 'i32') throw new Error('randomize: float tensors only');
    t.live().forEach((c, i) => {
      const words = packedBytes(t.dtype, c.rows * t.rowElems) / 4;
      fillRandom(this.ctx, `randomize ${t.dtype}${shapeStr(t.shape)}`, c.buffer, t.dtype, words, (seed * 7919 + i) >>> 0, scale);
    });
  }

  // --- helpers ------------------------------------------------------------------

  private own(t: Tensor): GpuTensor {
    if (t instanceof GpuPackedTensor) throw new Error(`webgpu backend: a packed ${t.format} weight is only accepted by matmul`);
    if (!(t instanceof GpuTensor)) throw new Error('webgpu backend: tensor belongs to another backend');
    return t;
  }

  private buf(what: string, name: string, t: Tensor): GPUBuffer {
    return this.own(t).single(what, name);
  }

  private weight(op: OpName, name: string, t: Tensor): GpuTensor {
    const g = this.own(t);
    if (!this.supports(op, g.dtype)) throw new Error(`${op}: ${name} has dtype ${g.dtype}, webgpu takes ${WEIGHT_DTYPES.join(', ')}`);
    return g;
  }

  /** A bias or norm weight as an f32 buffer: 16-bit vectors are widened once and cached. */
  private vectorF32(what: string, name: string, v: Tensor): GPUBuffer {
    const b = this.own(v);
    const buf = b.single(what, name);
    if (b.dtype === 'f32') return buf;
    if (b.dtype !== 'bf16' && b.dtype !== 'f16') throw new Error(`${what}: ${name} has dtype ${b.dtype}`);
    let w = this.widened.get(b);
    if (!w) {
      const size = bufferBytes('f32', b.numel);
      w = this.ctx.device.createBuffer({ label: `${name} f32`, size, usage: STORAGE });
      widen(this.ctx, `${what} (widen ${name})`, w, buf, b.dtype, b.numel);
      this.widened.set(b, w);
    }
    return w;
  }

  /**
   * attention_flash.wgsl's counters and records, one buffer kept for every call: [counters, zero]
   * [records, 0xffffffff], as each dispatch leaves them. A call needing more of either gets a new
   * buffer with room for both (the old one stays with the dispatches recorded on it).
   */
  private readonly flashSync: FlashSync = (rows, words) => {
    const cur = this.flashSyncBuf;
    if (cur && cur.counters >= rows && cur.words >= words) return { buffer: cur.buffer, recBase: cur.counters };
    const counters = Math.max(rows, cur?.counters ?? 0, 64);
    const recWords = Math.max(words, cur?.words ?? 0);
    const bytes = (counters + recWords) * 4;
    if (bytes > this.maxBindingBytes) throw new Error(`flash attention: ${bytes} bytes of split records exceed the largest storage binding of ${this.maxBindingBytes} bytes`);
    const buffer = this.ctx.device.createBuffer({ label: 'flash attention sync', size: Math.ceil(bytes / 16) * 16, usage: STORAGE, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).fill(0xffffffff, counters);
    buffer.unmap();
    this.flashSyncBuf = { buffer, counters, words: recWords };
    return { buffer, recBase: counters };
  };
  private flashSyncBuf: { buffer: GPUBuffer; counters: number; words: number } | null = null;

  /**
   * A buffer of at least `bytes` for one use, kept and grown across calls: `attention` (split-K
   * partials), `perm` (x gathered into layout order), `input` (the normed or gated input of an
   * unfused matmul) and `glu` (the gate|up product of an unfused SwiGLU output) each have their
   * own, since one op may use several at once.
   */
  private scratch(use: 'attention' | 'perm' | 'input' | 'glu', what: string, bytes: number): GPUBuffer {
    if (bytes > this.maxBindingBytes) throw new Error(`${what}: ${use} scratch of ${bytes} bytes exceeds the largest storage binding of ${this.maxBindingBytes} bytes`);
    let b = this.scratchBufs.get(use);
    if (!b || b.size < bytes) {
      b = this.ctx.device.createBuffer({ label: `${use} scratch`, size: Math.min(Math.max(16, Math.ceil(bytes / 65536) * 65536), this.maxBindingBytes), usage: STORAGE });
      this.scratchBufs.set(use, b);
    }
    return b;
  }
}
