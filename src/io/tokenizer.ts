/**
 * tokenizer.json through @huggingface/tokenizers (the same code as
 * transformers.js; its ids equal HF's for Llama-2 SentencePiece-BPE with byte
 * fallback and for byte-level BPE). `encode` adds BOS exactly when the
 * tokenizer's post-processor does, as HF's `tokenizer(text)` would.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from './errors.js';
import { makeTokenizer, tokenizerFromTexts, type TextTokenizer } from './tokenizer-core.js';

export type { TextTokenizer } from './tokenizer-core.js';

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
  const hash = createHash('sha256').update(tokenizerJson).update(tokenizerConfig ?? '').digest('hex');
  return tokenizerFromTexts(file, tokenizerJson, tokenizerConfig, hash);
}
