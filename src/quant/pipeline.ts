/**
 * The sequential quantization loop (GPTQ's `llama_sequential`), one block at
 * a time, so peak memory is one block's weights plus the calibration
 * activations:
 *
 *   acts = embed(windows)                              [N·T, D] on the host
 *   for each block l:
 *     for each group g of (qkv, o, gate/up, down):
 *       H_g = (2/n)·Σ x xᵀ over the inputs x of g      backend `gram`, f32
 *             (the block re-run with the groups before g already quantized)
 *       quantize each layer of g with H_g; put Ŵ in the block
 *     acts = block_l(acts)                             (fully quantized block)
 *     checkpoint (packed layers, reports, acts)
 *
 * n = N·T counts every calibration token. After each block the store keeps a
 * checkpoint; a resumed job starts at the first missing block from the saved
 * activations, and since every step is deterministic it produces the same bytes.
 */
import type { Backend, Tensor } from '../backend/backend.js';
import { FORMATS } from '../formats/index.js';
import type { PackedTensor } from '../formats/types.js';
import type { LlamaConfig } from '../model/config.js';
import { ropeTables } from '../model/rope.js';
import { layerTensorNames, type LayerWeights } from '../model/weights.js';
import { tensor, toF32, type HostTensor } from '../tensor/tensor.js';
import { createBlockState, freeBlockState, GROUPS, runBlock, type BlockContext, type GroupId, type LinearName } from './block.js';
import { factorHessian, freeFactor, quantizeWithFactor, type GptqFactor } from './gptq-backend.js';
import * as gptq from './methods/gptq.js';
import * as rtn from './methods/rtn.js';
import * as spqr from './methods/spqr.js';
import { factorSpqr, freeSpqrFactor, quantizeSpqrWithFactor, type SpqrFactor } from './spqr-backend.js';
import type { GptqConfig, QuantResult, RtnConfig, SpqrConfig } from './types.js';

/** Named tensors readable one at a time (a safetensors model). */
export interface WeightReader {
  read(name: string): Promise<HostTensor>;
  has(name: string): boolean;
}

export type MethodSpec =
  | { readonly method: 'rtn'; readonly config: Partial<RtnConfig> }
  | { readonly method: 'gptq'; readonly config: Partial<GptqConfig> }
  | { readonly method: 'spqr'; readonly config: Partial<SpqrConfig> };

/**
 * Where GPTQ and SpQR run: 'host' = methods/gptq.ts or methods/spqr.ts in f64
 * on H read back from the backend; 'backend' = quant/gptq-backend.ts or
 * quant/spqr-backend.ts in f32 on the backend, H never read back; 'auto' =
 * 'backend' on WebGPU, else 'host'. RTN always runs on the host.
 */
export type GptqEngine = 'auto' | 'host' | 'backend';

/** The engine `auto` picks for this backend and method ('host' for RTN). */
export function resolveGptqEngine(engine: GptqEngine, backend: Backend, m: MethodSpec): 'host' | 'backend' {
  if (m.method === 'rtn') {
    if (engine === 'backend') throw new Error('the backend engine runs GPTQ and SpQR, not rtn');
    return 'host';
  }
  if (engine !== 'auto') return engine;
  return backend.name === 'webgpu' ? 'backend' : 'host';
}

/** What the pipeline reports for each quantized linear layer. */
export interface LayerReport {
  readonly name: string;
  readonly block: number;
  readonly shape: readonly [number, number];
  readonly format: string;
  /** Average bits per weight by the method's formula. */
  readonly avgBits: number;
  /** ‖WX − ŴX‖² / ‖WX‖² on the calibration inputs (from H); null for RTN without H. */
  readonly relError: number | null;
  /** Outliers kept in fp16 / weights (SpQR), 0 otherwise. */
  readonly outlierFraction: number;
  readonly seconds: number;
  /** Where the method ran (GptqEngine resolved). */
  readonly engine: 'host' | 'backend';
}

/** One block's quantized layers, ready for the file. */
export interface BlockResult {
  readonly block: number;
  readonly tensors: readonly { readonly name: string; readonly packed: PackedTensor }[];
  readonly reports: readonly LayerReport[];
}

/** Where checkpoints live (a work directory in Node; see checkpoint.ts). */
export interface CheckpointStore {
  /** The first block not yet done and the activations entering it, or null for a fresh start. */
  resumePoint(): Promise<{ readonly next: number; readonly acts: Float32Array } | null>;
  /** Saves block l's result, then the activations entering block l+1. */
  save(result: BlockResult, nextActs: Float32Array): Promise<void>;
}

export type PipelineEvent =
  | { readonly kind: 'start'; readonly blocks: number; readonly resumedAt: number }
  | { readonly kind: 'group'; readonly block: number; readonly group: GroupId | 'head'; readonly step: number; readonly steps: number }
  | { readonly kind: 'layer'; readonly report: LayerReport }
  | { readonly kind: 'block'; readonly block: number };

export interface PipelineOptions {
  readonly backend: Backend;
  readonly config: LlamaConfig;
  readonly weights: WeightReader;
  readonly method: MethodSpec;
  /** Calibration windows, concatenated [N · T] ids. */
  readonly windows: Int32Array;
  /** T, tokens per window. */
  readonly seqlen: number;
  readonly store: CheckpointStore;
  readonly onEvent?: (e: PipelineEvent) => void;
  /** Where GPTQ runs. Default 'auto'. */
  readonly gptqEngine?: GptqEngine;
  /**
   * Also quantize lm_head (the embedding itself when tied; the file then stores an untied head)
   * on the final-normed outputs of the quantized stack, with the host method. The store keeps it
   * as "block" nLayers. Default false.
   */
  readonly quantizeHead?: boolean;
  /** Sees each linear layer's W, calibration stats and result (tests, parity dumps). */
  readonly onLayer?: (name: string, W: HostTensor<'f32'>, stats: { readonly H: Float32Array; readonly nSamples: number }, r: QuantResult) => void;
}

/** Quantizes every linear layer of every block, handing each finished block to the store. */
export async function quantizeBlocks(o: PipelineOptions): Promise<void> {
  const { backend: b, config: c, seqlen: T } = o;
  if (o.windows.length === 0 || o.windows.length % T !== 0) throw new Error(`calibration ids (${o.windows.length}) are not whole windows of ${T}`);
  const N = o.windows.length / T;
  const D = c.hiddenSize;
  const resume = await o.store.resumePoint();
  let acts = resume?.acts ?? (await embedWindows(o, N));
  const start = resume?.next ?? 0;
  if (acts.length !== N * T * D) throw new Error(`checkpointed activations hold ${acts.length} values, expected ${N}·${T}·${D}`);
  o.onEvent?.({ kind: 'start', blocks: c.nLayers, resumedAt: start });

  const rope = ropeTables(c.headDim, c.ropeTheta, c.ropeScaling, T);
  const ctx: BlockContext = {
    backend: b,
    config: c,
    cos: b.upload(tensor('f32', [T, c.headDim / 2], rope.cos)),
    sin: b.upload(tensor('f32', [T, c.headDim / 2], rope.sin)),
  };
  const s = createBlockState(b, c, T);
  try {
    for (let l = start; l < c.nLayers; l++) {
      const { result, next } = await quantizeBlock(o, ctx, s, l, acts, N);
      await o.store.save(result, next);
      acts = next;
      o.onEvent?.({ kind: 'block', block: l });
    }
    if (o.quantizeHead && start <= c.nLayers) await o.store.save(await quantizeHead(o, acts, N), acts);
  } finally {
    freeBlockState(b, s);
    b.free(ctx.cos);
    b.free(ctx.sin);
  }
}

/** acts[w] = embed(windows[w]) for every window.  → [N·T, D]. */
async function embedWindows(o: PipelineOptions, N: number): Promise<Float32Array> {
  const { backend: b, config: c, seqlen: T } = o;
  const D = c.hiddenSize;
  const table = b.upload(await o.weights.read('model.embed_tokens.weight'));
  const ids = b.empty('i32', [T]);
  const x = b.empty('f32', [T, D]);
  const acts = new Float32Array(N * T * D);
  try {
    for (let w = 0; w < N; w++) {
      b.write(ids, tensor('i32', [T], o.windows.subarray(w * T, (w + 1) * T)));
      b.embedding(x, table, ids);
      acts.set((await b.read(x)).data as Float32Array, w * T * D);
    }
  } finally {
    for (const t of [table, ids, x]) b.free(t);
  }
  return acts;
}

type MutableLayer = { -readonly [K in keyof LayerWeights]: LayerWeights[K] };

async function quantizeBlock(
  o: PipelineOptions,
  ctx: BlockContext,
  s: ReturnType<typeof createBlockState>,
  l: number,
  acts: Float32Array,
  N: number,
): Promise<{ result: BlockResult; next: Float32Array }> {
  const { backend: b, config: c, seqlen: T } = o;
  const D = c.hiddenSize;
  const names = layerTensorNames(l);
  // the block's weights on the backend; linear layers kept as f32 host copies for the methods
  const host = new Map<LinearName, HostTensor<'f32'>>();
  const L = {} as MutableLayer;
  for (const key of Object.keys(names) as (keyof LayerWeights)[]) {
    const name = names[key];
    if (!o.weights.has(name)) continue;
    const t = await o.weights.read(name);
    if (isLinear(key)) {
      const w = tensor('f32', t.shape, t.dtype === 'f32' ? (t.data as Float32Array) : toF32(t));
      host.set(key, w);
      L[key] = b.upload(w);
    } else {
      L[key] = b.upload(t);
    }
  }
  const tensors: { name: string; packed: PackedTensor }[] = [];
  const reports: LayerReport[] = [];
  const loadWindow = (w: number): void => b.write(s.x, tensor('f32', [T, D], acts.subarray(w * T * D, (w + 1) * T * D)));

  try {
    for (const [gi, group] of GROUPS.entries()) {
      // H of the group's input, the earlier groups already quantized in L
      const K = (host.get(group.layers[0]) as HostTensor<'f32'>).shape[1] as number;
      const H = b.empty('f32', [K, K]);
      for (let w = 0; w < N; w++) {
        loadWindow(w);
        b.gram(H, runBlock(ctx, L, s, group.id), 2 / (N * T));
        o.onEvent?.({ kind: 'group', block: l, group: group.id, step: gi * N + w + 1, steps: GROUPS.length * N });
      }
      const engine = resolveGptqEngine(o.gptqEngine ?? 'auto', b, o.method);
      // the host engines read H back; the backend engine factors it once for the group's layers
      const Hhost = engine === 'host' || o.onLayer ? ((await b.read(H)).data as Float32Array) : null;
      let factor: BackendFactor | null = null;
      try {
        if (engine === 'backend') factor = await factorFor(b, H, o.method);
        for (const key of group.layers) {
          const t0 = performance.now();
          const W = host.get(key) as HostTensor<'f32'>;
          const stats = { H: Hhost ?? new Float32Array(0), nSamples: N * T };
          const r = factor !== null ? await quantizeWithBackendFactor(b, W, L[key] as Tensor, H, factor, o.method) : quantizeWith(o.method, W, stats);
          if (Hhost) o.onLayer?.(names[key], W, stats, r);
          if (r.format === null) throw new Error(`${o.method.method} with ${String((r.config as { bits?: number }).bits)} bits has no packed format (int2, int3, int4, int8 or spqr)`);
          const packed = FORMATS[r.format].pack(r);
          b.free(L[key]);
          L[key] = b.upload(tensor('f32', W.shape, r.weight)); // later groups see Ŵ
          const report: LayerReport = {
            name: names[key],
            block: l,
            shape: [r.out, r.in],
            format: r.format,
            avgBits: r.avgBits,
            relError: r.error?.relative ?? null,
            outlierFraction: r.outliers ? r.outliers.col.length / (r.out * r.in) : 0,
            seconds: (performance.now() - t0) / 1000,
            engine,
          };
          tensors.push({ name: names[key], packed });
          reports.push(report);
          o.onEvent?.({ kind: 'layer', report });
        }
      } finally {
        if (factor !== null) freeBackendFactor(b, factor);
        b.free(H);
      }
    }
    // the quantized block's outputs feed the next block
    const next = new Float32Array(acts.length);
    for (let w = 0; w < N; w++) {
      loadWindow(w);
      next.set((await b.read(runBlock(ctx, L, s))).data as Float32Array, w * T * D);
    }
    return { result: { block: l, tensors, reports }, next };
  } finally {
    for (const t of Object.values(L) as Tensor[]) b.free(t);
  }
}

const LINEAR = new Set<string>(GROUPS.flatMap((g) => g.layers));
const isLinear = (k: keyof LayerWeights): k is LinearName => LINEAR.has(k);

/** lm_head quantized on H of rmsnorm(final activations): the "block" after the last one. */
async function quantizeHead(o: PipelineOptions, acts: Float32Array, N: number): Promise<BlockResult> {
  const { backend: b, config: c, seqlen: T } = o;
  const D = c.hiddenSize;
  const name = c.tieWordEmbeddings || !o.weights.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const norm = b.upload(await o.weights.read('model.norm.weight'));
  const x = b.empty('f32', [T, D]);
  const xb = b.empty('f32', [T, D]);
  const H = b.empty('f32', [D, D]);
  try {
    for (let w = 0; w < N; w++) {
      b.write(x, tensor('f32', [T, D], acts.subarray(w * T * D, (w + 1) * T * D)));
      b.rmsnorm(xb, x, norm, c.rmsNormEps);
      b.gram(H, xb, 2 / (N * T));
      o.onEvent?.({ kind: 'group', block: c.nLayers, group: 'head', step: w + 1, steps: N });
    }
    const stats = { H: (await b.read(H)).data as Float32Array, nSamples: N * T };
    const t = await o.weights.read(name);
    const W = tensor('f32', t.shape, t.dtype === 'f32' ? (t.data as Float32Array) : toF32(t));
    const t0 = performance.now();
    const r = quantizeWith(o.method, W, stats);
    o.onLayer?.('lm_head.weight', W, stats, r);
    if (r.format === null) throw new Error(`${o.method.method} with these bits has no packed format`);
    const report: LayerReport = {
      name: 'lm_head.weight',
      block: c.nLayers,
      shape: [r.out, r.in],
      format: r.format,
      avgBits: r.avgBits,
      relError: r.error?.relative ?? null,
      outlierFraction: r.outliers ? r.outliers.col.length / (r.out * r.in) : 0,
      seconds: (performance.now() - t0) / 1000,
      engine: 'host',
    };
    o.onEvent?.({ kind: 'layer', report });
    return { block: c.nLayers, tensors: [{ name: 'lm_head.weight', packed: FORMATS[r.format].pack(r) }], reports: [report] };
  } finally {
    for (const t of [norm, x, xb, H]) b.free(t);
  }
}

function quantizeWith(m: MethodSpec, W: HostTensor<'f32'>, stats: { H: Float32Array; nSamples: number }): QuantResult {
  switch (m.method) {
    case 'rtn':
      return rtn.quantizeLayer(W, stats, m.config);
    case 'gptq':
      return gptq.quantizeLayer(W, stats, m.config);
    case 'spqr':
      return spqr.quantizeLayer(W, stats, m.config);
  }
}


/** A backend engine's factor of one group's H: GPTQ's or SpQR's (their damping and permutation differ). */
type BackendFactor = { readonly method: 'gptq'; readonly f: GptqFactor } | { readonly method: 'spqr'; readonly f: SpqrFactor };

async function factorFor(b: Backend, H: Tensor, m: MethodSpec): Promise<BackendFactor> {
  if (m.method === 'gptq') return { method: 'gptq', f: await factorHessian(b, H, m.config) };
  if (m.method === 'spqr') return { method: 'spqr', f: await factorSpqr(b, H, m.config) };
  throw new Error('the backend engine runs GPTQ and SpQR, not rtn');
}

function quantizeWithBackendFactor(b: Backend, W: HostTensor<'f32'>, w: Tensor, H: Tensor, f: BackendFactor, m: MethodSpec): Promise<QuantResult> {
  if (f.method === 'gptq' && m.method === 'gptq') return quantizeWithFactor(b, W, w, H, f.f, m.config);
  if (f.method === 'spqr' && m.method === 'spqr') return quantizeSpqrWithFactor(b, W, w, H, f.f, m.config);
  throw new Error(`a ${f.method} factor cannot quantize ${m.method}`);
}

function freeBackendFactor(b: Backend, f: BackendFactor): void {
  if (f.method === 'gptq') freeFactor(b, f.f);
  else freeSpqrFactor(b, f.f);
}
