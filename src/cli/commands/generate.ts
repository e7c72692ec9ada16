/** `lowbit generate [model] --prompt …`: streams sampled tokens to stdout. */
import type { Command } from 'commander';
import { InputError } from '../../io/errors.js';
import { generate } from '../../runtime/generate.js';
import { openModelDir, uploadModel } from '../../runtime/load.js';
import { checkOpened } from '../../runtime/upload.js';
import { checkPositions, MAX_SEED } from '../../runtime/options.js';
import { TextStream } from '../../runtime/text-stream.js';
import { KV_CACHE_HELP, openBackend, parseBackendKind, parseKvCache, parseWeightMode, weightLine, type BackendKind } from '../backend.js';
import type { KvCacheDType } from '../../model/llama.js';
import type { WeightMode } from '../../model/weights.js';
import { intOption, numberOption } from '../options.js';
import { defaultModelDir } from '../paths.js';

interface GenerateCliOptions {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  backend: BackendKind;
  weights: WeightMode;
  kvCache: KvCacheDType;
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text after a prompt, streaming it as tokens come back (the device picks 8 at a time before the host reads them)')
    .argument('[model]', 'model directory or .lowbit file (default: the embedded lowbit-demo model)')
    .requiredOption('--prompt <text>', "prompt text ('' starts from BOS alone)")
    .option('--max-tokens <n>', 'tokens to generate', intOption('--max-tokens', 0), 64)
    .option('--temperature <t>', '0 = greedy', numberOption('--temperature', (n) => n >= 0, 'a number ≥ 0'), 0)
    .option('--top-p <p>', 'nucleus mass', numberOption('--top-p', (n) => n > 0 && n <= 1, 'a number in (0, 1]'), 1)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = all)', intOption('--top-k', 0), 0)
    .option('--seed <n>', `sampling seed (0 … ${MAX_SEED})`, intOption('--seed', 0, MAX_SEED), 0)
    .option('--backend <kind>', 'auto | cpu | webgpu', parseBackendKind, 'auto' as BackendKind)
    .option('--weights <mode>', 'quantized .lowbit weights: packed (run the packed kernels) | dequant (f32 at load)', parseWeightMode, 'packed' as WeightMode)
    .option('--kv-cache <type>', KV_CACHE_HELP, parseKvCache, 'f32' as KvCacheDType)
    .option('--json', 'print one JSON object (ids and text) on stdout instead of streaming')
    .action(async (modelArg: string | undefined, o: GenerateCliOptions) => runGenerate(modelArg ?? defaultModelDir(), o));
}

async function runGenerate(modelDir: string, o: GenerateCliOptions): Promise<void> {
  const t0 = performance.now();
  const { backend, reason } = await openBackend(o.backend);
  process.stderr.write(`backend: ${backend.name} (${reason})\n`);
  try {
    const files = await openModelDir(modelDir);
    const { tokenizer, config } = files;
    const prompt = await checkOpened(files, () => {
      const ids = promptIds(tokenizer.encode(o.prompt), config.bosTokenId);
      checkPositions('--prompt', ids.length, config, `the prompt's ${ids.length} tokens: `);
      checkPositions('--max-tokens', ids.length + o.maxTokens, config, `the prompt's ${ids.length} tokens and ${o.maxTokens} new ones: `);
      return ids;
    });
    const m = await uploadModel(files, { backend, maxPositions: prompt.length + o.maxTokens, weights: o.weights, kvCache: o.kvCache });
    if (files.packed && !o.json) process.stderr.write(`${weightLine(m.weightStats)}\n`);
    const ids: number[] = [];
    const text = new TextStream(tokenizer, prompt);
    if (!o.json) process.stdout.write(text.prompt);
    for await (const id of generate(m.model, prompt, { ...o, stopIds: config.eosTokenIds })) {
      ids.push(id);
      const piece = text.push(id);
      if (!o.json) process.stdout.write(piece);
    }
    const seconds = (performance.now() - t0) / 1000;
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ prompt_ids: [...prompt], ids, text: text.text, backend: backend.name, weights: o.weights, kv_cache: o.kvCache, packed: m.weightStats.packed, seconds })}\n`);
    } else {
      process.stdout.write(`${text.end()}\n`);
      process.stderr.write(`${ids.length} tokens in ${seconds.toFixed(2)} s\n`);
    }
  } finally {
    backend.dispose();
  }
}

/** The prompt's ids, starting from BOS when the tokenizer added nothing (e.g. an empty prompt). */
function promptIds(ids: Int32Array, bos: number | null): Int32Array {
  if (ids.length > 0) return ids;
  if (bos === null) throw new InputError('--prompt', 'is empty and the model has no bos_token_id to start from');
  return Int32Array.of(bos);
}
