/**
 * `lowbit quantize [model] --method rtn|gptq|spqr … --out model.lowbit`: the
 * sequential pipeline (src/quant/pipeline.ts) with per-block checkpoints in a
 * work directory (`--resume` continues a killed job and writes the same
 * bytes), then the .lowbit file, written atomically.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { calibrationWindows } from '../../data/calibration.js';
import { defaultCalibrationText, readTextFile } from '../../eval/text.js';
import { cannotWrite, InputError, isInputError } from '../../io/errors.js';
import { lowbitStats } from '../../io/lowbit-file.js';
import { writeLowbitFromModel } from '../../io/lowbit-model.js';
import { WorkDir } from '../../quant/checkpoint.js';
import { quantizeBlocks, resolveGptqEngine, type BlockResult, type GptqEngine, type LayerReport, type MethodSpec } from '../../quant/pipeline.js';
import { NotPositiveDefiniteError } from '../../quant/linalg.js';
import { GPTQ_DEFAULTS, RTN_DEFAULTS, SPQR_DEFAULTS } from '../../quant/types.js';
import { openModelDir } from '../../runtime/load.js';
import { readFinite } from '../../runtime/upload.js';
import { openBackend, parseBackendKind, type BackendKind } from '../backend.js';
import { intOption, numberOption } from '../options.js';
import { defaultModelDir } from '../paths.js';
import { progress } from '../progress.js';

const METHODS = ['rtn', 'gptq', 'spqr'] as const;
type Method = (typeof METHODS)[number];

interface QuantizeOptions {
  method: Method;
  bits?: number;
  groupSize?: number;
  sym?: boolean;
  clip?: 'minmax' | 'mse';
  actOrder?: boolean;
  staticGroups?: boolean;
  percdamp?: number;
  outlierThreshold?: number;
  qqBits?: number;
  qqGroup?: number;
  calib?: string;
  calibSamples: number;
  calibSeqlen: number;
  seed: number;
  out?: string;
  resume?: boolean;
  quantizeHead?: boolean;
  workDir?: string;
  keepWork?: boolean;
  backend: BackendKind;
  gptqEngine: GptqEngine;
  json?: boolean;
}

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('quantize a model layer by layer on calibration data and write a .lowbit file')
    .argument('[model]', 'model directory (default: the embedded lowbit-demo model)')
    .option('--method <m>', 'rtn | gptq | spqr', parseMethod, 'gptq' as Method)
    .option('--bits <b>', `code bits: 2, 3, 4 or 8 (spqr: 2 to 8; default ${GPTQ_DEFAULTS.bits}; spqr ${SPQR_DEFAULTS.bits})`, intOption('--bits', 2))
    .option('--group-size <g>', `input columns per group, 0 = per channel (default ${GPTQ_DEFAULTS.groupSize}; spqr β1 ${SPQR_DEFAULTS.groupSize})`, intOption('--group-size', 0))
    .option('--sym', 'symmetric grid (rtn, gptq)')
    .option('--clip <mode>', 'minmax | mse grid fitting (rtn, gptq)', parseClip)
    .option('--act-order', 'quantize columns by decreasing Hessian diagonal (gptq; spqr does by default)')
    .option('--no-act-order', 'quantize columns in their own order (spqr: no permutation stored; gptq: the default)')
    .option('--static-groups', 'fit group parameters up front in original order (gptq; with --act-order: no permutation stored)')
    .option('--percdamp <p>', `Hessian damping, fraction of mean diag (default ${GPTQ_DEFAULTS.percdamp})`, numberOption('--percdamp', (n) => n >= 0, 'a number ≥ 0'))
    .option('--outlier-threshold <t>', `SpQR τ relative to the sensitivity (default ${SPQR_DEFAULTS.outlierThreshold}; "inf" = no outliers)`, parseThreshold)
    .option('--qq-bits <b>', `SpQR bits of the quantized statistics (default ${SPQR_DEFAULTS.qqBits})`, intOption('--qq-bits', 1))
    .option('--qq-group <g>', `SpQR β2, rows per second-level group (default ${SPQR_DEFAULTS.qqGroup})`, intOption('--qq-group', 1))
    .option('--calib <file>', 'calibration text (.txt; default: the non-held-out State of the Union addresses)')
    .option('--calib-samples <n>', 'calibration windows', intOption('--calib-samples', 1), 128)
    .option('--calib-seqlen <n>', 'tokens per calibration window', intOption('--calib-seqlen', 2), 512)
    .option('--seed <n>', 'seed of the calibration windows', intOption('--seed', 0), 0)
    .option('--out <path>', 'output .lowbit file (default: <model>-<method>-w<bits>.lowbit here)')
    .option('--quantize-head', 'also quantize lm_head (a tied embedding is then stored twice: as is, and quantized as the head)')
    .option('--resume', 'continue a killed job from its work directory')
    .option('--work-dir <dir>', 'checkpoint directory (default: <out>.work)')
    .option('--keep-work', 'keep the work directory after success')
    .option('--backend <kind>', 'auto | cpu | webgpu', parseBackendKind, 'auto' as BackendKind)
    .option('--gptq-engine <e>', 'auto | host | backend: GPTQ and SpQR in f64 on the host, or in f32 on the backend (auto: backend on webgpu; RTN always on the host)', parseEngine, 'auto' as GptqEngine)
    .option('--json', 'print one JSON object (per-layer errors, avg bits, seconds) on stdout')
    .action(async (modelArg: string | undefined, o: QuantizeOptions) => runQuantize(modelArg ?? defaultModelDir(), o));
}

function parseMethod(v: string): Method {
  if (!(METHODS as readonly string[]).includes(v)) throw new InputError('--method', `"${v}" is not one of ${METHODS.join(', ')}`);
  return v as Method;
}

function parseEngine(v: string): GptqEngine {
  if (v !== 'auto' && v !== 'host' && v !== 'backend') throw new InputError('--gptq-engine', `"${v}" is not auto, host or backend`);
  return v;
}

function parseClip(v: string): 'minmax' | 'mse' {
  if (v !== 'minmax' && v !== 'mse') throw new InputError('--clip', `"${v}" is not minmax or mse`);
  return v;
}

function parseThreshold(v: string): number {
  if (v === 'inf' || v === 'Infinity') return Infinity;
  return numberOption('--outlier-threshold', (n) => n > 0, 'a number > 0 or "inf"')(v);
}

/** The method and its config from the flags; flags that do not apply to the method are refused. */
function methodSpec(o: QuantizeOptions): MethodSpec {
  const refuse = (flags: [string, unknown][]): void => {
    for (const [flag, v] of flags) if (v !== undefined) throw new InputError(flag, `does not apply to --method ${o.method}`);
  };
  if (o.bits !== undefined && ![2, 3, 4, 8].includes(o.bits) && o.method !== 'spqr') {
    throw new InputError('--bits', `${o.bits}-bit codes have no packed format; use 2, 3, 4 or 8`);
  }
  const grid = { bits: o.bits, groupSize: o.groupSize, sym: o.sym, clip: o.clip };
  switch (o.method) {
    case 'rtn':
      refuse([[o.actOrder === false ? '--no-act-order' : '--act-order', o.actOrder], ['--static-groups', o.staticGroups], ['--percdamp', o.percdamp], ['--outlier-threshold', o.outlierThreshold], ['--qq-bits', o.qqBits], ['--qq-group', o.qqGroup]]);
      return { method: 'rtn', config: { ...RTN_DEFAULTS, ...strip(grid) } };
    case 'gptq':
      refuse([['--outlier-threshold', o.outlierThreshold], ['--qq-bits', o.qqBits], ['--qq-group', o.qqGroup]]);
      return { method: 'gptq', config: { ...GPTQ_DEFAULTS, ...strip({ ...grid, actOrder: o.actOrder, staticGroups: o.staticGroups, percdamp: o.percdamp }) } };
    case 'spqr': {
      refuse([['--sym', o.sym], ['--clip', o.clip], ['--static-groups', o.staticGroups]]);
      for (const [flag, v] of [['--bits', o.bits], ['--qq-bits', o.qqBits]] as const) {
        if (v !== undefined && (v < 2 || v > 8)) throw new InputError(flag, `SpQR codes have 2 to 8 bits, got ${v}`);
      }
      if (o.groupSize === 0) throw new InputError('--group-size', 'SpQR needs groups of β1 ≥ 1 input columns (0 = per channel is not a SpQR layout)');
      const cfg = strip({ bits: o.bits, groupSize: o.groupSize, qqBits: o.qqBits, qqGroup: o.qqGroup, outlierThreshold: o.outlierThreshold, percdamp: o.percdamp, permutation: o.actOrder === undefined ? undefined : o.actOrder ? ('act_order' as const) : ('identity' as const) });
      return { method: 'spqr', config: { ...SPQR_DEFAULTS, ...cfg } };
    }
  }
}

/** Refuses, before any work, an output path that could not be written: a directory, or one under a file. */
async function checkOutputPath(out: string): Promise<void> {
  const st = await stat(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw cannotWrite(out, e);
  });
  if (st?.isDirectory()) throw new InputError(out, 'is a directory; --out names the .lowbit file to write');
}

/** The object without its undefined fields. */
function strip<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function runQuantize(modelDir: string, o: QuantizeOptions): Promise<void> {
  const t0 = performance.now();
  const method = methodSpec(o);
  const bits = (method.config as { bits: number }).bits;
  const out = o.out ?? `${basename(resolve(modelDir))}-${method.method}-w${bits}.lowbit`;
  if (!out.endsWith('.lowbit')) throw new InputError(out, 'the output file must end in .lowbit');
  await checkOutputPath(out);
  const log = (s: string): void => void (o.json ? undefined : process.stderr.write(`${s}\n`));

  const files = await openModelDir(modelDir);
  if (files.packed) {
    await files.source.close();
    throw new InputError(modelDir, 'is a .lowbit file, already quantized; quantize takes the model directory (Hugging Face layout) it came from');
  }
  // closed once, on every path (an error left the model's file handles to the garbage collector,
  // whose warning broke the one-line error)
  let open = true;
  const closeFiles = async (): Promise<void> => {
    if (open) {
      open = false;
      await files.source.close();
    }
  };
  try {
    if (o.calibSeqlen > files.config.maxPositionEmbeddings) {
      throw new InputError('--calib-seqlen', `${o.calibSeqlen} exceeds the model's max_position_embeddings ${files.config.maxPositionEmbeddings}`);
    }
    const text = o.calib !== undefined ? await readTextFile(o.calib) : await defaultCalibrationText();
    const empty = files.tokenizer.encode('');
    const bos = empty.length > 0 ? (empty[0] as number) : null;
    let windows: Int32Array;
    try {
      windows = calibrationWindows(text.text, files.tokenizer.encode, bos, { samples: o.calibSamples, seqlen: o.calibSeqlen, seed: o.seed });
    } catch (e) {
      if (isInputError(e)) throw e; // the tokenizer's own (ids past the vocabulary)
      throw new InputError(text.source, (e as Error).message);
    }
    const calibration = {
      file: o.calib ?? text.source,
      sha256: createHash('sha256').update(text.text).digest('hex'),
      samples: o.calibSamples,
      seqlen: o.calibSeqlen,
      seed: o.seed,
    };
    if (o.gptqEngine !== 'auto' && method.method === 'rtn') throw new InputError('--gptq-engine', `does not apply to --method ${method.method}`);
    const quantizeHead = o.quantizeHead === true;
    const { backend, reason } = await openBackend(o.backend);
    log(`backend: ${backend.description} (${reason})`);
    let engine: 'host' | 'backend';
    let work: WorkDir;
    try {
      try {
        engine = resolveGptqEngine(o.gptqEngine, backend, method);
      } catch (e) {
        throw new InputError('--gptq-engine', (e as Error).message);
      }
      // the job as run: the engine resolved, so a resume on another backend (another engine) is refused, not mixed
      const job = { model: resolve(modelDir), method, engine: method.method === 'rtn' ? null : engine, quantizeHead, calibration, windows: createHash('sha256').update(new Uint8Array(windows.buffer)).digest('hex') };
      work = await WorkDir.open(o.workDir ?? `${out}.work`, job, o.resume === true);
    } catch (e) {
      backend.dispose();
      throw e;
    }
    if (method.method !== 'rtn') log(`${method.method} engine: ${engine}`);
    // as recorded (header, --json, this line): JSON has no Infinity, so SpQR's τ = ∞ is "inf", as the flag takes it
    const config = Object.fromEntries(Object.entries(method.config).map(([k, v]) => [k, v === Infinity ? 'inf' : v]));
    log(`quantize ${modelDir} with ${method.method} ${JSON.stringify(config)} on ${o.calibSamples} × ${o.calibSeqlen} tokens of ${text.source}`);
    const bar = progress('quantize');
    let at = 0; // the bar's position, in thousandths of a block
    const L = files.config.nLayers;
    try {
      await quantizeBlocks({
        backend,
        config: files.config,
        weights: { read: (n) => readFinite(files, n), has: (n) => files.source.tensors.has(n) },
        method,
        windows,
        seqlen: o.calibSeqlen,
        store: work,
        gptqEngine: engine,
        quantizeHead,
        onEvent: (e) => {
          if (e.kind === 'start' && e.resumedAt > 0) log(`resuming at block ${e.resumedAt} from ${work.dir}`);
          if (e.kind === 'group') {
            at = Math.round((e.block + e.step / e.steps) * 1000);
            bar.update(at, L * 1000, `block ${e.block + 1}/${L} ${e.group}`);
          }
          // the layer being solved after its statistics (minutes a layer for a 7B on the host engine)
          if (e.kind === 'layer') bar.update(at, L * 1000, `${e.report.name.replace(/\.weight$/, '')} quantized`);
          // without a terminal (logs, CI) a line a block instead of the bar
          if (e.kind === 'block' && !process.stderr.isTTY) log(`block ${e.block + 1}/${L} done (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        },
      });
    } catch (e) {
      const input = e instanceof NotPositiveDefiniteError ? new InputError('--percdamp', e.message, { cause: e }) : e;
      // bad input (NaN weights, too little damping, …): a fresh work directory holds nothing worth resuming
      if (isInputError(input) && o.resume !== true && o.keepWork !== true) await work.remove();
      throw input;
    } finally {
      bar.done();
      backend.dispose();
    }

    // assemble the file from the checkpoints: quantized linear layers, everything else as stored
    let current: BlockResult | null = null;
    const reports: LayerReport[] = [];
    for (let l = 0; l < L; l++) reports.push(...(await work.reports(l))); // the arrays are read once, by `pack` below
    // a quantized head is stored as its own lm_head.weight, so a tied model's file is untied
    const head = quantizeHead ? await work.load(L) : null;
    if (head) reports.push(...head.reports);
    const tied = files.config.tieWordEmbeddings;
    await closeFiles(); // before the file is written from the model directory again
    const summary = await writeLowbitFromModel(modelDir, out, {
      quantization: { method: method.method, config, calibration, quantize_head: quantizeHead, ...(method.method !== 'rtn' ? { engine } : {}) },
      ...(head && {
        extra: head.tensors.map((t) => ({ name: t.name, shape: t.packed.shape, packed: t.packed })),
        ...(tied && { architectureOverrides: { tie_word_embeddings: false } }),
      }),
      created: new Date(0).toISOString(), // fixed, so the same job always writes the same bytes
      pack: async (name) => {
        const m = /^model\.layers\.(\d+)\./.exec(name);
        if (m === null) return null;
        const l = Number(m[1]);
        if (current?.block !== l) current = await work.load(l);
        return current.tensors.find((t) => t.name === name)?.packed ?? null;
      },
    });
    if (!o.keepWork) await work.remove();

    const seconds = (performance.now() - t0) / 1000;
    const weights = reports.reduce((s, r) => s + r.shape[0] * r.shape[1], 0);
    const avgBits = reports.reduce((s, r) => s + r.avgBits * r.shape[0] * r.shape[1], 0) / weights;
    // what the file stores for the quantized tensors (every array: codes, statistics, permutation, outliers
    // and their row pointers), as `lowbit inspect` reports it; avgBits is the methods' formula (the papers')
    const storedBits = lowbitStats(summary.header).bitsQuantized;
    const outliers = reports.reduce((s, r) => s + r.outlierFraction * r.shape[0] * r.shape[1], 0) / weights;
    if (o.json) {
      const layers = reports.map((r) => ({ name: r.name, shape: r.shape, format: r.format, avg_bits: r.avgBits, rel_error: r.relError, outlier_fraction: r.outlierFraction, seconds: r.seconds, engine: r.engine }));
      process.stdout.write(`${JSON.stringify({ out, bytes: summary.bytes, method: method.method, config, calibration, quantize_head: quantizeHead, avg_bits: avgBits, stored_bits: storedBits, outlier_fraction: outliers, backend: backend.name, ...(method.method !== 'rtn' ? { gptq_engine: engine } : {}), seconds, layers })}\n`);
    } else {
      const worst = reports.reduce((a, r) => ((r.relError ?? 0) > (a.relError ?? 0) ? r : a), reports[0] as LayerReport);
      process.stdout.write(`wrote ${out} (${(summary.bytes / 2 ** 20).toFixed(2)} MiB): ${reports.length} layers, ${storedBits?.toFixed(3)} bits/weight stored (${avgBits.toFixed(3)} by the method's formula)`);
      process.stdout.write(`${outliers > 0 ? `, ${(100 * outliers).toFixed(3)} % outliers` : ''}, worst relative error ${(worst.relError ?? 0).toExponential(3)} (${worst.name}), ${seconds.toFixed(1)} s\n`);
    }
  } finally {
    await closeFiles();
  }
}
