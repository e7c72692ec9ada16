/**
 * llama2.c tokenizer.bin → an HF tokenizer.json (Llama-2 style
 * SentencePiece-BPE with byte fallback) that @huggingface/tokenizers loads.
 *
 * tokenizer.bin: i32 max_token_length, then per token f32 score, i32 length,
 * bytes; "▁" is already a space, BOS/EOS are "\n<s>\n" / "\n</s>\n", ids
 * 3–258 are the byte tokens <0x00>…<0xFF>. llama2.c encodes by repeatedly
 * merging the adjacent pair whose concatenation has the highest score; the BPE
 * merges below rank every (left, right) split of every piece by that piece's
 * score, which is how HF's SentencePiece converter expresses the same rule.
 */
import { InputError } from './errors.js';

export interface Llama2cVocab {
  readonly pieces: readonly string[];
  readonly scores: Float32Array;
}

// Maps, not objects: a piece may be any string, "toString" and "constructor" included (Llama-2's vocabulary has both)
const SPECIAL = new Map([
  ['\n<s>\n', '<s>'],
  ['\n</s>\n', '</s>'],
]);

export function parseLlama2cTokenizer(buf: Uint8Array, file: string, vocabSize: number): Llama2cVocab {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let pos = 4;
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) {
    if (pos + 8 > buf.byteLength) throw new InputError(file, `truncated at token ${i} of ${vocabSize}`);
    scores[i] = dv.getFloat32(pos, true);
    const len = dv.getInt32(pos + 4, true);
    pos += 8;
    if (len < 0 || pos + len > buf.byteLength) throw new InputError(file, `token ${i} has an invalid length ${len}`);
    const raw = utf8.decode(buf.subarray(pos, pos + len));
    pos += len;
    pieces.push(SPECIAL.get(raw) ?? raw.replaceAll(' ', '▁'));
  }
  if (pos !== buf.byteLength) {
    throw new InputError(file, `holds ${buf.byteLength - pos} bytes after ${vocabSize} tokens: it does not match the model's vocabulary`);
  }
  return { pieces, scores };
}

/** The tokenizer.json object for a llama2.c vocabulary (BOS/EOS/UNK = ids 1/2/0). */
export function llama2cTokenizerJson(v: Llama2cVocab): Record<string, unknown> {
  const vocab = new Map<string, number>();
  v.pieces.forEach((p, i) => {
    if (!vocab.has(p)) vocab.set(p, i);
  });
  const merges: { left: string; right: string; score: number; id: number }[] = [];
  v.pieces.forEach((piece, id) => {
    if (id < 3 || /^<0x[0-9A-F]{2}>$/.test(piece)) return;
    const chars = [...piece];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      if (vocab.has(left) && vocab.has(right)) merges.push({ left, right, score: v.scores[id] as number, id });
    }
  });
  // Highest score first; ties keep vocabulary order, then the split's own ids.
  merges.sort((a, b) => b.score - a.score || a.id - b.id || (vocab.get(a.left) as number) - (vocab.get(b.left) as number));
  const special = (id: number, content: string): Record<string, unknown> => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab), // own properties, whatever the piece
      merges: merges.map((m) => [m.left, m.right]),
    },
  };
}

/** tokenizer_config.json for the converted tokenizer. */
export const llama2cTokenizerConfig = {
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  clean_up_tokenization_spaces: false,
  tokenizer_class: 'LlamaTokenizer',
} as const;
