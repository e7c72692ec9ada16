import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../src/io/errors.js';
import { parseLlama2c, permuteRope } from '../src/io/llama2c.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson, parseLlama2cTokenizer, type Llama2cVocab } from '../src/io/llama2c-tokenizer.js';
import { DATA } from './helpers.js';

const V1 = new Uint8Array(readFileSync(`${DATA}/stories260K/stories260K_v1.bin`));
const TOK = new Uint8Array(readFileSync(`${DATA}/stories260K/tok512.bin`));

/** Rewrites a version-1 checkpoint in the legacy (header-less, run.c) layout. */
function toLegacy(v1: Uint8Array): Uint8Array {
  const dv = new DataView(v1.buffer, v1.byteOffset);
  const [dim, hidden, L, nh, nkv, vocab, seq] = Array.from({ length: 7 }, (_, i) => dv.getInt32(8 + 4 * i, true)) as number[] as [number, number, number, number, number, number, number];
  const hd = dim / nh;
  const kv = nkv * hd;
  const f = new Float32Array(v1.buffer.slice(v1.byteOffset + 256));
  let p = 0;
  const take = (n: number): Float32Array => f.subarray(p, (p += n));
  const t = {
    rmsAtt: take(L * dim), rmsFfn: take(L * dim), rmsFinal: take(dim), emb: take(vocab * dim),
    wq: take(L * dim * dim), wk: take(L * kv * dim), wv: take(L * kv * dim), wo: take(L * dim * dim),
    w1: take(L * hidden * dim), w2: take(L * dim * hidden), w3: take(L * hidden * dim),
  };
  const freq = new Float32Array(2 * seq * (hd / 2)).fill(0.5); // ignored by the reader
  const parts = [t.emb, t.rmsAtt, t.wq, t.wk, t.wv, t.wo, t.rmsFfn, t.w1, t.w2, t.w3, t.rmsFinal, freq];
  const header = Int32Array.of(dim, hidden, L, nh, nkv, vocab, seq); // vocab > 0: shared classifier
  const out = new Uint8Array(28 + parts.reduce((a, x) => a + x.byteLength, 0));
  out.set(new Uint8Array(header.buffer), 0);
  let o = 28;
  for (const x of parts) {
    out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), o);
    o += x.byteLength;
  }
  return out;
}

test('stories260K v1 header and HF config', () => {
  const m = parseLlama2c(V1, 'v1.bin');
  assert.deepEqual(m.header, { format: 'v1', dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512, sharedClassifier: true });
  assert.equal(m.config['intermediate_size'], 172);
  assert.equal(m.config['tie_word_embeddings'], true);
  assert.equal(m.tensors.length, 2 + 9 * 5);
  assert.equal(m.tensors.reduce((a, [, t]) => a + t.data.length, 0), 260032);
});

test('the legacy layout converts to exactly the same tensors as version 1', () => {
  const a = parseLlama2c(V1, 'v1.bin');
  const b = parseLlama2c(toLegacy(V1), 'legacy.bin');
  assert.equal(b.header.format, 'legacy');
  assert.deepEqual(b.config, a.config);
  assert.deepEqual(b.tensors.map(([n]) => n).sort(), a.tensors.map(([n]) => n).sort());
  const byName = new Map(b.tensors);
  for (const [name, t] of a.tensors) assert.deepEqual(byName.get(name)?.data, t.data, name);
});

test('RoPE permutation maps interleaved pair (2i, 2i+1) to half-split rows (i, i + hd/2)', () => {
  // one head of hd = 4 with 1 column: rows [a0, b0, a1, b1] → [a0, a1, b0, b1]
  assert.deepEqual([...permuteRope(Float32Array.of(10, 11, 20, 21), 1, 4, 1)], [10, 20, 11, 21]);
  // two heads, two columns
  const w = Float32Array.from({ length: 16 }, (_, i) => i);
  assert.deepEqual([...permuteRope(w, 2, 4, 2)], [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
});

test('truncated and inconsistent checkpoints are InputErrors naming the file', () => {
  assert.throws(() => parseLlama2c(V1.subarray(0, 1000), 'cut.bin'), (e: unknown) => e instanceof InputError && /cut\.bin: truncated: rms_att needs bytes 256…1536/.test(e.message));
  const extra = new Uint8Array(V1.length + 8);
  extra.set(V1);
  assert.throws(() => parseLlama2c(extra, 'x.bin'), /8 bytes left after the last tensor/);
  const v2 = V1.slice();
  new DataView(v2.buffer).setInt32(4, 2, true);
  assert.throws(() => parseLlama2c(v2, 'q8.bin'), /version 2 is not supported/);
  assert.throws(() => parseLlama2c(new Uint8Array(10), 'tiny.bin'), /too short/);
});

/** llama2.c's encoder (run.c `encode`): merge the adjacent pair with the best-scoring concatenation. */
function llama2cEncode(v: Llama2cVocab, text: string): number[] {
  const index = new Map(v.pieces.map((p, i) => [p, i] as const));
  const ids: number[] = [1];
  for (const ch of [...('▁' + text.replaceAll(' ', '▁'))]) {
    const id = index.get(ch);
    if (id !== undefined) ids.push(id);
    else for (const byte of new TextEncoder().encode(ch)) ids.push(byte + 3);
  }
  for (;;) {
    let best = -1e10;
    let at = -1;
    let bestId = -1;
    for (let i = 1; i < ids.length - 1; i++) {
      const id = index.get((v.pieces[ids[i] as number] as string) + (v.pieces[ids[i + 1] as number] as string));
      if (id !== undefined && (v.scores[id] as number) > best) {
        best = v.scores[id] as number;
        at = i;
        bestId = id;
      }
    }
    if (at < 0) return ids;
    ids.splice(at, 2, bestId);
  }
}

test('the converted tokenizer.json encodes like llama2.c and decodes the byte fallback', () => {
  const vocab = parseLlama2cTokenizer(TOK, 'tok512.bin', 512);
  assert.equal(vocab.pieces[1], '<s>');
  assert.equal(vocab.pieces[3], '<0x00>');
  const tok = new Tokenizer(llama2cTokenizerJson(vocab), llama2cTokenizerConfig);
  for (const text of ['Once upon a time, there was a little girl named Lily.', 'She said, "I want to play!"', 'Tim and   Sue ran—fast. ü']) {
    const ids = tok.encode(text).ids;
    assert.deepEqual(ids, llama2cEncode(vocab, text), text);
    assert.equal(tok.decode(ids, { skip_special_tokens: true }), text);
  }
  assert.throws(() => parseLlama2cTokenizer(TOK.subarray(0, 3000), 'cut.bin', 512), /cut\.bin: truncated at token/);
  assert.throws(() => parseLlama2cTokenizer(TOK, 'tok.bin', 500), /tok\.bin: holds \d+ bytes after 500 tokens/);
});

test('the Llama-2 vocabulary (32000 pieces, "toString" and "constructor" among them) converts and encodes like llama2.c', () => {
  const buf = new Uint8Array(readFileSync(`${DATA}/llama2-tokenizer/tokenizer.bin`));
  const vocab = parseLlama2cTokenizer(buf, 'tokenizer.bin', 32000);
  for (const p of ['toString', 'valueOf', 'constructor']) assert.ok(vocab.pieces.includes(p), p);
  const json = llama2cTokenizerJson(vocab);
  const model = json['model'] as { vocab: Record<string, number> };
  assert.equal(Object.keys(model.vocab).length, new Set(vocab.pieces).size);
  for (const p of ['toString', 'valueOf', 'constructor']) assert.equal(model.vocab[p], vocab.pieces.indexOf(p), p);
  const tok = new Tokenizer(json, llama2cTokenizerConfig);
  for (const text of ['x.toString() and y.valueOf() in the constructor', 'Once upon a time, there was a little girl named Lily.']) {
    const ids = tok.encode(text).ids;
    assert.deepEqual(ids, llama2cEncode(vocab, text), text);
    assert.equal(tok.decode(ids, { skip_special_tokens: true }), text);
  }
});
