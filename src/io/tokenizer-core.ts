/**
 * The tokenizer as lowbit uses it, from already parsed tokenizer.json and
 * tokenizer_config.json objects, through @huggingface/tokenizers (browser-safe:
 * no file or hash access here; io/tokenizer.ts reads files and hashes in Node,
 * browser.ts hashes with WebCrypto).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from './errors.js';

export interface TextTokenizer {
  /** Token ids of `text`, with the special tokens the tokenizer adds (BOS for Llama). */
  encode(text: string): Int32Array;
  /** Text of `ids`; special tokens are dropped unless `keepSpecial`. */
  decode(ids: ArrayLike<number>, keepSpecial?: boolean): string;
  readonly vocabSize: number;
  /** sha256 of tokenizer.json and tokenizer_config.json: keys caches of token ids. */
  readonly hash: string;
}

/** The two embedded texts parsed (tokenizer_config.json may be absent); `file` names their source in errors. */
export function parseTokenizerTexts(file: string, tokenizerJson: string, tokenizerConfig: string | null): { tok: unknown; cfg: unknown } {
  const parse = (what: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InputError(file, `embedded ${what} is not valid JSON (${(e as Error).message})`);
    }
  };
  return { tok: parse('tokenizer.json', tokenizerJson), cfg: tokenizerConfig === null ? {} : parse('tokenizer_config.json', tokenizerConfig) };
}

export function makeTokenizer(file: string, tokJson: unknown, cfgJson: unknown, hash: string): TextTokenizer {
  let t: Tokenizer;
  try {
    t = new Tokenizer(tokJson as object, cfgJson as object);
  } catch (e) {
    throw new InputError(file, `not a usable tokenizer (${(e as Error).message})`);
  }
  const vocabSize = t.get_vocab(true).size;
  return {
    encode: (text) => Int32Array.from(t.encode(text).ids),
    decode: (ids, keepSpecial = false) => t.decode(Array.from(ids), { skip_special_tokens: !keepSpecial }),
    vocabSize,
    hash,
  };
}
