/**
 * Calibration windows, GPTQ's C4 recipe on a local text file: split the text
 * into documents (separated by blank-line runs of two or more, i.e. "\n\n\n"),
 * then for each sample pick a document and a start at random (seeded), take a
 * slice of characters long enough for `seqlen` tokens, tokenize it and keep
 * `seqlen` consecutive ids starting after the first token (the slice may cut a
 * word). Windows carry no BOS, as GPTQ's random windows don't.
 *
 * Only the slices are tokenized, so 128 × 512 windows from a 23 MB corpus take
 * a second, not the minutes a full tokenization would.
 */
import { rng } from '../runtime/sampler.js';

export interface CalibrationOptions {
  /** Number of windows (`--calib-samples`). */
  readonly samples: number;
  /** Tokens per window (`--calib-seqlen`). */
  readonly seqlen: number;
  /** Seed of the window choice (`--seed`). */
  readonly seed: number;
}

export interface Tokenize {
  (text: string): Int32Array;
}

/** Characters sliced per try: ~4 chars per token in English, with margin; doubled while the slice is short of tokens. */
const CHARS_PER_TOKEN = 6;
const MAX_TRIES = 1000;

/** The documents of a corpus text, empty ones dropped. */
export function splitDocuments(text: string): string[] {
  return text
    .split(/\n{3,}/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/**
 * `samples` windows of `seqlen` token ids each (concatenated: [samples · seqlen]).
 * `bos`: the id the tokenizer prepends (dropped), or null when it adds none.
 * Throws when the text is too short to hold a window.
 */
export function calibrationWindows(text: string, tokenize: Tokenize, bos: number | null, o: CalibrationOptions): Int32Array {
  const { samples, seqlen } = o;
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`calibration samples must be a positive integer, got ${samples}`);
  if (!Number.isInteger(seqlen) || seqlen < 2) throw new Error(`calibration seqlen must be an integer ≥ 2, got ${seqlen}`);
  const docs = splitDocuments(text);
  if (docs.length === 0) throw new Error('the calibration text is empty');
  const rand = rng(o.seed);
  const pick = (n: number): number => Math.min(n - 1, Math.floor(rand() * n));
  const out = new Int32Array(samples * seqlen);
  for (let s = 0; s < samples; s++) {
    let ok = false;
    for (let tries = 0; tries < MAX_TRIES && !ok; tries++) {
      const doc = docs[pick(docs.length)] as string;
      let chars = CHARS_PER_TOKEN * (seqlen + 2);
      const start = doc.length > chars ? pick(doc.length - chars + 1) : 0;
      let ids = tokenize(doc.slice(start, start + chars));
      const skip = (bos !== null && ids[0] === bos ? 1 : 0) + (start > 0 ? 1 : 0); // BOS, then a cut word
      // long tokens (more characters a token than CHARS_PER_TOKEN): the slice doubled from the same start
      while (ids.length - skip < seqlen && start + chars < doc.length) {
        chars *= 2;
        ids = tokenize(doc.slice(start, start + chars));
      }
      if (ids.length - skip < seqlen) continue; // too short a document: draw again
      out.set(ids.subarray(skip, skip + seqlen), s * seqlen);
      ok = true;
    }
    if (!ok) throw new Error(`no document of the calibration text holds ${seqlen} tokens (tried ${MAX_TRIES} draws)`);
  }
  return out;
}
