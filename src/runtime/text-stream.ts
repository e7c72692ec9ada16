/**
 * The text that generated ids add after a prompt, a piece per token (browser-safe). Decoding the
 * new ids alone would lose what depends on what comes before them (SentencePiece drops a leading
 * space at the start of a text: "▁the" alone decodes to "the"), so each piece is the difference
 * between decoding prompt + ids and what was shown before; a piece that would end inside a
 * multi-byte character (byte-fallback tokens, U+FFFD) is held back until the character is whole.
 */
import type { TextTokenizer } from '../io/tokenizer-core.js';

export class TextStream {
  private readonly tokenizer: TextTokenizer;
  private readonly ids: number[];
  private readonly promptLength: number;
  private readonly head: string;
  private shown = '';

  constructor(tokenizer: TextTokenizer, prompt: ArrayLike<number>) {
    this.tokenizer = tokenizer;
    this.ids = Array.from(prompt);
    this.promptLength = this.ids.length;
    this.head = this.ids.length > 0 ? tokenizer.decode(this.ids) : '';
  }

  /** The prompt as decoded (what the continuation follows). */
  get prompt(): string {
    return this.head;
  }

  /** The continuation's text so far, an incomplete last character as U+FFFD. */
  get text(): string {
    if (this.ids.length === this.promptLength) return '';
    const all = this.tokenizer.decode(this.ids);
    return all.startsWith(this.head) ? all.slice(this.head.length) : this.tokenizer.decode(this.ids.slice(this.promptLength));
  }

  /** Adds a generated id; returns the text it completes ('' while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const t = this.text;
    if (t.endsWith('\uFFFD') || !t.startsWith(this.shown)) return '';
    const piece = t.slice(this.shown.length);
    this.shown = t;
    return piece;
  }

  /** At the end: what is still held back (an incomplete character, shown as U+FFFD). */
  end(): string {
    const t = this.text;
    if (!t.startsWith(this.shown)) return '';
    const piece = t.slice(this.shown.length);
    this.shown = t;
    return piece;
  }
}
