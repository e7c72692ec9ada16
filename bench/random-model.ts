/**
 * Writes a random Llama-2-7B- or Llama-3-8B-shaped model as a .lowbit file,
 * every projection in one format (runtime/random-model.ts: packed bytes made
 * directly with a seeded PRNG, no quantization; norms ones, embedding and
 * lm_head bf16, lm_head in the format with `--head 1`, as `quantize --quantize-head`
 * stores it), with the tokenizer of a model directory. For `lowbit bench`,
 * `eval`, `generate` and `inspect` on files of real size (or tiny ones in tests).
 *
 *   node <bundle>/bench/random-model.js --out m.lowbit [--shape llama2-7b] [--format int4] [--head 1]
 *        [--dim N --layers N --heads N --kv-heads N --ffn N --vocab N] [--tokenizer ../shared/data/models/lowbit-ref-15m] [--seed 1]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flags } from './lib/bench-common.js';
import { writeLowbit } from '../src/io/lowbit-file.js';
import { RANDOM_FORMATS, randomArchitecture, randomConfig, randomModelTensors, type RandomShape } from '../src/runtime/random-model.js';

const f = flags(['out', 'shape', 'format', 'head', 'dim', 'layers', 'heads', 'kv-heads', 'ffn', 'vocab', 'tokenizer', 'seed']);
if (!f.out) throw new Error('--out <file.lowbit> is required');
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const shape = (f.shape ?? 'llama2-7b') as RandomShape;
const over = Object.fromEntries(
  Object.entries({ dim: num(f.dim), layers: num(f.layers), heads: num(f.heads), kvHeads: num(f['kv-heads']), ffn: num(f.ffn), vocab: num(f.vocab) }).filter(([, v]) => v !== undefined),
);
const base = RANDOM_FORMATS[f.format ?? 'int4'];
if (!base) throw new Error(`unknown --format ${f.format} (${Object.keys(RANDOM_FORMATS).join(', ')})`);
const format = f.head === '1' ? { ...base, head: true } : base;
const tokDir = f.tokenizer ?? '../shared/data/models/lowbit-ref-15m';
const tokenizer = {
  'tokenizer.json': readFileSync(join(tokDir, 'tokenizer.json'), 'utf8'),
  'tokenizer_config.json': (() => {
    try {
      return readFileSync(join(tokDir, 'tokenizer_config.json'), 'utf8');
    } catch {
      return null;
    }
  })(),
};
const config = randomConfig(shape, over);
const t0 = performance.now();
const r = await writeLowbit(f.out, randomModelTensors(config, format, Number(f.seed ?? 1)), {
  architecture: randomArchitecture(shape, over),
  tokenizer,
  quantization: { method: 'random', config: { format: format.format, ...format.params }, calibration: null, quantize_head: format.head === true },
  metadata: { note: 'random weights (lowbit bench/random-model.ts)' },
});
process.stderr.write(`wrote ${r.path}: ${r.tensors} tensors, ${r.bytes} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
