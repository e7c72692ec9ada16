/**
 * The model path on WebGPU with forced tiny bindings: lowbit-ref-15m's tied
 * bf16 embedding/lm_head (32000×256, 16 MB) split into 4 MiB chunks, so the
 * embedding lookup and the lm_head matmul run chunk by chunk inside a real
 * forward pass; perplexity equals the CPU backend's within 0.01 %.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { perplexity } from '../src/eval/perplexity.js';
import { loadModel } from '../src/runtime/load.js';
import { MODELS, relErr, WIKITEXT } from './helpers.js';
import { tryWebGpu } from './webgpu-helpers.js';

const CHUNK = 4 * 2 ** 20;
const { b: gpu, skip } = await tryWebGpu({ maxBindingBytes: CHUNK });

describe('webgpu model with chunked weights', { skip }, () => {
  test('lowbit-ref-15m, 4 MiB bindings (embedding and lm_head in chunks): ppl equals cpu within 0.01 %', async () => {
    const seqlen = 32;
    const b = gpu as NonNullable<typeof gpu>;
    const m = await loadModel(`${MODELS}/lowbit-ref-15m`, { backend: b, maxPositions: seqlen });
    const text = readFileSync(WIKITEXT, 'utf8').slice(0, 4000);
    const ids = m.tokenizer.encode(text);
    const embed = m.model.weights.embed as unknown as { chunks: unknown[] };
    assert.ok(embed.chunks.length >= 4, `embedding in ${embed.chunks.length} chunks`);
    const got = await perplexity(m.model, ids, { seqlen, windows: 3 });
    const cpu = await loadModel(`${MODELS}/lowbit-ref-15m`, { backend: new CpuBackend(), maxPositions: seqlen });
    const want = await perplexity(cpu.model, ids, { seqlen, windows: 3 });
    assert.ok(relErr(got.ppl, want.ppl) < 1e-4, `webgpu ${got.ppl} vs cpu ${want.ppl}`);
    b.dispose();
  });
});
