/**
 * .lowbit files as models: opening one as config + tokenizer + a TensorSource
 * that dequantizes each tensor when it is read, beside the packed tensors as
 * stored (what eval and generate load: packed where the backend runs them),
 * and exporting a Hugging Face model directory to .lowbit with a per-tensor
 * packing callback (what the quantization pipeline writes through).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackedTensor } from '../formats/types.js';
import { isFloatDType } from '../tensor/dtype.js';
import { shapeStr, type HostTensor } from '../tensor/tensor.js';
import { InputError } from './errors.js';
import { asInputError } from './file.js';
import { parseHfConfig } from './hf-config.js';
import { openLowbit, writeLowbit, type LowbitTensorEntry, type LowbitWriteOptions, type LowbitWriteSummary } from './lowbit-file.js';
import { packedShape, type LowbitTokenizer } from './lowbit-header.js';
import { lowbitModelOf, type LowbitModel } from './lowbit-model-read.js';
import { openSafetensorsModel } from './safetensors-sharded.js';
import { tokenizerFromText } from './tokenizer.js';

export type { LowbitModel } from './lowbit-model-read.js';

/** Opens a .lowbit file as a model (config and tokenizer from its header). */
export async function openLowbitModel(path: string): Promise<LowbitModel> {
  const file = await openLowbit(path);
  try {
    return await lowbitModelOf(file, (where, tok) => tokenizerFromText(where, tok['tokenizer.json'], tok['tokenizer_config.json']));
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** A float tensor stored as is, in its own dtype (f32, f16 or bf16). */
export function passthroughPacked(name: string, t: HostTensor): PackedTensor {
  if (!isFloatDType(t.dtype)) throw new Error(`tensor "${name}": ${t.dtype} ${shapeStr(t.shape)} has no passthrough format (f32, f16, bf16)`);
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { format: t.dtype, shape: packedShape(t.shape), params: {}, arrays: { data } };
}

/** The packed form of a tensor, or null to store it as is (`passthroughPacked`). */
export type PackTensorFn = (name: string, t: HostTensor) => PackedTensor | null | Promise<PackedTensor | null>;

export interface ExportOptions extends Omit<LowbitWriteOptions, 'architecture' | 'tokenizer'> {
  /** Called once per tensor, in the model's file order; default: everything passthrough. */
  readonly pack?: PackTensorFn;
  /** Tensors written after the model's own (e.g. a quantized lm_head of a tied model); replaces a source tensor of the same name. */
  readonly extra?: readonly LowbitTensorEntry[];
  /** Changes to the stored config.json object (e.g. `{ tie_word_embeddings: false }` with an untied head). */
  readonly architectureOverrides?: Readonly<Record<string, unknown>>;
}

/**
 * Writes the model directory `dir` (config.json, tokenizer files,
 * safetensors weights) as the .lowbit file `out`: every tensor is read, given
 * to `pack`, and written before the next one is read, so memory holds one
 * tensor. The config and tokenizer files are embedded verbatim.
 */
export async function writeLowbitFromModel(dir: string, out: string, opts: ExportOptions = {}): Promise<LowbitWriteSummary> {
  const configFile = join(dir, 'config.json');
  let architecture: Record<string, unknown>;
  try {
    architecture = JSON.parse(await readText(configFile, true)) as Record<string, unknown>;
  } catch (e) {
    throw e instanceof SyntaxError ? new InputError(configFile, `not valid JSON (${e.message})`) : e;
  }
  parseHfConfig(architecture, configFile); // refuse to write a file that could not be loaded
  const tokenizer: LowbitTokenizer = {
    'tokenizer.json': await readText(join(dir, 'tokenizer.json'), true),
    'tokenizer_config.json': (await readText(join(dir, 'tokenizer_config.json'), false)) || null,
  };
  const source = await openSafetensorsModel(dir);
  const { pack, ...rest } = opts;
  const { extra = [], architectureOverrides = {}, ...write } = rest;
  const replaced = new Set(extra.map((e) => e.name));
  async function* entries() {
    for (const [name, info] of source.tensors) {
      if (replaced.has(name)) continue;
      const t = await source.read(name);
      const packed = (await pack?.(name, t)) ?? passthroughPacked(name, t);
      yield { name, shape: info.shape, packed };
    }
    yield* extra;
  }
  try {
    return await writeLowbit(out, entries(), { ...write, architecture: { ...architecture, ...architectureOverrides }, tokenizer });
  } finally {
    await source.close();
  }
}

/** A UTF-8 file's exact text (a BOM is kept, so the bytes round-trip); '' for a missing optional file. */
async function readText(file: string, required: boolean): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw asInputError(file, e);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new InputError(file, 'not valid UTF-8', { cause: e });
  }
}
