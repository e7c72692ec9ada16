/**
 * Token ids cached on disk, keyed by the sha256 of the text and of the
 * tokenizer files: tokenizing WikiText-2 takes ~30 s, reading 341k cached
 * ids a few milliseconds. The cache lives in $LOWBIT_CACHE_DIR, else
 * $XDG_CACHE_HOME/lowbit, else ~/.cache/lowbit; writes are atomic.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { crc32 } from '../io/crc32.js';
import type { TextTokenizer } from '../io/tokenizer.js';

export function cacheDir(): string {
  const env = process.env;
  if (env['LOWBIT_CACHE_DIR']) return env['LOWBIT_CACHE_DIR'];
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'lowbit');
}

const MAGIC = 0x326b7442; // "Btk2" little-endian: [magic][count][crc32 of the ids' bytes][ids i32]
const HEAD = 12;

/** The cached ids in `hit` when the entry is whole: its magic, count and checksum agree, and every id is below `vocab` (the tokenizer's vocabSize). */
function cachedIds(hit: Buffer | null, vocab: number): Int32Array | null {
  if (!hit || hit.byteLength < HEAD || hit.readUInt32LE(0) !== MAGIC) return null;
  const n = hit.readUInt32LE(4);
  if (n === 0 || hit.byteLength !== HEAD + 4 * n || crc32(hit.subarray(HEAD)) !== hit.readUInt32LE(8)) return null;
  const ids = new Int32Array(n);
  new Uint8Array(ids.buffer).set(hit.subarray(HEAD));
  return ids.every((id) => id >= 0 && id < vocab) ? ids : null;
}

/**
 * The ids of `text` under `tok`, from the cache when an entry is there and whole (else the text is
 * tokenized again and the entry rewritten: a damaged entry costs time, never a wrong number).
 */
export async function encodeCached(tok: TextTokenizer, text: string, dir = cacheDir()): Promise<Int32Array> {
  const key = createHash('sha256').update(tok.hash).update('\0').update(text).digest('hex');
  const file = join(dir, 'tokens', `${key.slice(0, 32)}.bin`);
  const hit = cachedIds(await readFile(file).catch(() => null), tok.vocabSize);
  if (hit) return hit;
  const ids = tok.encode(text);
  const bytes = new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength);
  const out = Buffer.alloc(HEAD + ids.byteLength);
  out.writeUInt32LE(MAGIC, 0);
  out.writeUInt32LE(ids.length, 4);
  out.writeUInt32LE(crc32(bytes), 8);
  out.set(bytes, HEAD);
  try {
    await mkdir(join(dir, 'tokens'), { recursive: true });
    await writeFileAtomic(file, (fh) => fh.writeFile(out));
  } catch {
    // a cache that cannot be written only costs time
  }
  return ids;
}
