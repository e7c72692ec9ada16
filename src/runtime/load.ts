/**
 * Loading a model directory (Hugging Face layout: config.json,
 * tokenizer.json, model.safetensors or a sharded index) or a .lowbit file
 * (matmul weights uploaded packed where the backend has kernels for their
 * format, else dequantized tensor by tensor as read) onto a backend. Every
 * problem with the files is an InputError naming the file; weights are read
 * and uploaded one tensor at a time and checked for NaN/Inf on the way.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../io/errors.js';
import { parseHfConfig } from '../io/hf-config.js';
import { openLowbitModel } from '../io/lowbit-model.js';
import { openSafetensorsModel } from '../io/safetensors-sharded.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { checkedFiles, uploadModel, type LoadedModel, type LoadOptions, type ModelFiles } from './upload.js';

export { checkedFiles, countNonFinite, uploadModel, type LoadedModel, type LoadOptions, type ModelFiles } from './upload.js';

/**
 * Opens a model: a directory (config, tokenizer and the weights' headers) or
 * a .lowbit file (its header). No weights are read yet.
 */
export async function openModelDir(dir: string): Promise<ModelFiles> {
  const st = await stat(dir).catch(() => null);
  if (!st) throw new InputError(dir, 'no such model directory or .lowbit file');
  if (st.isFile()) {
    const m = await openLowbitModel(dir);
    return checkedFiles({ dir, config: m.config, tokenizer: m.tokenizer, source: m.source, packed: m.packed });
  }
  if (!st.isDirectory()) throw new InputError(dir, 'not a directory or a file (a model is a .lowbit file or a directory with config.json, tokenizer.json and safetensors weights)');
  const configFile = join(dir, 'config.json');
  const raw = await readFile(configFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new InputError(configFile, e.code === 'ENOENT' ? 'missing config.json' : e.code === 'EISDIR' ? 'is a directory, not a file' : `cannot read (${e.code ?? e.message})`);
  });
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new InputError(configFile, `not valid JSON (${(e as Error).message})`);
  }
  const config = parseHfConfig(json, configFile);
  const tokenizer = await loadTokenizer(dir);
  const source = await openSafetensorsModel(dir);
  return checkedFiles({ dir, config, tokenizer, source });
}

/** Opens `dir` and uploads its weights: `openModelDir` then `uploadModel`. */
export async function loadModel(dir: string, o: LoadOptions): Promise<LoadedModel> {
  return uploadModel(await openModelDir(dir), o);
}
