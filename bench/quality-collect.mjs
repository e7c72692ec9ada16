// Merges the outputs of bench/quality.sh (q-<model>-<id>.json from quantize,
// e-<model>-<id>-{wiki,valid}.json from eval --compare) into one JSON and a
// Markdown table per model.
//
//   node bench/quality-collect.mjs <dir> --out <prefix> [--device "NVIDIA H200"] [--commit abc] [--merge old.json]
//
// --merge takes a text's results (wiki or valid) that this run did not evaluate from an earlier
// table, row by row, only where the row's quantization reproduced: same avg bits and mean layer
// error within 1e-4 relative (the earlier row's commit is kept beside the numbers).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, device: { type: 'string' }, commit: { type: 'string' }, merge: { type: 'string' } } });
const old = values.merge ? JSON.parse(readFileSync(values.merge, 'utf8')) : null;
const dir = positionals[0];
if (!dir || !values.out) throw new Error('usage: node bench/quality-collect.mjs <dir> --out <prefix>');
const read = (f) => {
  try {
    return JSON.parse(readFileSync(join(dir, f), 'utf8'));
  } catch {
    return null;
  }
};
const files = readdirSync(dir);
const models = [...new Set(files.filter((f) => f.startsWith('q-') && f.endsWith('.json')).map((f) => f.slice(2).replace(/-(rtn|gptq|spqr)-.*$/, '')))].sort();
const result = { date: new Date().toISOString().slice(0, 10), device: values.device ?? 'unknown', commit: values.commit ?? 'unknown', models: {} };
const md = [];
for (const model of models) {
  const ids = files.filter((f) => f.startsWith(`q-${model}-`) && f.endsWith('.json')).map((f) => f.slice(`q-${model}-`.length, -5));
  const rows = [];
  let base;
  for (const id of ids) {
    const q = read(`q-${model}-${id}.json`);
    const w = read(`e-${model}-${id}-wiki.json`);
    const v = read(`e-${model}-${id}-valid.json`);
    if (!q) continue;
    if (w) base = { ...base, wiki: base?.wiki ?? { ppl: w.ppl, windows: w.windows, seqlen: w.seqlen }, backend: w.device };
    if (v) base = { ...base, valid: base?.valid ?? { ppl: v.ppl, windows: v.windows, seqlen: v.seqlen } };
    rows.push({
      id,
      method: q.method,
      config: q.config,
      avg_bits: q.avg_bits,
      outlier_fraction: q.outlier_fraction,
      quantize_seconds: q.seconds,
      calibration: q.calibration,
      mean_rel_error: q.layers.reduce((s, l) => s + (l.rel_error ?? 0), 0) / q.layers.length,
      wiki: w && { ppl: w.compare_ppl, kl: w.kl, top1: w.top1, base_ppl: w.ppl, windows: w.windows },
      valid: v && { ppl: v.compare_ppl, kl: v.kl, top1: v.top1, base_ppl: v.ppl, windows: v.windows },
    });
  }
  const order = (r) => [r.avg_bits > 3.5 ? 0 : 1, r.method === 'rtn' ? 0 : r.method === 'gptq' ? 1 : 2, r.id];
  rows.sort((a, b) => { const [x, y] = [order(a), order(b)]; return x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : 1); });
  const prev = old?.models?.[model];
  if (prev) {
    for (const text of ['wiki', 'valid']) {
      if (!base?.[text] && prev.base?.[text]) base = { ...base, [text]: { ...prev.base[text], commit: old.commit } };
    }
    for (const r of rows) {
      const p = prev.rows.find((x) => x.id === r.id);
      for (const text of ['wiki', 'valid']) {
        if (r[text] || !p?.[text]) continue;
        const drift = Math.abs(p.mean_rel_error - r.mean_rel_error) / r.mean_rel_error;
        if (p.avg_bits !== r.avg_bits || !(drift <= 1e-4)) {
          console.error(`${model} ${r.id}: not merging ${text} from ${values.merge}: avg bits ${p.avg_bits} vs ${r.avg_bits}, layer error drift ${drift.toExponential(2)}`);
          continue;
        }
        r[text] = { ...p[text], commit: old.commit, layer_error_drift: drift };
      }
    }
  }
  result.models[model] = { base, rows };
  const f = (x, d = 2) => (x === null || x === undefined ? '–' : x.toFixed(d));
  md.push(`## ${model}`, '');
  if (base) {
    const part = (name, b) => (b ? `${name} ppl ${f(b.ppl, 3)} (${b.windows} × ${b.seqlen} windows)` : `${name}: not measured`);
    md.push(`Unquantized (as stored, bf16): ${part('WikiText-2', base.wiki)}, ${part('corpus/valid.txt', base.valid)}; backend ${base.backend}.`, '');
    const merged = ['wiki', 'valid'].flatMap((t) => rows.filter((r) => r[t]?.commit).map((r) => `${r.id} ${t === 'wiki' ? 'WikiText-2' : 'valid.txt'} (${r[t].commit})`));
    if (merged.length) md.push(`From the earlier table (same quantized model: equal avg bits, mean layer error within 1e-4 relative; commit in brackets): ${merged.join(', ')}.`, '');
  }
  md.push('| config | avg bits | WikiText-2 ppl | KL (nats/tok) | top-1 | valid.txt ppl | KL (nats/tok) | top-1 | mean layer rel. error | outliers | quantize s |', '|---|---|---|---|---|---|---|---|---|---|---|');
  if (base) md.push(`| bf16 (unquantized) | 16 | ${f(base.wiki?.ppl)} | 0 | 1 | ${f(base.valid?.ppl)} | 0 | 1 | – | – | – |`);
  for (const r of rows) {
    md.push(`| ${r.id} | ${f(r.avg_bits, 3)} | ${f(r.wiki?.ppl)} | ${f(r.wiki?.kl, 4)} | ${f(r.wiki?.top1, 3)} | ${f(r.valid?.ppl)} | ${f(r.valid?.kl, 4)} | ${f(r.valid?.top1, 3)} | ${r.mean_rel_error.toExponential(2)} | ${r.outlier_fraction ? `${(100 * r.outlier_fraction).toFixed(2)} %` : '–'} | ${f(r.quantize_seconds, 1)} |`);
  }
  md.push('');
}
const cal = Object.values(result.models)[0]?.rows[0]?.calibration;
const head = [
  '# Quantization quality: perplexity and KL vs the unquantized model',
  '',
  `${result.date}, commit ${result.commit}, ${result.device}.`,
  cal ? `Calibration: ${cal.samples} × ${cal.seqlen} tokens from ${cal.file} (seed ${cal.seed}). ` : '',
  'Perplexity: GPTQ convention (BOS once, non-overlapping windows) at seqlen 512; the windows evaluated are given per model (the count beside each text). KL(original ‖ quantized) of next-token distributions and top-1 agreement on the same windows. Config ids: method, w<bits>, g<group>|pc (per channel), ao (act-order); spqr-w<b>-b<β1>-q<β2>-t<τ> (3-bit statistics).',
  '',
];
writeFileSync(`${values.out}.json`, JSON.stringify(result, null, 1) + '\n');
writeFileSync(`${values.out}.md`, [...head, ...md].join('\n'));
console.log([...head, ...md].join('\n'));
