/**
 * `lowbit bench <model>`: prefill/decode tokens per second, bytes read per
 * token, achieved GB/s and the fraction of the copy-kernel roofline measured in
 * the same run, and weight/KV memory vs bf16 (runtime/bench.ts). The model is a
 * .lowbit file or directory, or `random:<shape>:<format>` (runtime/random-model.ts:
 * shapes llama2-7b, llama3-8b; formats int4 int3 int2 int8 spqr bf16), built in
 * memory with random weights; --dim/--layers/… shrink it for quick checks.
 */
import type { Command } from 'commander';
import { InputError } from '../../io/errors.js';
import { createModel } from '../../model/llama.js';
import type { KvCacheDType } from '../../model/llama.js';
import type { WeightMode } from '../../model/weights.js';
import { benchModel, copyBandwidth } from '../../runtime/bench.js';
import { openModelDir, uploadModel } from '../../runtime/load.js';
import { checkPositions } from '../../runtime/options.js';
import { checkOpened } from '../../runtime/upload.js';
import type { LlamaConfig } from '../../model/config.js';
import { RANDOM_FORMATS, RANDOM_SHAPES, randomConfig, uploadRandomModel, type RandomShape } from '../../runtime/random-model.js';
import { dawnFlags } from '../../backend/webgpu/node.js';
import { KV_CACHE_HELP, openBackend, parseBackendKind, parseKvCache, parseWeightMode, weightLine, type BackendKind } from '../backend.js';
import { intOption } from '../options.js';
import { LOWBIT_VERSION } from '../../version.gen.js';

interface BenchCliOptions {
  promptTokens: number;
  genTokens: number;
  decodeRuns: number;
  backend: BackendKind;
  weights: WeightMode;
  kvCache: KvCacheDType;
  json?: boolean;
  dim?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  ffn?: number;
  vocab?: number;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('prefill and decode speed, bytes per token, GB/s vs a copy-kernel roofline, memory vs bf16')
    .argument('<model>', '.lowbit file, model directory, or random:<llama2-7b|llama3-8b>:<int4|int3|int2|int8|spqr|bf16>[:head] (head: lm_head in the format too, as quantize --quantize-head stores it)')
    .option('--prompt-tokens <n>', 'prefill length', intOption('--prompt-tokens', 1), 512)
    .option('--gen-tokens <n>', 'decoded tokens', intOption('--gen-tokens', 1), 128)
    .option('--decode-runs <n>', 'timed decodes of --gen-tokens each, greedy and sampled; the median is reported', intOption('--decode-runs', 1), 3)
    .option('--backend <kind>', 'auto | cpu | webgpu', parseBackendKind, 'auto' as BackendKind)
    .option('--weights <mode>', 'packed | dequant', parseWeightMode, 'packed' as WeightMode)
    .option('--kv-cache <type>', KV_CACHE_HELP, parseKvCache, 'f32' as KvCacheDType)
    .option('--dim <n>', 'random model: hidden size', intOption('--dim', 2))
    .option('--layers <n>', 'random model: layers', intOption('--layers', 1))
    .option('--heads <n>', 'random model: attention heads', intOption('--heads', 1))
    .option('--kv-heads <n>', 'random model: kv heads', intOption('--kv-heads', 1))
    .option('--ffn <n>', 'random model: intermediate size', intOption('--ffn', 1))
    .option('--vocab <n>', 'random model: vocabulary', intOption('--vocab', 2))
    .option('--json', 'print one JSON object on stdout')
    .action(async (model: string, o: BenchCliOptions) => runBench(model, o));
}

async function runBench(model: string, o: BenchCliOptions): Promise<void> {
  const randomFlags = { '--dim': o.dim, '--layers': o.layers, '--heads': o.heads, '--kv-heads': o.kvHeads, '--ffn': o.ffn, '--vocab': o.vocab };
  const given = Object.entries(randomFlags).find(([, v]) => v !== undefined);
  if (given && !model.startsWith('random:')) throw new InputError(given[0], `shapes random: models only; ${model} has its own config`);
  const positions = (config: LlamaConfig): void => checkPositions('--prompt-tokens', o.promptTokens + o.genTokens, config, `${o.promptTokens} prompt and ${o.genTokens} generated tokens: `);
  const { backend, reason } = await openBackend(o.backend);
  process.stderr.write(`backend: ${backend.name} (${reason})\n`);
  try {
    // the roofline's copy first, on an idle device: measured after uploading gigabytes of weights
    // it read 1.5 TB/s instead of 3.9 on the H200
    const copyGbps = await copyBandwidth(backend);
    const maxPositions = o.promptTokens + o.genTokens;
    let loaded;
    if (model.startsWith('random:')) {
      const [, shape, format, head, ...rest] = model.split(':');
      if (!shape || !(shape in RANDOM_SHAPES)) throw new InputError(model, `unknown random shape "${shape}" (${Object.keys(RANDOM_SHAPES).join(', ')})`);
      const base = RANDOM_FORMATS[format ?? ''];
      if (!base) throw new InputError(model, `unknown random format "${format}" (${Object.keys(RANDOM_FORMATS).join(', ')})`);
      if ((head !== undefined && head !== 'head') || rest.length > 0) throw new InputError(model, `unknown random model suffix "${[head, ...rest].join(':')}" (only "head": lm_head in the format too)`);
      const f = head === 'head' ? { ...base, head: true } : base;
      const over = { dim: o.dim, layers: o.layers, heads: o.heads, kvHeads: o.kvHeads, ffn: o.ffn, vocab: o.vocab };
      const config = randomConfig(shape as RandomShape, Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)));
      positions(config);
      const { stats, ...weights } = await uploadRandomModel(config, f, backend, o.weights);
      loaded = { model: createModel(config, backend, weights, maxPositions, o.kvCache), weightStats: stats };
    } else {
      const files = await openModelDir(model);
      await checkOpened(files, positions);
      loaded = await uploadModel(files, { backend, maxPositions, weights: o.weights, kvCache: o.kvCache });
    }
    process.stderr.write(`${weightLine(loaded.weightStats)}\n`);
    const r = await benchModel(loaded.model, loaded.weightStats, { promptTokens: o.promptTokens, genTokens: o.genTokens, decodeRuns: o.decodeRuns, copyGbps });
    if (o.json) {
      const dawn = backend.name === 'webgpu' ? { dawn_flags: dawnFlags() } : {};
      // where and when: results files carry the build ($LOWBIT_COMMIT when a script sets it, else the
      // commit scripts/bundle.mjs baked into a bundle) and the date
      const when = { lowbit: LOWBIT_VERSION, commit: process.env.LOWBIT_COMMIT ?? process.env.LOWBIT_BUILD_COMMIT ?? null, date: new Date().toISOString() };
      process.stdout.write(`${JSON.stringify({ model, ...when, weights: o.weights, ...dawn, ...r })}\n`);
      return;
    }
    const pct = r.fraction_of_roofline === null ? 'no roofline off WebGPU' : `${(100 * r.fraction_of_roofline).toFixed(1)} % of the ${r.copy_gbps?.toFixed(1)} GB/s copy roofline`;
    const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    process.stdout.write(
      [
        `prefill   ${r.prefill_tokens_per_s.toFixed(1)} tok/s (${r.prompt_tokens} tokens)`,
        `decode    ${r.decode_tokens_per_s.toFixed(1)} tok/s greedy (on the device), ${r.decode_tokens_per_s_sampling.toFixed(1)} tok/s sampling (on the device, temperature ${r.sampling.temperature}, top-k ${r.sampling.top_k}, top-p ${r.sampling.top_p})`,
        `          the step recorded once (${r.decode_record_ms.toFixed(1)} ms on the host with its pipelines' first compile; a generation pays it before its second token) and replayed`,
        `bytes     ${mib(r.bytes_per_token)} read per token (weights ${mib(r.weight_bytes_per_token)}, KV ${mib(r.kv_bytes_per_token)}): ${r.achieved_gbps.toFixed(1)} GB/s, ${pct}`,
        `memory    weights ${mib(r.memory.weight_bytes)} + KV cache ${mib(r.memory.kv_cache_bytes)} (${r.memory.kv_cache}) vs bf16 weights ${mib(r.memory.bf16_weight_bytes)} (${(100 * r.memory.ratio_vs_bf16).toFixed(1)} % of the bf16 model)`,
        '',
      ].join('\n'),
    );
  } finally {
    backend.dispose();
  }
}
