/**
 * tokenizer.json through @huggingface/tokenizers (the same code as
 * transformers.js; its ids equal HF's for Llama-2 SentencePiece-BPE with byte
 * fallback and for byte-level BPE). `encode` adds BOS exactly when the
 * tokenizer's post-processor does, as HF's `tokenizer(text)` would.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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

async function readJson(file: string, required: boolean): Promise<{ json: unknown; bytes: Buffer } | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'missing tokenizer file' : `cannot read (${code ?? String(e)})`);
  }
  try {
    return { json: JSON.parse(bytes.toString('utf8')), bytes };
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
}

/** Loads `<dir>/tokenizer.json` (required) and `<dir>/tokenizer_config.json` (optional). */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const tokFile = join(dir, 'tokenizer.json');
  const tok = await readJson(tokFile, true);
  const cfg = await readJson(join(dir, 'tokenizer_config.json'), false);
  if (tok === null) throw new InputError(tokFile, 'missing tokenizer file');
  const hash = createHash('sha256').update(tok.bytes).update(cfg?.bytes ?? '').digest('hex');
  return makeTokenizer(tokFile, tok.json, cfg?.json ?? {}, hash);
}

/**
 * A tokenizer from the texts of tokenizer.json and tokenizer_config.json (as
 * embedded in a .lowbit file); `file` names where they came from in errors.
 * Its hash equals loadTokenizer's for the same file contents.
 */
export function tokenizerFromText(file: string, tokenizerJson: string, tokenizerConfig: string | null): TextTokenizer {
  const parse = (what: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new InputError(file, `embedded ${what} is not valid JSON (${(e as Error).message})`);
    }
  };
  const hash = createHash('sha256').update(tokenizerJson).update(tokenizerConfig ?? '').digest('hex');
  const cfg = tokenizerConfig === null ? {} : parse('tokenizer_config.json', tokenizerConfig);
  return makeTokenizer(file, parse('tokenizer.json', tokenizerJson), cfg, hash);
}

function makeTokenizer(file: string, tokJson: unknown, cfgJson: unknown, hash: string): TextTokenizer {
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
