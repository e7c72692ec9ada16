/**
 * Random models for benchmarks: Llama-2-7B- and Llama-3-8B-shaped configs and
 * their tensors in any format, generated directly as packed bytes with a seeded
 * PRNG (formats/random.ts; no quantization), so a 7B model in int4 is built in
 * seconds. `randomModelTensors` yields them one at a time (for writeLowbit or
 * an in-memory upload); `uploadRandomModel` puts them on a backend through the
 * same loader as a .lowbit file (packed where the backend runs the format).
 */
import type { Backend } from '../backend/backend.js';
import { FORMATS } from '../formats/index.js';
import { randomPacked } from '../formats/random.js';
import type { FormatId, FormatParams, PackedTensor } from '../formats/types.js';
import { parseHfConfig } from '../io/hf-config.js';
import type { LlamaConfig } from '../model/config.js';
import { expectedShapes, uploadWeights, type LlamaWeights, type WeightMode, type WeightStats } from '../model/weights.js';
import type { HostTensor, Shape } from '../tensor/tensor.js';

/** HF config.json objects of the benchmark shapes. */
export const RANDOM_SHAPES = {
  'llama2-7b': {
    architectures: ['LlamaForCausalLM'],
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    vocab_size: 32000,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 4096,
    tie_word_embeddings: false,
    bos_token_id: 1,
    eos_token_id: 2,
  },
  'llama3-8b': {
    architectures: ['LlamaForCausalLM'],
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    vocab_size: 128256,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    max_position_embeddings: 131072,
    tie_word_embeddings: false,
    bos_token_id: 128000,
    eos_token_id: 128001,
  },
} as const;

export type RandomShape = keyof typeof RANDOM_SHAPES;

/** A format and its parameters for the matmul weights of a random model. */
export interface RandomFormat {
  readonly format: FormatId;
  readonly params: FormatParams;
  /** SpQR outlier fraction. */
  readonly outlierRate?: number;
  /** lm_head in the format too, as `lowbit quantize --quantize-head` stores it (default: bf16). */
  readonly head?: boolean;
}

/** The benchmark formats: int4 g128, int3 g128, int2 g64, int8 g128, SpQR w3 β1 = β2 = 16 with 1 % outliers in 4 of 5 rows (≈ 3.9 bits), bf16. */
export const RANDOM_FORMATS: Record<string, RandomFormat> = {
  int4: { format: 'int4', params: { groupSize: 128, permuted: 0 } },
  int3: { format: 'int3', params: { groupSize: 128, permuted: 0 } },
  int2: { format: 'int2', params: { groupSize: 64, permuted: 0 } },
  int8: { format: 'int8', params: { groupSize: 128, permuted: 0 } },
  spqr: { format: 'spqr', params: { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }, outlierRate: 0.01 },
  bf16: { format: 'bf16', params: {} },
};

/** Overrides of a shape's sizes (tiny models for tests). */
export interface ShapeOverrides {
  readonly dim?: number;
  readonly layers?: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly ffn?: number;
  readonly vocab?: number;
}

/** The HF config object of a random shape with overrides applied. */
export function randomArchitecture(shape: RandomShape, o: ShapeOverrides = {}): Record<string, unknown> {
  const a: Record<string, unknown> = { ...RANDOM_SHAPES[shape] };
  if (o.dim !== undefined) a.hidden_size = o.dim;
  if (o.layers !== undefined) a.num_hidden_layers = o.layers;
  if (o.heads !== undefined) a.num_attention_heads = o.heads;
  if (o.kvHeads !== undefined) a.num_key_value_heads = o.kvHeads;
  else if (o.heads !== undefined) a.num_key_value_heads = Math.min(o.heads, a.num_key_value_heads as number);
  if (o.ffn !== undefined) a.intermediate_size = o.ffn;
  if (o.vocab !== undefined) a.vocab_size = o.vocab;
  return a;
}

export const randomConfig = (shape: RandomShape, o: ShapeOverrides = {}): LlamaConfig => parseHfConfig(randomArchitecture(shape, o), `random model ${shape}`);

const isMatmul = (name: string): boolean => /(proj|lm_head)\.weight$/.test(name);
const isNorm = (name: string): boolean => /norm\.weight$/.test(name);
/** Whether a random model stores `name` in its format `f` (else bf16). */
const inFormat = (name: string, f: RandomFormat): boolean => isMatmul(name) && (name !== 'lm_head.weight' || f.head === true);

/** The packed tensor `name` of a random model: norms are ones (bf16), the embedding bf16, projections (and lm_head with `f.head`) in `f`. */
export function randomTensor(name: string, shape: Shape, f: RandomFormat, seed: number): PackedTensor {
  const rows = shape.length === 1 ? 1 : (shape[0] as number);
  const cols = shape[shape.length - 1] as number;
  if (isNorm(name)) {
    const data = new Uint16Array(cols).fill(0x3f80); // bf16 1.0
    return { format: 'bf16', shape: [1, cols], params: {}, arrays: { data: new Uint8Array(data.buffer) } };
  }
  const fmt = inFormat(name, f) ? f : RANDOM_FORMATS.bf16!;
  return randomPacked(fmt.format, [rows, cols], fmt.params, seed, { ...(fmt.outlierRate !== undefined && { outlierRate: fmt.outlierRate }) });
}

/** Every tensor of a random model, in loading order, one at a time. */
export function* randomModelTensors(config: LlamaConfig, f: RandomFormat, seed = 1): Generator<{ name: string; shape: Shape; packed: PackedTensor }> {
  let i = 0;
  for (const [name, { shape, optional }] of expectedShapes(config)) {
    if (optional) continue;
    yield { name, shape, packed: randomTensor(name, shape, f, seed * 1000 + i++) };
  }
}

/** A random model's weights on `backend` (generated tensor by tensor), with the loader's byte accounting. */
export async function uploadRandomModel(config: LlamaConfig, f: RandomFormat, backend: Backend, weights: WeightMode = 'packed', seed = 1): Promise<LlamaWeights & { stats: WeightStats }> {
  const shapes = new Map<string, { dtype: 'bf16'; shape: Shape; seed: number }>();
  let i = 0;
  for (const [name, { shape, optional }] of expectedShapes(config)) if (!optional) shapes.set(name, { dtype: 'bf16', shape, seed: seed * 1000 + i++ });
  const get = (name: string): { dtype: 'bf16'; shape: Shape; seed: number } => {
    const s = shapes.get(name);
    if (!s) throw new Error(`random model: no tensor ${name}`);
    return s;
  };
  const packedOf = (name: string): PackedTensor => randomTensor(name, get(name).shape, f, get(name).seed);
  const src = {
    tensors: shapes,
    read: (name: string): Promise<HostTensor> => {
      const p = packedOf(name);
      const { shape } = get(name);
      if (p.format !== 'bf16') return Promise.resolve({ dtype: 'f32', shape, data: FORMATS[p.format].unpack(p).weight } as HostTensor);
      const d = p.arrays.data as Uint8Array;
      return Promise.resolve({ dtype: 'bf16', shape, data: new Uint16Array(d.buffer, d.byteOffset, d.length / 2) } as HostTensor);
    },
  };
  const packed = { format: (name: string): FormatId => (inFormat(name, f) ? f.format : 'bf16'), read: (name: string) => Promise.resolve(packedOf(name)) };
  return uploadWeights(config, src, backend, { packed, weights });
}
