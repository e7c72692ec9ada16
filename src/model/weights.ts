/**
 * Llama-family weights on a backend, loaded tensor by tensor from any
 * source of named host tensors (a safetensors model, a converted llama2.c
 * file, a dequantized .lowbit file). Names follow Hugging Face.
 */
import { PackedTooLargeError, type Backend, type Tensor } from '../backend/backend.js';
import { concatPackedRows } from '../formats/concat.js';
import { FORMATS, isPackedFormat } from '../formats/index.js';
import type { FormatId, PackedTensor } from '../formats/types.js';
import { DTYPE_BYTES, isFloatDType, type DType } from '../tensor/dtype.js';
import { numel, shapeStr, type HostTensor, type Shape } from '../tensor/tensor.js';
import type { LlamaConfig } from './config.js';

/** Named tensors readable one at a time (safetensors files satisfy this). */
export interface WeightSource {
  readonly tensors: ReadonlyMap<string, { readonly dtype: DType; readonly shape: Shape }>;
  read(name: string): Promise<HostTensor>;
}

/** Packed tensors readable as stored (a .lowbit file): their format, and their bytes. */
export interface PackedSource {
  format(name: string): FormatId;
  read(name: string): Promise<PackedTensor>;
}

/** How the matmul weights of a quantized model go to the backend. */
export type WeightMode = 'packed' | 'dequant';

/** What was uploaded: counts, and bytes as held by the backend's tensors (packed arrays or dense values). */
export interface WeightStats {
  /** Matmul weights uploaded packed, by format. */
  readonly packed: Record<string, number>;
  /** Quantized tensors dequantized at load (mode 'dequant', no kernel, or too large for one binding). */
  readonly dequantized: number;
  /**
   * Bytes of every weight tensor as uploaded (packed: what the backend holds, `Tensor.bytes`, e.g.
   * WebGPU's image; dense: elements × the backend tensor's element size, which on the CPU backend is
   * f32 for 16-bit weights too, so a CPU model's bytes can exceed its bf16 size).
   */
  readonly bytes: number;
  /** Bytes the matmul weights of one forward token read: every layer's projections and lm_head. */
  readonly matmulBytes: number;
  /** Bytes of the same model with every tensor in bf16. */
  readonly bf16Bytes: number;
}

export interface LayerWeights {
  readonly attnNorm: Tensor; // [D]
  readonly wq: Tensor; // [Hq·hd, D]
  readonly wk: Tensor; // [Hkv·hd, D]
  readonly wv: Tensor; // [Hkv·hd, D]
  readonly wo: Tensor; // [D, Hq·hd]
  readonly bq?: Tensor; // [Hq·hd]
  readonly bk?: Tensor; // [Hkv·hd]
  readonly bv?: Tensor; // [Hkv·hd]
  readonly bo?: Tensor; // [D]
  readonly ffnNorm: Tensor; // [D]
  readonly wGate: Tensor; // [F, D]
  readonly wUp: Tensor; // [F, D]
  readonly wDown: Tensor; // [D, F]
}

/**
 * Projections that read one input and write side by side into one activation
 * (q|k|v, gate|up): one tensor merged at load, so one matmul reads them all,
 * or — when they cannot be merged (packed, mixed dtypes) — the parts, each
 * with the first output column it writes.
 */
export interface Projection {
  readonly parts: readonly { readonly w: Tensor; readonly bias?: Tensor; readonly col0: number }[];
  /** Output columns of all parts together. */
  readonly cols: number;
}

/** A decoder layer as the runtime runs it. */
export interface RuntimeLayer {
  readonly attnNorm: Tensor; // [D]
  readonly qkv: Projection; // [Hq·hd + 2·Hkv·hd, D]
  readonly wo: Tensor; // [D, Hq·hd]
  readonly bo?: Tensor; // [D]
  readonly ffnNorm: Tensor; // [D]
  readonly gateUp: Projection; // [2F, D]
  readonly wDown: Tensor; // [D, F]
}

export interface LlamaWeights {
  readonly embed: Tensor; // [V, D]
  readonly layers: readonly RuntimeLayer[];
  readonly norm: Tensor; // [D]
  readonly lmHead: Tensor; // [V, D] (the embedding itself when tied)
}

/** The HF names of layer l's tensors, keyed by LayerWeights field. */
export function layerTensorNames(l: number): Record<keyof LayerWeights, string> {
  const p = `model.layers.${l}.`;
  return {
    attnNorm: `${p}input_layernorm.weight`,
    wq: `${p}self_attn.q_proj.weight`,
    wk: `${p}self_attn.k_proj.weight`,
    wv: `${p}self_attn.v_proj.weight`,
    wo: `${p}self_attn.o_proj.weight`,
    bq: `${p}self_attn.q_proj.bias`,
    bk: `${p}self_attn.k_proj.bias`,
    bv: `${p}self_attn.v_proj.bias`,
    bo: `${p}self_attn.o_proj.bias`,
    ffnNorm: `${p}post_attention_layernorm.weight`,
    wGate: `${p}mlp.gate_proj.weight`,
    wUp: `${p}mlp.up_proj.weight`,
    wDown: `${p}mlp.down_proj.weight`,
  };
}

/** Expected shape of every tensor a checkpoint must (or may, for biases) hold. */
export function expectedShapes(c: LlamaConfig): Map<string, { shape: Shape; optional: boolean }> {
  const D = c.hiddenSize;
  const Cq = c.nHeads * c.headDim;
  const Ckv = c.nKvHeads * c.headDim;
  const F = c.intermediateSize;
  const m = new Map<string, { shape: Shape; optional: boolean }>();
  const need = (name: string, shape: Shape, optional = false): void => void m.set(name, { shape, optional });
  need('model.embed_tokens.weight', [c.vocabSize, D]);
  need('model.norm.weight', [D]);
  need('lm_head.weight', [c.vocabSize, D], c.tieWordEmbeddings);
  const qkvBias = c.architecture === 'Qwen2ForCausalLM';
  for (let l = 0; l < c.nLayers; l++) {
    const n = layerTensorNames(l);
    need(n.attnNorm, [D]);
    need(n.wq, [Cq, D]);
    need(n.wk, [Ckv, D]);
    need(n.wv, [Ckv, D]);
    need(n.wo, [D, Cq]);
    need(n.bq, [Cq], !qkvBias);
    need(n.bk, [Ckv], !qkvBias);
    need(n.bv, [Ckv], !qkvBias);
    need(n.bo, [D], true);
    need(n.ffnNorm, [D]);
    need(n.wGate, [F, D]);
    need(n.wUp, [F, D]);
    need(n.wDown, [D, F]);
  }
  return m;
}

/**
 * Checks that `src` holds every tensor the config needs with the right shape and a float dtype.
 * Returns one message per problem (empty when the checkpoint fits).
 */
export function checkWeightSource(c: LlamaConfig, src: WeightSource): string[] {
  const problems: string[] = [];
  for (const [name, { shape, optional }] of expectedShapes(c)) {
    const info = src.tensors.get(name);
    if (!info) {
      if (!optional) problems.push(`missing tensor "${name}"`);
      continue;
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      problems.push(`tensor "${name}" has shape ${shapeStr(info.shape)}, the config needs ${shapeStr(shape)}`);
    }
    if (!isFloatDType(info.dtype)) problems.push(`tensor "${name}" has dtype ${info.dtype}; weights must be f32, f16 or bf16`);
  }
  return problems;
}

/** The matmul weights of a layer (the tensors that may stay packed), by field. */
const MATMUL_FIELDS = ['wq', 'wk', 'wv', 'wo', 'wGate', 'wUp', 'wDown'] as const;

export interface UploadOptions {
  /** Sees each host tensor before upload (e.g. to check for NaN); packed tensors are not shown. */
  readonly onTensor?: (name: string, t: HostTensor | null, done: number, total: number) => void;
  /** Packed tensors of the source (a .lowbit file); without it everything is read dense. */
  readonly packed?: PackedSource;
  /** 'packed' (default): matmul weights in a quantized format stay packed where the backend supports it. */
  readonly weights?: WeightMode;
}

/** Host tensors of one dtype stacked along their first axis into `shape`. */
function concatRows(parts: readonly HostTensor[], shape: Shape): HostTensor {
  const first = parts[0] as HostTensor;
  const n = parts.reduce((a, p) => a + p.data.length, 0);
  const data = first.dtype === 'f32' ? new Float32Array(n) : first.dtype === 'i32' ? new Int32Array(n) : new Uint16Array(n);
  let at = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as unknown as Float32Array, at);
    at += p.data.length;
  }
  return { dtype: first.dtype, shape, data } as HostTensor;
}

/** Bytes a packed weight holds on its backend (`Tensor.bytes`; the format's arrays for a backend that does not say). */
function packedTensorBytes(t: Tensor, p: PackedTensor): number {
  return t.bytes ?? Object.values(FORMATS[p.format].arrayBytes(p.shape, p.params)).reduce((a, b) => a + b, 0);
}

/** Uploads every weight to `backend`, reading one tensor at a time; q|k|v and gate|up merged where they can be (Projection). */
export async function uploadWeights(c: LlamaConfig, src: WeightSource, backend: Backend, o: UploadOptions = {}): Promise<LlamaWeights & { stats: WeightStats }> {
  const tiedHead = (n: string): boolean => c.tieWordEmbeddings && n === 'lm_head.weight';
  const names = [...expectedShapes(c).keys()].filter((n) => src.tensors.has(n) && !tiedHead(n));
  const matmulNames = new Set<string>(['lm_head.weight']);
  for (let l = 0; l < c.nLayers; l++) for (const f of MATMUL_FIELDS) matmulNames.add(layerTensorNames(l)[f]);
  const stats = { packed: {} as Record<string, number>, dequantized: 0, bytes: 0, matmulBytes: 0, bf16Bytes: 0 };
  let done = 0;
  const load = async (name: string): Promise<Tensor> => {
    const info = src.tensors.get(name);
    const n = info ? numel(info.shape) : 0;
    stats.bf16Bytes += 2 * n;
    const count = (bytes: number): void => {
      stats.bytes += bytes;
      if (matmulNames.has(name)) stats.matmulBytes += bytes;
    };
    const format = o.packed?.format(name);
    const quantized = format !== undefined && isPackedFormat(format);
    if (quantized && o.packed && o.weights !== 'dequant' && matmulNames.has(name) && backend.supports('matmul', format)) {
      const p = await o.packed.read(name);
      try {
        const t = backend.uploadPacked(p);
        count(packedTensorBytes(t, p));
        stats.packed[format] = (stats.packed[format] ?? 0) + 1;
        o.onTensor?.(name, null, ++done, names.length);
        return t;
      } catch (e) {
        if (!(e instanceof PackedTooLargeError)) throw e;
      }
    }
    if (quantized) stats.dequantized++;
    const host = await src.read(name);
    o.onTensor?.(name, host, ++done, names.length);
    const t = backend.upload(host);
    count(n * DTYPE_BYTES[t.dtype]);
    return t;
  };
  const maybe = (name: string): Promise<Tensor | undefined> => (src.tensors.has(name) ? load(name) : Promise.resolve(undefined));

  /**
   * Uploads tensors that share an input as one Projection: merged into one
   * [Σ rows, in] tensor when every part is dense with one dtype (biases all
   * present or all absent), else part by part (packed weights stay packed).
   */
  const projection = async (pn: readonly string[], biasNames: readonly string[]): Promise<Projection> => {
    const rows = pn.map((n) => src.tensors.get(n)?.shape[0] ?? 0);
    const cols = rows.reduce((a, r) => a + r, 0);
    const col0s = rows.map((_, i) => rows.slice(0, i).reduce((a, r) => a + r, 0));
    const isPacked = (n: string): boolean => {
      const f = o.packed?.format(n);
      return f !== undefined && isPackedFormat(f) && o.weights !== 'dequant' && backend.supports('matmul', f);
    };
    const dtypes = new Set(pn.map((n) => src.tensors.get(n)?.dtype));
    const biases = biasNames.filter((n) => src.tensors.has(n));
    const biasesOk = biases.length === 0 || biases.length === pn.length;
    if (pn.every(isPacked) && biasesOk) {
      const merged = await packedProjection(pn, biases, cols);
      if (merged) return merged;
    }
    if (pn.some(isPacked) || dtypes.size !== 1 || !biasesOk) {
      const parts = [];
      for (const [i, n] of pn.entries()) {
        const bias = await maybe(biasNames[i] as string);
        parts.push({ w: await load(n), ...(bias && { bias }), col0: col0s[i] as number });
      }
      return { parts, cols };
    }
    const hosts: HostTensor[] = [];
    for (const n of pn) {
      const h = await src.read(n);
      o.onTensor?.(n, h, ++done, names.length);
      hosts.push(h);
    }
    const inDim = hosts[0]?.shape[1] as number;
    const w = backend.upload(concatRows(hosts, [cols, inDim]));
    const bytes = cols * inDim * DTYPE_BYTES[w.dtype];
    stats.bf16Bytes += 2 * cols * inDim;
    stats.bytes += bytes;
    stats.matmulBytes += bytes;
    stats.dequantized += pn.filter((n) => o.packed?.format(n) !== undefined && isPackedFormat(o.packed.format(n))).length;
    const bias = await mergedBias(biases, cols);
    return { parts: [{ w, ...(bias && { bias }), col0: 0 }], cols };
  };

  /** The parts' biases stacked into one [cols] tensor (undefined without biases). */
  const mergedBias = async (biasNames: readonly string[], cols: number): Promise<Tensor | undefined> => {
    if (biasNames.length === 0) return undefined;
    const hb: HostTensor[] = [];
    for (const n of biasNames) {
      const h = await src.read(n);
      o.onTensor?.(n, h, ++done, names.length);
      hb.push(h);
      stats.bf16Bytes += 2 * numel(h.shape);
      stats.bytes += numel(h.shape) * DTYPE_BYTES[h.dtype];
    }
    return backend.upload(concatRows(hb, [cols]));
  };

  /** Packed int or SpQR parts stacked into one packed tensor (formats/concat.ts), or null (then part by part). */
  const packedProjection = async (pn: readonly string[], biasNames: readonly string[], cols: number): Promise<Projection | null> => {
    const ps: PackedTensor[] = [];
    for (const n of pn) ps.push(await (o.packed as PackedSource).read(n));
    const merged = concatPackedRows(ps);
    if (!merged) return null;
    let w: Tensor;
    try {
      w = backend.uploadPacked(merged);
    } catch (e) {
      if (e instanceof PackedTooLargeError) return null;
      throw e;
    }
    const bytes = packedTensorBytes(w, merged);
    stats.bytes += bytes;
    stats.matmulBytes += bytes;
    stats.packed[merged.format] = (stats.packed[merged.format] ?? 0) + pn.length;
    for (const n of pn) {
      stats.bf16Bytes += 2 * numel(src.tensors.get(n)?.shape ?? []);
      o.onTensor?.(n, null, ++done, names.length);
    }
    const bias = await mergedBias(biasNames, cols);
    return { parts: [{ w, ...(bias && { bias }), col0: 0 }], cols };
  };

  const embed = await load('model.embed_tokens.weight');
  const layers: RuntimeLayer[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const n = layerTensorNames(l);
    const attnNorm = await load(n.attnNorm);
    const qkv = await projection([n.wq, n.wk, n.wv], [n.bq, n.bk, n.bv]);
    const wo = await load(n.wo);
    const bo = await maybe(n.bo);
    const ffnNorm = await load(n.ffnNorm);
    const gateUp = await projection([n.wGate, n.wUp], []);
    layers.push({ attnNorm, qkv, wo, ...(bo && { bo }), ffnNorm, gateUp, wDown: await load(n.wDown) });
  }
  const norm = await load('model.norm.weight');
  // HF ties lm_head to the embedding whenever tie_word_embeddings is set, even if the file also stores it.
  const lmHead = c.tieWordEmbeddings ? embed : await load('lm_head.weight');
  if (c.tieWordEmbeddings) stats.matmulBytes += numel(src.tensors.get('model.embed_tokens.weight')?.shape ?? []) * DTYPE_BYTES[embed.dtype];
  return { embed, layers, norm, lmHead, stats };
}

/** Frees every tensor of `w` (the embedding once when lm_head is tied to it). */
export function freeWeights(b: Backend, w: LlamaWeights): void {
  const all = new Set<Tensor>([w.embed, w.norm, w.lmHead]);
  for (const l of w.layers) {
    for (const t of [l.attnNorm, l.wo, l.bo, l.ffnNorm, l.wDown]) if (t) all.add(t);
    for (const p of [...l.qkv.parts, ...l.gateUp.parts]) {
      all.add(p.w);
      if (p.bias) all.add(p.bias);
    }
  }
  for (const t of all) b.free(t);
}
