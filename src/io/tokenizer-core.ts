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
  /** Every id encode gives is below this (a tokenizer as loaded: its largest id + 1, added tokens included). */
  readonly vocabSize: number;
  /** sha256 of tokenizer.json and tokenizer_config.json: keys caches of token ids. */
  readonly hash: string;
}

/**
 * A tokenizer from the texts of tokenizer.json and tokenizer_config.json (as embedded in a .lowbit
 * file; the config may be absent) and their `hash` (sha256 of the two texts, which Node and the
 * browser compute each their own way); `file` names where they came from in errors.
 */
export function tokenizerFromTexts(file: string, tokenizerJson: string, tokenizerConfig: string | null, hash: string): TextTokenizer {
  const parse = (what: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InputError(file, `embedded ${what} is not valid JSON (${(e as Error).message})`);
    }
  };
  return makeTokenizer(file, parse('tokenizer.json', tokenizerJson), tokenizerConfig === null ? {} : parse('tokenizer_config.json', tokenizerConfig), hash);
}

export function makeTokenizer(file: string, tokJson: unknown, cfgJson: unknown, hash: string): TextTokenizer {
  let t: Tokenizer;
  try {
    t = new Tokenizer(tokJson as object, cfgJson as object);
  } catch (e) {
    throw new InputError(file, `not a usable tokenizer (${(e as Error).message})`);
  }
  let vocabSize = 0; // the largest id + 1, added tokens included
  for (const id of t.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  return {
    encode: (text) => Int32Array.from(t.encode(text).ids),
    decode: (ids, keepSpecial = false) => t.decode(Array.from(ids), { skip_special_tokens: !keepSpecial }),
    vocabSize,
    hash,
  };
}
