/**
 * The Llama-family model configuration: what the forward pass needs, in
 * lowbit's own names. Llama, Mistral and Qwen2 differ only in data here
 * (biases, sliding window, RoPE scaling), never in code paths.
 */

export const ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** How RoPE frequencies are rescaled for long contexts (HF `rope_type`). */
export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalMaxPositionEmbeddings: number;
    };

export interface LlamaConfig {
  readonly architecture: Architecture;
  readonly vocabSize: number;
  /** Residual stream width d. */
  readonly hiddenSize: number;
  /** SwiGLU inner width. */
  readonly intermediateSize: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  /** Sliding-window attention span (Mistral, some Qwen2), or null for full attention. */
  readonly slidingWindow: number | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

/** Parameter count of the model described by `c` (embeddings counted once when tied; biases ignored). */
export function parameterCount(c: LlamaConfig): number {
  const d = c.hiddenSize;
  const attn = d * c.nHeads * c.headDim * 2 + d * c.nKvHeads * c.headDim * 2;
  const mlp = 3 * d * c.intermediateSize;
  const perLayer = attn + mlp + 2 * d;
  const embed = c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2);
  return c.nLayers * perLayer + embed + d;
}
