import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeCached } from '../src/eval/token-cache.js';
import { loadTokenizer } from '../src/io/tokenizer.js';
import { MODELS } from './helpers.js';

test('token ids are cached by text and tokenizer, and a cache hit returns the same ids fast', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowbit-cache-'));
  try {
    const tok = await loadTokenizer(`${MODELS}/lowbit-demo`);
    const text = 'The State of the Union is strong. '.repeat(2000);
    const t0 = performance.now();
    const first = await encodeCached(tok, text, dir);
    const cold = performance.now() - t0;
    assert.deepEqual([...first], [...tok.encode(text)]);
    assert.equal((await readdir(join(dir, 'tokens'))).length, 1);
    const t1 = performance.now();
    const again = await encodeCached(tok, text, dir);
    const warm = performance.now() - t1;
    assert.deepEqual(again, first);
    assert.ok(warm < cold, `cache hit ${warm} ms vs tokenizing ${cold} ms`);
    // a different text is a different entry; a corrupt entry is re-tokenized and rewritten
    await encodeCached(tok, `${text}!`, dir);
    const files = await readdir(join(dir, 'tokens'));
    assert.equal(files.length, 2);
    for (const f of files) await writeFile(join(dir, 'tokens', f), 'garbage');
    assert.deepEqual(await encodeCached(tok, text, dir), first);
    // an entry whose header is intact but whose ids are not (same length): changed ids, an id past
    // the vocabulary, a count of 0: each is tokenized again and the entry rewritten whole
    const one = join(dir, 'one');
    await encodeCached(tok, text, one);
    const [name] = await readdir(join(one, 'tokens'));
    const path = join(one, 'tokens', name as string);
    const good = await readFile(path);
    for (const damage of [
      (b: Buffer): Buffer => {
        for (let i = 0; i < 128; i++) b.writeInt32LE(7, 12 + 4 * i); // the first 128 ids, in range, changed: only the checksum sees it
        return b;
      },
      (b: Buffer): Buffer => (b.writeInt32LE(999999, 16), b),
      (b: Buffer): Buffer => (b.writeUInt32LE(0, 4), b.subarray(0, 12)),
    ]) {
      await writeFile(path, damage(Buffer.from(good)));
      assert.deepEqual(await encodeCached(tok, text, one), first);
      assert.ok((await readFile(path)).equals(good), 'the entry is rewritten whole');
    }
    // another tokenizer never reads this tokenizer's entry
    const other = await loadTokenizer(`${MODELS}/lowbit-ref-15m`);
    assert.notEqual(other.hash, tok.hash);
    assert.deepEqual([...(await encodeCached(other, text, dir))], [...other.encode(text)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
