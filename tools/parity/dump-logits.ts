/**
 * Dumps lowbit's logits for the first windows of a text, for comparison with
 * HF transformers (tools/parity/hf_parity.py reads the files):
 *   <out>.ids.bin     i32 [W·T]      the token ids of the windows
 *   <out>.logits.bin  f32 [W·T, V]   logits of every position
 *   <out>.json        {model, data, seqlen, windows, vocab, backend, ppl}
 *
 *   node dist/tools/parity/dump-logits.js <model> <data.txt> <out> [--seqlen 512] [--windows 2] [--backend cpu|webgpu]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { perplexity } from '../../src/eval/perplexity.js';
import { readTextFile } from '../../src/eval/text.js';
import { encodeCached } from '../../src/eval/token-cache.js';
import { createKvCache, createRunState, forward } from '../../src/model/llama.js';
import { loadModel } from '../../src/runtime/load.js';
import { tensor } from '../../src/tensor/tensor.js';
import { openBackend, parseBackendKind } from '../../src/cli/backend.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { seqlen: { type: 'string', default: '512' }, windows: { type: 'string', default: '2' }, backend: { type: 'string', default: 'cpu' } },
});
const [modelDir, dataFile, out] = positionals;
if (!modelDir || !dataFile || !out) throw new Error('usage: dump-logits <model> <data> <out> [--seqlen N] [--windows W] [--backend cpu|webgpu]');
const T = Number(values.seqlen);
const W = Number(values.windows);
const { backend } = await openBackend(parseBackendKind(values.backend));
const m = await loadModel(modelDir, { backend, maxPositions: T });
const ids = (await encodeCached(m.tokenizer, (await readTextFile(dataFile)).text)).slice(0, W * T);
const V = m.config.vocabSize;
const logits = new Float32Array(W * T * V);
const state = createRunState(m.model, T, true);
const kv = createKvCache(m.model, T);
for (let w = 0; w < W; w++) {
  backend.write(state.ids, tensor('i32', [T], ids.subarray(w * T, (w + 1) * T)));
  forward(m.model, state, kv, 0);
  logits.set((await backend.read(state.logits)).data as Float32Array, w * T * V);
}
const ppl = await perplexity(m.model, ids, { seqlen: T, windows: W });
await writeFile(`${out}.ids.bin`, new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
await writeFile(`${out}.logits.bin`, new Uint8Array(logits.buffer));
await writeFile(`${out}.json`, JSON.stringify({ model: modelDir, data: dataFile, seqlen: T, windows: W, vocab: V, backend: backend.description, ppl: ppl.ppl }));
backend.dispose();
console.log(`dumped ${W} × ${T} positions of ${modelDir} (${backend.description}), ppl ${ppl.ppl}`);
