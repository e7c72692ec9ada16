// Merges the benchmark JSONs of one run (gemm-webgpu.json, copy-webgpu.json,
// decode-webgpu.json, torch.json in <dir>) into <out>.json and <out>.md: device,
// date, commit, and both sides of every ratio (WebGPU vs torch GEMM at each
// size and dtype, WebGPU copy vs torch copy, decode vs its bandwidth roofline,
// GPTQ on WebGPU vs PyTorch GPTQ from gptq-webgpu.json and gptq-torch.json).
//
//   node bench/collect.mjs <dir> [--out bench/results/webgpu-h200]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) throw new Error('usage: node bench/collect.mjs <dir> [--out prefix]');
const outIdx = rest.indexOf('--out');
const out = outIdx >= 0 ? rest[outIdx + 1] : 'bench/results/webgpu-h200';
const load = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')) : null);
const gemm = load('gemm-webgpu.json');
const copy = load('copy-webgpu.json');
const decode = load('decode-webgpu.json');
const torch = load('torch.json');
const gptqW = load('gptq-webgpu.json');
const gptqT = load('gptq-torch.json');
const gptq30m = load('gptq-30m-webgpu.json');
const gptq30mHost = load('gptq-30m-host.json');
const packed = load('packed-decode.json');

const torchRow = (pred) => torch?.rows.find(pred) ?? null;
const gemvRows = (gemm?.rows ?? []).filter((r) => r.op === 'gemv');
const gemmRows = (gemm?.rows ?? []).filter((r) => r.op === 'gemm').map((r) => {
  const t = torchRow((x) => x.op === 'gemm' && x.N === r.N && x.dtype === r.dtype);
  return { N: r.N, dtype: r.dtype, tiles: r.tiles, webgpu_tflops: r.tflops ?? null, torch_tflops: t?.tflops ?? null, ratio: r.tflops && t ? r.tflops / t.tflops : null, webgpu_timing: r.timing, error: r.error };
});
const wcopy = copy?.rows?.[0] ?? null;
const tcopy = torchRow((x) => x.op === 'copy');
const result = {
  device: gemm?.device ?? copy?.device ?? decode?.device ?? null,
  torch_device: torch?.device ?? null,
  date: gemm?.date ?? copy?.date ?? decode?.date ?? null,
  commit: gemm?.commit ?? copy?.commit ?? decode?.commit ?? null,
  gemm: gemmRows,
  gemv: gemvRows.map((r) => ({ K: r.K, M: r.M, RW: r.RW, TPR: r.TPR, UNROLL: r.UNROLL ?? null, gbps: r.gbps ?? null, copy_gbps: r.copy_gbps ?? null, fraction_of_copy: r.fraction_of_copy ?? null, error: r.error })),
  copy: { webgpu_gbps: wcopy?.gbps ?? null, torch_gbps: tcopy?.gbps ?? null, ratio: wcopy && tcopy ? wcopy.gbps / tcopy.gbps : null, bytes: wcopy?.bytes ?? null },
  decode: (decode?.rows ?? []).map((r) => ({ pos: r.pos, tokens_per_s: r.tokens_per_s, tokens_per_s_with_read: r.tokens_per_s_with_read, roofline_tokens_per_s: r.roofline_tokens_per_s, fraction_of_roofline: r.fraction_of_roofline, weight_bytes: r.weight_bytes, kv_bytes: r.kv_bytes, copy_gbps: r.copy_gbps })),
  decode_config: decode?.config ?? null,
  gptq: gptqW || gptqT ? {
    config: gptqW?.config ?? gptqT?.config ?? null,
    webgpu: gptqW?.totals ?? null,
    torch: gptqT?.totals ?? null,
    ratio_total: gptqW && gptqT ? gptqW.totals.total / gptqT.totals.total : null,
    ref30m: gptq30m ? { seconds: gptq30m.seconds, gptq_engine: gptq30m.gptq_engine, calibration: gptq30m.calibration, avg_bits: gptq30m.avg_bits, host_engine_seconds: gptq30mHost?.seconds ?? null } : null,
    layers: (gptqW?.rows ?? []).filter((r) => r.layer).map((r) => {
      const t = (gptqT?.rows ?? []).find((x) => x.layer === r.layer && x.block === r.block);
      return { block: r.block, layer: r.layer, shape: r.shape, webgpu_s: r.gptq_s, torch_s: t?.gptq_s ?? null, webgpu_rel_error: r.rel_error, torch_rel_error: t?.rel_error ?? null };
    }),
  } : null,
  packed_decode: (packed?.rows ?? []).map((r) => ({ format: r.format, tokens_per_s: r.tokens_per_s, speedup_vs_bf16: packed.speedup_vs_bf16?.[r.format] ?? null, bytes_per_token: r.bytes_per_token, achieved_gbps: r.achieved_gbps, copy_gbps: r.copy_gbps, fraction_of_roofline: r.fraction_of_roofline, kernels: r.kernels })),
  sources: { gemm, copy, decode, torch, packed, gptq_webgpu: gptqW, gptq_torch: gptqT },
};
writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);

const f = (x, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '—');
const md = [
  `# WebGPU benchmarks`,
  '',
  `- device: ${result.device ?? '?'} (torch: ${result.torch_device ?? '?'})`,
  `- date: ${result.date ?? '?'}, commit: ${result.commit ?? '?'}`,
  '',
  '## GEMM (square N, f32 activations; torch fp32 with TF32 off, and bf16)',
  '',
  '| N | weights | tiles | WebGPU TFLOP/s | torch TFLOP/s | WebGPU / torch |',
  '|---|---|---|---|---|---|',
  ...gemmRows.map((r) => `| ${r.N} | ${r.dtype} | ${r.tiles ? `${r.tiles.BM}×${r.tiles.BN}×${r.tiles.BK}, ${r.tiles.TM}×${r.tiles.TN}` : ''} | ${r.error ? `error: ${r.error}` : f(r.webgpu_tflops)} | ${f(r.torch_tflops)} | ${f(r.ratio, 3)} |`),
  '',
  '## Decode GEMV (T = 1, bf16 weights): weight GB/s vs the copy kernel',
  '',
  '| K | M | RW×TPR | GEMV GB/s | copy GB/s | fraction |',
  '|---|---|---|---|---|---|',
  ...result.gemv.map((r) => `| ${r.K} | ${r.M} | ${r.RW}×${r.TPR}${r.UNROLL ? `×${r.UNROLL}` : ''} | ${r.error ? `error: ${r.error}` : f(r.gbps, 1)} | ${f(r.copy_gbps, 1)} | ${f(r.fraction_of_copy, 3)} |`),
  '',
  '## Copy bandwidth (2 × bytes per copy)',
  '',
  `| bytes | WebGPU GB/s | torch GB/s | ratio |`,
  '|---|---|---|---|',
  `| ${result.copy.bytes ?? '—'} | ${f(result.copy.webgpu_gbps, 1)} | ${f(result.copy.torch_gbps, 1)} | ${f(result.copy.ratio, 3)} |`,
  '',
  `## Decode, Llama-2-7B shape, random ${result.decode_config?.dtype ?? 'bf16'} weights, T = 1`,
  '',
  '| position | tok/s | tok/s with logits read | roofline tok/s (copy GB/s ÷ bytes/token) | fraction |',
  '|---|---|---|---|---|',
  ...result.decode.map((r) => `| ${r.pos} | ${f(r.tokens_per_s, 1)} | ${f(r.tokens_per_s_with_read, 1)} | ${f(r.roofline_tokens_per_s, 1)} | ${f(r.fraction_of_roofline, 3)} |`),
  '',
  ...(result.gptq ? [
    `## GPTQ, ${result.gptq.config?.blocks ?? '?'} Llama-2-7B-shaped random blocks, ${result.gptq.config?.tokens ?? '?'} calibration tokens, ${result.gptq.config?.bits ?? '?'}-bit g${result.gptq.config?.groupSize ?? '?'}`,
    '',
    '| phase | WebGPU s | torch s |',
    '|---|---|---|',
    `| Hessians | ${f(result.gptq.webgpu?.hessian)} | ${f(result.gptq.torch?.hessian)} |`,
    `| Cholesky / inverse (WebGPU once per group; torch per layer) | ${f(result.gptq.webgpu?.factor)} | ${f(result.gptq.torch?.factor)} |`,
    `| GPTQ layers (torch: incl. its factor) | ${f(result.gptq.webgpu?.gptq)} | ${f(result.gptq.torch?.gptq)} |`,
    `| total | ${f(result.gptq.webgpu?.total)} | ${f(result.gptq.torch?.total)} |`,
    '',
    ...(result.gptq.ref30m ? [`lowbit-ref-30m, whole pipeline (\`lowbit quantize --method gptq --backend webgpu\`, ${result.gptq.ref30m.calibration?.samples} × ${result.gptq.ref30m.calibration?.seqlen} tokens, engine ${result.gptq.ref30m.gptq_engine}): ${f(result.gptq.ref30m.seconds, 1)} s (host engine on the same backend: ${f(result.gptq.ref30m.host_engine_seconds, 1)} s)`, ''] : []),
    '| block | layer | shape | WebGPU s | torch s | WebGPU rel. error | torch rel. error |',
    '|---|---|---|---|---|---|---|',
    ...result.gptq.layers.map((r) => `| ${r.block} | ${r.layer} | ${r.shape.join('×')} | ${f(r.webgpu_s)} | ${f(r.torch_s)} | ${f(r.webgpu_rel_error, 5)} | ${f(r.torch_rel_error, 5)} |`),
    '',
  ] : []),
  `## Packed decode, ${packed?.shape ?? 'llama2-7b'} shape, random weights, T = 1 at position ${packed?.rows?.[0]?.pos ?? '?'} (targets: int4, spqr ≥ 0.70 of roofline; int4 ≥ 3× bf16)`,
  '',
  '| format | tok/s | × bf16 | MiB/token | GB/s | copy GB/s | fraction of roofline | per-kernel GB/s (q k v o gate up down lm_head) |',
  '|---|---|---|---|---|---|---|---|',
  ...result.packed_decode.map((r) => `| ${r.format} | ${f(r.tokens_per_s, 1)} | ${f(r.speedup_vs_bf16, 2)} | ${f(r.bytes_per_token / 2 ** 20, 0)} | ${f(r.achieved_gbps, 0)} | ${f(r.copy_gbps, 0)} | ${f(r.fraction_of_roofline, 3)} | ${(r.kernels ?? []).map((k) => f(k.gbps, 0)).join(' ')} |`),
  '',
].join('\n');
writeFileSync(`${out}.md`, md);
console.log(`wrote ${out}.json and ${out}.md`);
