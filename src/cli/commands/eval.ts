/** `lowbit eval [model]`: perplexity (and KL against `--compare`) on a text. */
import type { Command } from 'commander';
import { InputError } from '../../io/errors.js';
import { klDivergence, perplexity, windowCount, type KlResult, type PerplexityResult } from '../../eval/perplexity.js';
import { defaultEvalText, readTextFile } from '../../eval/text.js';
import { encodeCached } from '../../eval/token-cache.js';
import { openModelDir, uploadModel } from '../../runtime/load.js';
import { checkPositions } from '../../runtime/options.js';
import type { ModelFiles } from '../../runtime/upload.js';
import { KV_CACHE_HELP, openBackend, parseBackendKind, parseKvCache, parseWeightMode, weightLine, type BackendKind } from '../backend.js';
import type { KvCacheDType } from '../../model/llama.js';
import type { WeightMode } from '../../model/weights.js';
import { intOption } from '../options.js';
import { defaultModelDir } from '../paths.js';
import { progress } from '../progress.js';

interface EvalOptions {
  data?: string;
  seqlen?: number;
  windows?: number;
  backend: BackendKind;
  weights: WeightMode;
  kvCache: KvCacheDType;
  compare?: string[];
  json?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('perplexity of a model on a text (GPTQ convention: BOS once, non-overlapping windows)')
    .argument('[model]', 'model directory or .lowbit file (default: the embedded lowbit-demo model)')
    .option('--data <file>', '.txt used as is, .json = array of rows joined with "\\n\\n" (default: held-out State of the Union addresses)')
    .option('--seqlen <n>', 'tokens per window (default: 2048, or the model\'s max_position_embeddings if smaller)', intOption('--seqlen', 2))
    .option('--windows <n>', 'evaluate only the first N windows', intOption('--windows', 1))
    .option('--backend <kind>', 'auto | cpu | webgpu', parseBackendKind, 'auto' as BackendKind)
    .option('--weights <mode>', 'quantized .lowbit weights: packed (run the packed kernels) | dequant (f32 at load)', parseWeightMode, 'packed' as WeightMode)
    .option('--kv-cache <type>', KV_CACHE_HELP, parseKvCache, 'f32' as KvCacheDType)
    .option('--compare <model>', 'also report KL(model ‖ compared) and the compared model\'s perplexity; repeat it to compare several (the base model runs once per window)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'print one JSON object on stdout')
    .action(async (modelArg: string | undefined, o: EvalOptions) => runEval(modelArg ?? defaultModelDir(), o));
}

async function runEval(modelDir: string, o: EvalOptions): Promise<void> {
  const t0 = performance.now();
  const text = o.data !== undefined ? await readTextFile(o.data) : await defaultEvalText();
  const { backend, reason } = await openBackend(o.backend);
  const log = (s: string): void => void (o.json ? undefined : process.stderr.write(`${s}\n`));
  process.stderr.write(`backend: ${backend.name} (${reason})\n`);
  try {
    const files = await openModelDir(modelDir);
    const seqlen = o.seqlen ?? Math.min(2048, files.config.maxPositionEmbeddings);
    // every model's config before any upload: positions, and the compared models' vocabulary
    const compare = o.compare ?? [];
    const compared: ModelFiles[] = [];
    try {
      checkPositions('--seqlen', seqlen, files.config);
      for (const path of compare) {
        const cf = await openModelDir(path);
        compared.push(cf);
        checkPositions('--seqlen', seqlen, cf.config, `${path}: `);
        if (cf.config.vocabSize !== files.config.vocabSize) {
          throw new InputError(path, `its vocabulary has ${cf.config.vocabSize} tokens and ${modelDir}'s ${files.config.vocabSize}: KL needs the same vocabulary`);
        }
      }
    } catch (e) {
      await Promise.all([files, ...compared].map((f) => f.source.close()));
      throw e;
    }
    const load = progress('loading');
    const m = await uploadModel(files, { backend, maxPositions: seqlen, onProgress: load.update, weights: o.weights, kvCache: o.kvCache });
    load.done();
    if (files.packed) log(weightLine(m.weightStats));
    const ids = await encodeCached(m.tokenizer, text.text);
    const opts = { seqlen, ...(o.windows !== undefined && { windows: o.windows }) };
    try {
      windowCount(ids.length, opts);
    } catch (e) {
      throw new InputError(text.source, (e as Error).message);
    }
    log(`model: ${modelDir} · data: ${text.source} (${ids.length} tokens)`);
    const bar = progress('eval');
    const tEval = performance.now();
    let result: PerplexityResult;
    let kl: KlResult[] = [];
    if (compare.length > 0) {
      const models = [];
      for (const [j, path] of compare.entries()) {
        const c = await uploadModel(compared[j] as ModelFiles, { backend, maxPositions: seqlen, weights: o.weights, kvCache: o.kvCache });
        // a warning, on stderr with --json too (stdout keeps the JSON)
        if (c.tokenizer.hash !== m.tokenizer.hash) process.stderr.write(`warning: ${path} uses a different tokenizer file; KL is computed on the first model's tokens\n`);
        models.push(c.model);
      }
      const r = await klDivergence(m.model, models, ids, { ...opts, onProgress: bar.update });
      result = r.base;
      kl = r.compared;
    } else {
      result = await perplexity(m.model, ids, { ...opts, onProgress: bar.update });
    }
    bar.done();
    const evalSeconds = (performance.now() - tEval) / 1000; // the windows only: no loading or tokenizing
    const seconds = (performance.now() - t0) / 1000;
    if (o.json) {
      const out = { ...result, backend: backend.name, device: backend.description, weights: o.weights, kv_cache: o.kvCache, packed: m.weightStats.packed, seconds, eval_seconds: evalSeconds, model: modelDir, data: text.source };
      const row = (path: string, k: KlResult): Record<string, unknown> => ({ compare: path, kl: k.kl, top1: k.top1, compare_ppl: k.compared.ppl, compare_nll: k.compared.nll });
      // one compared model: its fields inline (as before); several: a `compares` array
      const extra = kl.length === 1 ? row(compare[0] as string, kl[0] as KlResult) : kl.length > 1 ? { compares: kl.map((k, j) => row(compare[j] as string, k)) } : {};
      process.stdout.write(`${JSON.stringify({ ...out, ...extra })}\n`);
    } else {
      const win = `${result.windows} × ${result.seqlen}`;
      process.stdout.write(`ppl ${result.ppl.toFixed(4)}  nll ${result.nll.toFixed(5)}  tokens ${result.tokens}  windows ${win}  ${seconds.toFixed(1)} s\n`);
      for (const [j, k] of kl.entries()) {
        process.stdout.write(`compare ${compare[j]}: ppl ${k.compared.ppl.toFixed(4)}  KL ${k.kl.toFixed(6)} nats/token  top-1 agreement ${(100 * k.top1).toFixed(2)} %\n`);
      }
    }
  } finally {
    backend.dispose();
  }
}
