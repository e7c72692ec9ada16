/**
 * What an f16 KV cache costs in quality: each model runs every window twice on the same
 * backend, with its KV cache in f32 (P) and in f16 (Q, the same weights), and reports both
 * perplexities and KL(P‖Q) with top-1 agreement (eval/perplexity.ts klDivergence; CONVENTIONS §4
 * windows). Writes JSON (--out) and a Markdown table (--md).
 *
 *   node dist/bench/kv-quality.js --models ../shared/data/models/lowbit-ref-15m[,…]
 *        --data wikitext.txt,valid.txt [--seqlen 512] [--windows N] [--backend cpu|webgpu|auto]
 *        [--out kv-quality.json] [--md kv-quality.md]
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { selectNodeBackend } from '../src/backend/node-select.js';
import type { BackendKind } from '../src/backend/select.js';
import { klDivergence } from '../src/eval/perplexity.js';
import { readTextFile } from '../src/eval/text.js';
import { encodeCached } from '../src/eval/token-cache.js';
import { freeModel } from '../src/model/llama.js';
import { openModelDir, uploadModel } from '../src/runtime/load.js';
import { commit, flags, list } from './lib/bench-common.js';

const f = flags(['models', 'data', 'seqlen', 'windows', 'backend', 'out', 'md']);
const models = list(f.models, '');
const texts = list(f.data, '');
if (models.length === 0 || texts.length === 0) throw new Error('--models and --data are required');
const seqlen = Number(f.seqlen ?? 512);
const windows = f.windows === undefined ? undefined : Number(f.windows);
const { backend: b } = await selectNodeBackend((f.backend ?? 'auto') as BackendKind);
const rows: Record<string, unknown>[] = [];
try {
  for (const dir of models) {
    const loaded = await uploadModel(await openModelDir(dir), { backend: b, maxPositions: seqlen, kvCache: 'f32' });
    const f16 = { ...loaded.model, kvCache: 'f16' as const }; // the same weights and tables
    for (const file of texts) {
      const ids = await encodeCached(loaded.tokenizer, (await readTextFile(file)).text);
      const t0 = performance.now();
      const r = await klDivergence(loaded.model, [f16], ids, { seqlen, ...(windows !== undefined && { windows }) });
      const q = r.compared[0]!;
      const row = {
        model: basename(dir),
        data: basename(file),
        seqlen,
        windows: r.base.windows,
        tokens: r.base.tokens,
        ppl_f32: r.base.ppl,
        ppl_f16: q.compared.ppl,
        ppl_rel_change: q.compared.ppl / r.base.ppl - 1,
        kl: q.kl,
        top1: q.top1,
        seconds: (performance.now() - t0) / 1000,
      };
      rows.push(row);
      process.stderr.write(`${row.model} ${row.data}: ppl ${row.ppl_f32.toFixed(4)} (f32 KV) → ${row.ppl_f16.toFixed(4)} (f16 KV), KL ${row.kl.toExponential(3)}, top-1 ${(100 * row.top1).toFixed(3)} %\n`);
    }
    freeModel(loaded.model);
  }
} finally {
  b.dispose();
}
const result = { bench: 'kv-quality', device: b.description, date: new Date().toISOString(), commit: commit(), node: process.version, rows };
const json = `${JSON.stringify(result, null, 2)}\n`;
if (f.out) writeFileSync(f.out, json);
process.stdout.write(json);
if (f.md) {
  const fmt = (x: unknown, d: number): string => (typeof x === 'number' ? x.toFixed(d) : String(x));
  const md = [
    `# KV cache f16 vs f32: quality (${result.device}, ${result.date.slice(0, 10)}, ${result.commit})`,
    '',
    'Each window runs with the KV cache in f32 (P) and in f16 (Q) on the same weights and backend; KL(P‖Q) in nats per predicted token.',
    '',
    '| model | data | seqlen × windows | ppl (f32 KV) | ppl (f16 KV) | change | KL | top-1 agreement |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.data} | ${r.seqlen} × ${r.windows} | ${fmt(r.ppl_f32, 4)} | ${fmt(r.ppl_f16, 4)} | ${((r.ppl_rel_change as number) * 100).toFixed(4)} % | ${(r.kl as number).toExponential(2)} | ${((r.top1 as number) * 100).toFixed(3)} % |`),
    '',
  ].join('\n');
  writeFileSync(f.md, md);
}
