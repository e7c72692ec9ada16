// Merges the decode/prefill results of bench/h200-decode.sh (one or more runs, copied into
// one folder) into <out>.json and a Markdown table: 16-bit and packed decode against the
// copy roofline, the profile of each recorded step (GPU vs host time, the costliest ops),
// `lowbit bench` prefill, and the gemv1 bandwidth sweep.
//
//   node bench/decode-collect.mjs <dir> --out <prefix>
// <dir>: decode-bf16.json (bench/webgpu-decode), decode-sweep*.json (bench/webgpu-decode over
// several tunings), packed-decode-*.json (bench/packed-decode), bench-7b-<format>.json (lowbit
// bench --json), gemv-sweep.json (bench/webgpu-gemm).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, note: { type: 'string', multiple: true } } });
const dir = positionals[0];
if (!dir || !values.out) throw new Error('usage: node bench/decode-collect.mjs <dir> --out <prefix>');
const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const files = readdirSync(dir).sort();
const f = (x, d = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
const pct = (x) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);
const md = ['# Decode and prefill on the H200 (WebGPU)', ''];
const result = { decode: [], sweep: [], packed: [], prefill: [], gemv: [] };

const bf16 = files.includes('decode-bf16.json') ? read('decode-bf16.json') : null;
const bf16Tps = bf16?.rows?.[0]?.tokens_per_s ?? null;
md.push('## Decode, Llama-2-7B shape, batch 1', '');
md.push('Roofline = copy GB/s measured in the same process ÷ bytes read per token (matmul weights as stored, KV rows, one embedding row).', '');
md.push('| weights | commit | position | tok/s (greedy on device) | tok/s (first greedy run) | tok/s (logits read per step) | roofline tok/s | fraction of roofline | vs bf16 | step GPU ms | step host ms | dispatches | replayed step ms |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const stepCols = (p) => (p ? `${f(p.gpu_ms, 2)} | ${f(p.host_ms, 2)} | ${p.dispatches}` : '– | – | –');
const streamCol = (r) => f(r.stream?.ms_per_step, 2);
// decode-bf16.json first (the "vs bf16" base), then any other decode-bf16-*.json runs
const bf16Runs = [bf16, ...files.filter((x) => x.startsWith('decode-bf16-')).map(read)].filter((d) => d);
for (const d of bf16Runs) for (const r of d.rows) {
  result.decode.push({ weights: 'bf16', commit: d.commit, ...r });
  md.push(`| bf16 | ${d.commit} | ${r.pos} | ${f(r.tokens_per_s)} | ${r.tokens_per_s_first_run ? f(r.tokens_per_s_first_run) : '–'} | ${f(r.tokens_per_s_with_read)} | ${f(r.roofline_tokens_per_s)} | ${pct(r.fraction_of_roofline)} | ${bf16Tps ? `${f(r.tokens_per_s / bf16Tps, 2)}×` : '–'} | ${stepCols(r.profile)} | ${streamCol(r)} |`);
}
for (const file of files.filter((x) => x.startsWith('packed-decode'))) {
  const d = read(file);
  for (const r of d.rows) {
    // qgemv1's tiling: per row where the run measured several (SpQR too), else the run's for int formats
    const t = r.int1 ?? (r.format.startsWith('int') ? d.qgemv?.int1 : undefined);
    // int2/4/8 run qgemv1_ilv where the run has its tiling (from 2026-12-02; per row when one run measured several), else qgemv1
    const il = r.ilv1 ?? d.qgemv?.ilv1;
    const ilv = il && ['int2', 'int4', 'int8'].includes(r.format);
    const tiles = ilv ? ` (qgemv1_ilv ${il.R}×${il.TPR}×${il.RG}×${il.UN})` : t ? ` (qgemv1 ${t.R}×${t.TPR}×${t.RG}×${t.CU ?? 1})` : '';
    result.packed.push({ file, commit: d.commit, qgemv: d.qgemv, tiles, ...r });
    md.push(`| ${r.format}${tiles} | ${d.commit} | ${r.pos} | ${f(r.tokens_per_s)} | ${f(r.tokens_per_s_first_run)} | ${f(r.tokens_per_s_with_read)} | ${f(r.roofline_tokens_per_s)} | ${pct(r.fraction_of_roofline)} | ${bf16Tps ? `${f(r.tokens_per_s / bf16Tps, 2)}×` : '–'} | ${stepCols(r.profile)} | ${streamCol(r)} |`);
  }
}
md.push('', '"vs bf16" divides by the bf16 row at position 128 of decode-bf16.json (its own run; packed rows of another commit are a different run). Rows time greedy decode twice and report the second run (runs before 279052a timed bf16 rows once): the first, right after uploading the weights from the host, read up to 1.6× slower in packed-decode. "replayed step ms": the recorded step (forward + argmax from 279052a, forward alone before) replayed 64 times, one submit each, then one sync.', '');

const sweeps = files.filter((x) => x.startsWith('decode-sweep'));
if (sweeps.length > 0) {
  md.push('## 16-bit decode by tuning (position 128, each row its own backend and weights, in run order)', '');
  md.push('gemv1 = RW×TPR×UNROLL×RT (thread groups per workgroup, threads per group, loads in flight, rows per group); fuse = fuseInputMaxBytes (inf: RMSNorm folded into the GEMV; 0: its own kernel first); min threads = gemv1MinThreads (TPR doubled while rows leave fewer threads); one-pass = onePassMaxKeys (decode attention in one dispatch up to that many cache rows; 0: split-K + combine).', '');
  md.push('| file | commit | gemv1 | fuse | min threads | one-pass | tok/s (greedy on device) | tok/s (logits read per step) | roofline tok/s | fraction of roofline | step GPU ms | step host ms | dispatches |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const file of sweeps) {
    const d = read(file);
    for (const r of d.rows) {
      const t = r.tuning ?? {};
      const g = t.gemv ?? {};
      result.sweep.push({ file, commit: d.commit, ...r });
      md.push(`| ${file} | ${d.commit} | ${g.RW}×${g.TPR}×${g.UNROLL}×${g.RT ?? 1} | ${t.fuseInputMaxBytes ?? 'inf'} | ${t.gemv1MinThreads ?? '–'} | ${t.onePassMaxKeys ?? '–'} | ${f(r.tokens_per_s)} | ${f(r.tokens_per_s_with_read)} | ${f(r.roofline_tokens_per_s)} | ${pct(r.fraction_of_roofline)} | ${stepCols(r.profile)} |`);
    }
    if (d.note) md.push(`| | ${d.commit}: ${d.note} | | | | | | | | | | | |`);
  }
  md.push('');
}

md.push('## Where a decode step goes (per op, summed over the layers)', '', '"alone": each dispatch in its own pass (a pass costs ~8 µs on the H200 even for a trivial kernel); "in sequence" (from 2026-12-02): the op\'s dispatches of every layer back to back in one pass, barriers between them as in the step, so the sum over ops is close to the step.', '');
const best = [...result.sweep].sort((a, b) => b.tokens_per_s - a.tokens_per_s)[0];
const profiles = [...bf16Runs.flatMap((d) => d.rows.map((r) => ['bf16', d.commit, r])), ...(best ? [[`bf16, fastest tuning (${best.file})`, best.commit, best]] : []), ...result.packed.map((r) => [`${r.format}${r.tiles} (${r.file})`, r.commit, r])].filter(([, , r]) => r.profile);
for (const [name, commit, r] of profiles) {
  md.push(`- **${name}**, ${commit}, position ${r.pos}: step ${f(r.profile.gpu_ms, 2)} ms GPU, ${f(r.profile.host_ms, 2)} ms host; ` + r.profile.ops.slice(0, 6).map((o) => `${o.what} ×${o.count}: ${o.seq_us !== undefined ? `${f(o.seq_us / 1e3, 3)} ms in sequence, ` : ''}${f(o.gpu_us / 1e3, 3)} ms alone`).join('; '));
}
md.push('');

md.push('## Per-projection GEMV bandwidth in the packed models (layer 0, one matmul at a time)', '');
md.push('| weights | commit | kernel | M × K | µs | GB/s | fraction of copy |', '|---|---|---|---|---|---|---|');
for (const r of result.packed) {
  for (const k of r.kernels ?? []) md.push(`| ${r.format}${r.tiles} (${r.file}) | ${r.commit} | ${k.kernel} | ${k.M} × ${k.K} | ${f(k.us)} | ${f(k.gbps, 0)} | ${pct(k.fraction_of_copy)} |`);
}
md.push('');

md.push('## Prefill (`lowbit bench`, 512-token prompt, then 128 tokens)', '');
md.push('`lowbit bench` prints no commit: its runs carry the commit of the decode-bf16.json run beside them. Roofline = its own copy measurement (taken before loading the model) ÷ bytes per token at the mean decode position.', '');
md.push('| model | commit | prefill tok/s | decode tok/s (greedy) | decode tok/s (sampling) | copy GB/s | fraction of roofline (greedy) | weights MiB | KV MiB | vs bf16 memory |', '|---|---|---|---|---|---|---|---|---|---|');
for (const file of files.filter((x) => x.startsWith('bench-7b-'))) {
  const b = read(file);
  const commit = b.commit ?? bf16?.commit ?? '–';
  result.prefill.push({ file, commit, ...b });
  md.push(`| ${b.model} | ${commit} | ${f(b.prefill_tokens_per_s)} | ${f(b.decode_tokens_per_s)} | ${f(b.decode_tokens_per_s_sampling)} | ${f(b.copy_gbps, 0)} | ${pct(b.fraction_of_roofline)} | ${f(b.memory.weight_bytes / 2 ** 20, 0)} | ${f(b.memory.kv_cache_bytes / 2 ** 20, 0)} | ${f(b.memory.ratio_vs_bf16, 3)} |`);
}
md.push('');

if (files.includes('gemv-sweep.json')) {
  const g = read('gemv-sweep.json');
  md.push(`## gemv1 (bf16, T = 1) vs copy, one kernel repeated, ${g.commit}`, '', 'input: plain, RMSNorm folded in (norm) or SwiGLU of a [1, 2K] gate|up folded in (gated); RW×TPR×UNROLL×RT as set (TPR may be doubled per gemv1MinThreads).', '', '| K | M | input | RW×TPR×UNROLL×RT | GB/s | copy GB/s | fraction |', '|---|---|---|---|---|---|---|');
  for (const r of g.rows.filter((x) => x.op === 'gemv')) {
    result.gemv.push(r);
    md.push(`| ${r.K} | ${r.M} | ${r.input ?? 'plain'} | ${r.RW}×${r.TPR}×${r.UNROLL}×${r.RT ?? 1} | ${f(r.gbps)} | ${f(r.copy_gbps)} | ${pct(r.fraction_of_copy)} |`);
  }
  md.push('');
}
for (const n of values.note ?? []) md.push(`- ${n}`);
const device = bf16?.device ?? 'unknown';
const dates = [...new Set(files.filter((x) => x.endsWith('.json')).map((x) => read(x).date?.slice(0, 10)).filter((d) => d))].sort();
md.splice(1, 0, `Device: ${device}; runs of ${dates.length > 0 ? dates.join(', ') : 'unknown date'}; the commit of each run is in every row.`, '');
writeFileSync(`${values.out}.json`, `${JSON.stringify({ device, ...result }, null, 1)}\n`);
writeFileSync(`${values.out}.md`, `${md.join('\n')}\n`);
process.stdout.write(md.join('\n') + '\n');
