/**
 * The device side of the WebGPU backend: pipeline cache, uniform buffers,
 * command recording, error scopes and device loss.
 *
 * Ops are recorded into one compute pass of one command encoder (WebGPU makes
 * each dispatch's writes visible to the next), submitted when the host needs
 * results (`read`, `write`, `sync`, `free`) or every FLUSH_EVERY dispatches.
 * Every recorded op runs inside a validation + out-of-memory error scope; the
 * scopes' promises are kept with the op's description and checked at
 * `sync`/`read`, so an error surfaces as one Error naming the op and shapes.
 */
import { WGSL, type WgslName } from './kernels/wgsl.gen.js';

/** GPUBufferUsage / GPUMapMode values (the globals do not exist outside browsers). */
export const USAGE = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;
const MAP_MODE_READ = 0x0001;
const FLUSH_EVERY = 256;

/** A header constant: numbers become `u32`, booleans `bool`. */
export type HeaderValue = number | boolean;

export interface KernelSpec {
  /** WGSL files, concatenated in order after the header (snippets first, the kernel last). */
  readonly files: readonly WgslName[];
  /** `const NAME = value;` lines prepended to the source (tile sizes, flags). */
  readonly header: Readonly<Record<string, HeaderValue>>;
  /** `enable …;` directives (e.g. "subgroups"). */
  readonly enable?: readonly string[];
  /**
   * Generated WGSL `const` lines placed before the header (a format's
   * `wgslConstants`); its `NAME: u32 = V` constants also enter the key.
   */
  readonly prelude?: string;
}

export interface Dispatch {
  /** What the op was called with, for error messages: "matmul x[3, 64] w[96, 64] bf16". */
  readonly what: string;
  readonly kernel: KernelSpec;
  /** Buffers by binding number; binding 0 is the uniform built from `params`. */
  readonly buffers: Readonly<Record<number, GPUBuffer>>;
  /** The uniform struct's fields in order: integers as u32, `{ f: x }` as f32. */
  readonly params: readonly (number | { f: number })[];
  readonly grid: readonly [number, number, number];
}

/** One captured dispatch: everything the pass needs to issue it again. */
interface Captured {
  readonly what: string;
  readonly pipeline: GPUComputePipeline;
  readonly group: GPUBindGroup;
  readonly grid: readonly [number, number, number];
}

/** Dispatches captured by `GpuContext.capture`, issued again by `replay`. */
export class GpuRecording {
  readonly dispatches: readonly Captured[];
  constructor(dispatches: readonly Captured[]) {
    this.dispatches = dispatches;
  }
  get ops(): number {
    return this.dispatches.length;
  }
}

interface PendingError {
  readonly what: string;
  readonly errors: Promise<(GPUError | null)[]>;
}

/** The header text and cache key of a kernel spec. */
export function kernelKey(k: KernelSpec): string {
  const h = Object.entries(k.header).map(([n, v]) => `${n}=${typeof v === 'boolean' ? (v ? 1 : 0) : v}`);
  const pre = [...(k.prelude ?? '').matchAll(/const (\w+): u32 = (\w+)u;/g)].map((m) => `${m[1]}=${m[2]}`);
  const q = pre.length > 0 ? `<${pre.join(',')}>` : '';
  return `${k.files.join('+')}${q}[${h.join(',')}]${k.enable?.length ? `{${k.enable.join(',')}}` : ''}`;
}

function kernelSource(k: KernelSpec): string {
  const enable = (k.enable ?? []).map((e) => `enable ${e};\n`).join('');
  const header = Object.entries(k.header)
    .map(([n, v]) => (typeof v === 'boolean' ? `const ${n} = ${v};\n` : `const ${n}: u32 = ${v}u;\n`))
    .join('');
  return `${enable}${k.prelude ?? ''}${header}${k.files.map((f) => WGSL[f]).join('\n')}`;
}

export class GpuContext {
  readonly device: GPUDevice;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; key: string }>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly uniforms = new Map<string, GPUBuffer>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded: string[] = [];
  private pending: PendingError[] = [];
  private lostMessage: string | null = null;
  /** Rejections of the guard() calls in flight, called once if the device is lost (a race against a never-settling promise would keep a reaction per call forever). */
  private readonly lostWaiters = new Set<(e: Error) => void>();
  private disposed = false;
  private batchScoped = false;
  private capturing: Captured[] | null = null;
  // timing (timestamp queries), active between beginTiming and endTiming
  private timing: { set: GPUQuerySet; used: number; capacity: number; missed: number } | null = null;

  /** 'op': error scopes around every op (errors name the op); 'submit': one pair per submit (less CPU per dispatch). */
  readonly errorScopes: 'op' | 'submit';

  constructor(device: GPUDevice, errorScopes: 'op' | 'submit' = 'op') {
    this.device = device;
    this.errorScopes = errorScopes;
    void device.lost.then((info) => {
      this.lostMessage = `webgpu device lost (${info.reason}): ${info.message || 'no message'}`;
      for (const reject of this.lostWaiters) reject(new Error(this.lostMessage));
      this.lostWaiters.clear();
    });
  }

  /** Throws when the device is lost or disposed; every public call starts here. */
  alive(): void {
    if (this.lostMessage !== null) throw new Error(`${this.lostMessage}; the backend cannot be used any more`);
    if (this.disposed) throw new Error('webgpu backend: used after dispose()');
  }

  /** Races a device promise against device loss, so nothing waits forever; holds nothing once `p` settles. */
  guard<T>(p: Promise<T>): Promise<T> {
    if (this.lostMessage !== null) return Promise.reject(new Error(this.lostMessage));
    return new Promise<T>((resolve, reject) => {
      this.lostWaiters.add(reject);
      p.then(
        (v) => {
          this.lostWaiters.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.lostWaiters.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** guard() calls waiting on their promise (for tests: 0 once they have settled). */
  get guardsInFlight(): number {
    return this.lostWaiters.size;
  }

  pipeline(k: KernelSpec): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; key: string } {
    const key = kernelKey(k);
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: key, code: kernelSource(k) });
      const pipeline = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      p = { pipeline, layout: pipeline.getBindGroupLayout(0), key };
      this.pipelines.set(key, p);
    }
    return p;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(b, id);
    }
    return id;
  }

  /** The bind group of a pipeline over these buffers, cached (decode repeats the same ones every token). */
  private bindGroup(what: string, p: { layout: GPUBindGroupLayout; key: string }, buffers: Readonly<Record<number, GPUBuffer>>): GPUBindGroup {
    const bindings = Object.entries(buffers);
    const key = `${p.key}|${bindings.map(([n, b]) => `${n}:${this.bufferId(b)}`).join(',')}`;
    let g = this.bindGroups.get(key);
    if (!g) {
      if (this.bindGroups.size >= 8192) this.bindGroups.clear();
      const entries = bindings.map(([n, buffer]) => ({ binding: Number(n), resource: { buffer } }));
      g = this.device.createBindGroup({ label: what, layout: p.layout, entries });
      this.bindGroups.set(key, g);
    }
    return g;
  }

  /** A uniform buffer holding `params`, shared by every dispatch with the same values. */
  private uniform(params: readonly (number | { f: number })[]): GPUBuffer {
    const bytes = Math.max(16, Math.ceil((params.length * 4) / 16) * 16);
    const data = new ArrayBuffer(bytes);
    const u32 = new Uint32Array(data);
    const f32 = new Float32Array(data);
    params.forEach((v, i) => {
      if (typeof v === 'number') u32[i] = v >>> 0;
      else f32[i] = v.f;
    });
    const key = Array.from(u32).join(',');
    let b = this.uniforms.get(key);
    if (!b) {
      if (this.uniforms.size >= 8192) this.uniforms.clear(); // dropped buffers are collected once unused
      b = this.device.createBuffer({ label: `params(${key})`, size: bytes, usage: USAGE.UNIFORM, mappedAtCreation: true });
      new Uint32Array(b.getMappedRange()).set(u32);
      b.unmap();
      this.uniforms.set(key, b);
    }
    return b;
  }

  /** Runs `fn` inside validation and out-of-memory error scopes, remembered under `what`. */
  scoped<T>(what: string, fn: () => T): T {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    try {
      return fn();
    } finally {
      const v = this.device.popErrorScope();
      const o = this.device.popErrorScope();
      this.pending.push({ what, errors: Promise.all([v, o]) });
    }
  }

  /** `scoped` in 'op' mode; in 'submit' mode the batch's scopes (opened at its first op, closed at flush) catch errors. */
  private maybeScoped(what: string, fn: () => void): void {
    if (this.errorScopes === 'op') {
      this.scoped(what, fn);
      return;
    }
    if (!this.batchScoped) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.batchScoped = true;
    }
    fn();
  }

  /** Records one dispatch. */
  dispatch(d: Dispatch): void {
    this.alive();
    const [x, y, z] = d.grid;
    if (x === 0 || y === 0 || z === 0) return;
    this.maybeScoped(d.what, () => {
      const p = this.pipeline(d.kernel);
      const group = this.bindGroup(d.what, p, { 0: this.uniform(d.params), ...d.buffers });
      const pass = this.openPass();
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
      this.capturing?.push({ what: d.what, pipeline: p.pipeline, group, grid: [x, y, z] });
    });
    this.recorded.push(d.what);
    if (this.recorded.length >= FLUSH_EVERY) this.flush();
  }

  /** Runs `fn`, capturing its dispatches (which are recorded as usual) for `replay`. */
  capture(fn: () => void): GpuRecording {
    this.alive();
    if (this.capturing) throw new Error('webgpu: record() inside record()');
    const list: Captured[] = [];
    this.capturing = list;
    try {
      fn();
    } finally {
      this.capturing = null;
    }
    return new GpuRecording(list);
  }

  /** Throws inside `capture` (host transfers and copies cannot be replayed). */
  notCapturing(what: string): void {
    if (this.capturing) throw new Error(`webgpu: ${what} inside record(): a recording may only hold ops`);
  }

  /** Records a captured sequence again: one setBindGroup and dispatch per op (setPipeline when it changes). */
  replay(r: GpuRecording): void {
    this.alive();
    const list = r.dispatches;
    if (list.length === 0) return;
    const what = `replay of ${list.length} ops (${list[0]?.what} … ${list[list.length - 1]?.what})`;
    this.maybeScoped(what, () => {
      const pass = this.openPass();
      let last: GPUComputePipeline | null = null;
      for (const d of list) {
        if (d.pipeline !== last) {
          pass.setPipeline(d.pipeline);
          last = d.pipeline;
        }
        pass.setBindGroup(0, d.group);
        pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
      }
    });
    this.recorded.push(what);
    if (this.recorded.length >= FLUSH_EVERY) this.flush();
  }

  /** Records a buffer-to-buffer copy (ends the open compute pass). */
  copy(what: string, src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.alive();
    this.notCapturing(what);
    if (bytes === 0) return;
    this.maybeScoped(what, () => {
      this.closePass();
      this.openEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    });
    this.recorded.push(what);
  }

  private openEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    if (!this.pass) {
      const t = this.timing;
      let desc: GPUComputePassDescriptor = {};
      if (t) {
        if (t.used + 2 <= t.capacity) {
          desc = { timestampWrites: { querySet: t.set, beginningOfPassWriteIndex: t.used, endOfPassWriteIndex: t.used + 1 } };
          t.used += 2;
        } else {
          t.missed++;
        }
      }
      this.pass = this.openEncoder().beginComputePass(desc);
    }
    return this.pass;
  }

  private closePass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    const ops = this.recorded;
    const what = `submit of ${ops.length} ops (${ops.length > 2 ? `${ops[0]} … ${ops[ops.length - 1]}` : ops.join('; ')})`;
    this.scoped(what, () => {
      this.closePass();
      const cb = (this.encoder as GPUCommandEncoder).finish();
      this.encoder = null;
      this.device.queue.submit([cb]);
    });
    if (this.batchScoped) {
      const v = this.device.popErrorScope();
      const o = this.device.popErrorScope();
      this.pending.push({ what, errors: Promise.all([v, o]) });
      this.batchScoped = false;
    }
    this.recorded = [];
  }

  /** Waits for submitted work; throws the first recorded device error or the loss of the device. */
  async sync(): Promise<void> {
    this.alive();
    this.flush();
    await this.guard(this.device.queue.onSubmittedWorkDone());
    await this.checkErrors();
  }

  async checkErrors(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      const errs = await this.guard(p.errors);
      const e = errs.find((x) => x !== null);
      if (e) throw new Error(`webgpu: ${p.what}: ${e instanceof GPUOutOfMemoryErrorLike ? 'out of memory' : 'validation error'}: ${e.message}`);
    }
  }

  /** Copies `bytes` of `src` from `offset` to the host (flushes first). */
  async readBuffer(what: string, src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.alive();
    this.notCapturing(`read ${what}`);
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.scoped(`read staging for ${what} (${size} bytes)`, () =>
      this.device.createBuffer({ label: `read ${what}`, size: Math.max(size, 4), usage: USAGE.MAP_READ | USAGE.COPY_DST }),
    );
    this.copy(`read ${what}`, src, offset, staging, 0, size);
    this.flush();
    try {
      await this.guard(staging.mapAsync(MAP_MODE_READ));
    } catch (e) {
      await this.checkErrors();
      throw e;
    }
    await this.checkErrors();
    const out = staging.getMappedRange().slice(0, bytes);
    staging.destroy();
    return out;
  }

  beginTiming(capacity = 512): boolean {
    if (!this.device.features.has('timestamp-query')) return false;
    this.flush();
    this.timing = { set: this.device.createQuerySet({ type: 'timestamp', count: capacity }), used: 0, capacity, missed: 0 };
    return true;
  }

  /** GPU nanoseconds spent in the compute passes since beginTiming (passes beyond capacity are not counted). */
  async endTiming(): Promise<{ ns: number; passes: number; missed: number }> {
    const t = this.timing;
    if (!t) throw new Error('endTiming without beginTiming');
    this.flush();
    this.timing = null;
    const n = Math.max(t.used, 2);
    const resolve = this.device.createBuffer({ size: n * 8, usage: USAGE.QUERY_RESOLVE | USAGE.COPY_SRC });
    this.scoped('resolve timestamps', () => this.openEncoder().resolveQuerySet(t.set, 0, n, resolve, 0));
    const raw = new BigUint64Array(await this.readBuffer('timestamps', resolve, 0, n * 8));
    resolve.destroy();
    t.set.destroy();
    let ns = 0;
    for (let i = 0; i + 1 < t.used; i += 2) ns += Number((raw[i + 1] as bigint) - (raw[i] as bigint));
    return { ns, passes: t.used / 2, missed: t.missed };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pass = null;
    this.encoder = null;
    for (const b of this.uniforms.values()) b.destroy();
    this.uniforms.clear();
    this.pipelines.clear();
    this.bindGroups.clear();
    this.device.destroy();
  }
}

/** GPUOutOfMemoryError without relying on the global class (absent outside browsers). */
const GPUOutOfMemoryErrorLike = {
  [Symbol.hasInstance]: (e: unknown): boolean => (e as { constructor?: { name?: string } })?.constructor?.name === 'GPUOutOfMemoryError',
};
