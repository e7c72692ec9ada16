/** `lowbit convert llama2c <model.bin> --tokenizer <tok.bin> --out <dir>`: llama2.c → HF layout. */
import type { Command } from 'commander';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { cannotWrite, InputError } from '../../io/errors.js';
import { parseLlama2c } from '../../io/llama2c.js';
import { llama2cTokenizerConfig, llama2cTokenizerJson, parseLlama2cTokenizer } from '../../io/llama2c-tokenizer.js';
import { writeSafetensors } from '../../io/safetensors.js';

interface ConvertOptions {
  tokenizer: string;
  out: string;
}

export function registerConvert(program: Command): void {
  const convert = program.command('convert').description('convert other checkpoint formats to a Hugging Face model directory');
  convert
    .command('llama2c')
    .description('llama2.c model.bin (version 1 or legacy) + tokenizer.bin → config.json, model.safetensors, tokenizer.json')
    .argument('<model>', 'llama2.c checkpoint (.bin)')
    .requiredOption('--tokenizer <file>', 'llama2.c tokenizer (.bin)')
    .requiredOption('--out <dir>', 'output directory (must not exist yet)')
    .action(async (model: string, o: ConvertOptions) => convertLlama2c(model, o));
}

async function readInput(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`);
  }
}

async function convertLlama2c(modelFile: string, o: ConvertOptions): Promise<void> {
  const model = parseLlama2c(await readInput(modelFile), modelFile);
  const vocab = parseLlama2cTokenizer(await readInput(o.tokenizer), o.tokenizer, model.header.vocabSize);
  if (o.out.trim() === '') throw new InputError('--out', 'expects a directory path, got an empty string');
  const exists = await stat(o.out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw cannotWrite(o.out, e);
  });
  if (exists) throw new InputError(o.out, 'the output directory already exists');
  // Build the directory under a temporary name, then rename it: no partial model is ever visible.
  const tmp = join(dirname(o.out), `.${basename(o.out)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw cannotWrite(o.out, e);
  });
  try {
    const json = (v: unknown) => (fh: import('node:fs/promises').FileHandle) => fh.writeFile(`${JSON.stringify(v, null, 2)}\n`);
    await writeFileAtomic(join(tmp, 'config.json'), json(model.config));
    await writeFileAtomic(join(tmp, 'tokenizer.json'), json(llama2cTokenizerJson(vocab)));
    await writeFileAtomic(join(tmp, 'tokenizer_config.json'), json(llama2cTokenizerConfig));
    await writeSafetensors(join(tmp, 'model.safetensors'), model.tensors, { format: 'pt', source: `llama2.c ${model.header.format}` });
    await rename(tmp, o.out);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  const h = model.header;
  process.stderr.write(`wrote ${o.out}: ${h.nLayers} layers, d=${h.dim}, heads ${h.nHeads}/${h.nKvHeads}, vocab ${h.vocabSize} (llama2.c ${h.format})\n`);
}
