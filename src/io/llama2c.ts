/**
 * llama2.c checkpoints → Hugging Face layout (config.json fields + named f32
 * tensors). Two layouts are read (../shared/data/PROVENANCE.md):
 *
 * - version 1 ("ak42"): 256-byte header — u32 magic 0x616b3432, i32 version = 1,
 *   7 × i32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
 *   max_seq_len), u8 shared_classifier, zero padding — then rms_att, rms_ffn,
 *   rms_final, tok_emb, wq, wk, wv, wo, w1, w2, w3, [wcls].
 * - legacy (run.c): 7 × i32 header (vocab_size < 0 = unshared classifier),
 *   then tok_emb, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
 *   freq_cis_real, freq_cis_imag, [wcls].
 *
 * llama2.c rotates interleaved pairs (2i, 2i+1); HF rotates (i, i + hd/2). As
 * HF's converter does, the rows of wq and wk are permuted within each head so
 * that the HF forward computes the same function.
 */
import { tensor, type HostTensor } from '../tensor/tensor.js';
import { InputError } from './errors.js';

export interface Llama2cHeader {
  readonly format: 'v1' | 'legacy';
  readonly dim: number;
  readonly hiddenDim: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly seqLen: number;
  readonly sharedClassifier: boolean;
}

export interface Llama2cModel {
  readonly header: Llama2cHeader;
  /** HF config.json contents. */
  readonly config: Record<string, unknown>;
  /** HF-named f32 tensors, in file order. */
  readonly tensors: ReadonlyArray<readonly [string, HostTensor<'f32'>]>;
}

const MAGIC = 0x616b3432;

function parseHeader(buf: Uint8Array, file: string): { header: Llama2cHeader; offset: number } {
  if (buf.byteLength < 28) throw new InputError(file, `file of ${buf.byteLength} bytes is too short for a llama2.c header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const i32 = (o: number): number => dv.getInt32(o, true);
  let fields: number[];
  let format: 'v1' | 'legacy';
  let shared: boolean;
  let offset: number;
  if (dv.getUint32(0, true) === MAGIC) {
    if (buf.byteLength < 256) throw new InputError(file, 'truncated version-1 header (needs 256 bytes)');
    const version = i32(4);
    if (version !== 1) throw new InputError(file, `llama2.c export version ${version} is not supported (only version 1 and the legacy format)`);
    fields = Array.from({ length: 7 }, (_, i) => i32(8 + 4 * i));
    shared = buf[36] === 1;
    format = 'v1';
    offset = 256;
  } else {
    fields = Array.from({ length: 7 }, (_, i) => i32(4 * i));
    shared = (fields[5] as number) > 0;
    fields[5] = Math.abs(fields[5] as number);
    format = 'legacy';
    offset = 28;
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = fields as [number, number, number, number, number, number, number];
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'max_seq_len'];
  fields.forEach((v, i) => {
    if (!(v > 0 && v < 1 << 24)) throw new InputError(file, `header field ${names[i]} = ${v} is not a plausible size (is this a llama2.c checkpoint?)`);
  });
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw new InputError(file, `inconsistent heads: dim ${dim}, n_heads ${nHeads}, n_kv_heads ${nKvHeads}`);
  }
  return { header: { format, dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: shared }, offset };
}

/** Row permutation of one projection: interleaved pairs → half-split, per head. w: [heads·hd, cols]. */
export function permuteRope(w: Float32Array, heads: number, hd: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + 2 * i + j) * cols; // llama2.c row: pair i, element j
        const dst = (h * hd + j * half + i) * cols; // HF row
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** Parses a whole llama2.c checkpoint held in memory (these models are small by nature). */
export function parseLlama2c(buf: Uint8Array, file: string): Llama2cModel {
  const { header: h, offset } = parseHeader(buf, file);
  const hd = h.dim / h.nHeads;
  const L = h.nLayers;
  const kvDim = h.nKvHeads * hd;
  let pos = offset;
  const floats = (n: number, what: string): Float32Array => {
    const bytes = n * 4;
    if (pos + bytes > buf.byteLength) {
      throw new InputError(file, `truncated: ${what} needs bytes ${pos}…${pos + bytes} but the file has ${buf.byteLength}`);
    }
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(buf.subarray(pos, pos + bytes));
    pos += bytes;
    return out;
  };
  const perLayer = (rows: number, cols: number, what: string): Float32Array[] => {
    const all = floats(L * rows * cols, what);
    return Array.from({ length: L }, (_, l) => all.slice(l * rows * cols, (l + 1) * rows * cols));
  };

  const w: Record<string, Float32Array[] | Float32Array> = {};
  const read = {
    rmsAtt: () => (w['rmsAtt'] = perLayer(1, h.dim, 'rms_att')),
    rmsFfn: () => (w['rmsFfn'] = perLayer(1, h.dim, 'rms_ffn')),
    rmsFinal: () => (w['rmsFinal'] = floats(h.dim, 'rms_final')),
    emb: () => (w['emb'] = floats(h.vocabSize * h.dim, 'tok_embeddings')),
    wq: () => (w['wq'] = perLayer(h.dim, h.dim, 'wq')),
    wk: () => (w['wk'] = perLayer(kvDim, h.dim, 'wk')),
    wv: () => (w['wv'] = perLayer(kvDim, h.dim, 'wv')),
    wo: () => (w['wo'] = perLayer(h.dim, h.dim, 'wo')),
    w1: () => (w['w1'] = perLayer(h.hiddenDim, h.dim, 'w1')),
    w2: () => (w['w2'] = perLayer(h.dim, h.hiddenDim, 'w2')),
    w3: () => (w['w3'] = perLayer(h.hiddenDim, h.dim, 'w3')),
    freqCis: () => floats(2 * h.seqLen * (hd / 2), 'freq_cis_real/imag'), // llama2.c's own RoPE table, recomputed by lowbit
  };
  const order: (keyof typeof read)[] =
    h.format === 'v1'
      ? ['rmsAtt', 'rmsFfn', 'rmsFinal', 'emb', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3']
      : ['emb', 'rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3', 'rmsFinal', 'freqCis'];
  for (const k of order) read[k]();
  const wcls = h.sharedClassifier ? null : floats(h.vocabSize * h.dim, 'wcls');
  if (pos !== buf.byteLength) {
    throw new InputError(file, `${buf.byteLength - pos} bytes left after the last tensor: the header does not describe this file`);
  }

  const layer = (k: string, l: number): Float32Array => (w[k] as Float32Array[])[l] as Float32Array;
  const out: [string, HostTensor<'f32'>][] = [['model.embed_tokens.weight', tensor('f32', [h.vocabSize, h.dim], w['emb'] as Float32Array)]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      [`${p}input_layernorm.weight`, tensor('f32', [h.dim], layer('rmsAtt', l))],
      [`${p}self_attn.q_proj.weight`, tensor('f32', [h.dim, h.dim], permuteRope(layer('wq', l), h.nHeads, hd, h.dim))],
      [`${p}self_attn.k_proj.weight`, tensor('f32', [kvDim, h.dim], permuteRope(layer('wk', l), h.nKvHeads, hd, h.dim))],
      [`${p}self_attn.v_proj.weight`, tensor('f32', [kvDim, h.dim], layer('wv', l))],
      [`${p}self_attn.o_proj.weight`, tensor('f32', [h.dim, h.dim], layer('wo', l))],
      [`${p}post_attention_layernorm.weight`, tensor('f32', [h.dim], layer('rmsFfn', l))],
      [`${p}mlp.gate_proj.weight`, tensor('f32', [h.hiddenDim, h.dim], layer('w1', l))],
      [`${p}mlp.down_proj.weight`, tensor('f32', [h.dim, h.hiddenDim], layer('w2', l))],
      [`${p}mlp.up_proj.weight`, tensor('f32', [h.hiddenDim, h.dim], layer('w3', l))],
    );
  }
  out.push(['model.norm.weight', tensor('f32', [h.dim], w['rmsFinal'] as Float32Array)]);
  if (wcls) out.push(['lm_head.weight', tensor('f32', [h.vocabSize, h.dim], wcls)]);

  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    head_dim: hd,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    hidden_act: 'silu',
    tie_word_embeddings: h.sharedClassifier,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
  return { header: h, config, tensors: out };
}
