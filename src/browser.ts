/**
 * lowbit in a browser: a .lowbit file's bytes (a `fetch` response's Blob, an
 * ArrayBuffer or a Uint8Array) loaded onto WebGPU from `navigator.gpu` (or the
 * CPU backend, WASM SIMD, where there is no hardware adapter), packed weights
 * computed on as stored, with the same handle as Node's `load`.
 *
 * ```ts
 * import { loadLowbit } from 'lowbit/dist/src/browser.js';
 * const m = await loadLowbit(await (await fetch('/model.lowbit')).blob());
 * for await (const t of m.generate('Once upon a time', { maxTokens: 32 })) out.textContent += t.text;
 * m.dispose();
 * ```
 *
 * Nothing here imports a Node module (test/browser.test.ts bundles it for the browser).
 */
import type { Backend } from './backend/backend.js';
import { createFastCpuBackend } from './backend/cpu/fast.js';
import { selectBackend, type BackendKind } from './backend/select.js';
import type { WebGpuBackendOptions } from './backend/webgpu/webgpu.js';
import { lowbitModelOf } from './io/lowbit-model-read.js';
import { blobReader, bytesReader, openLowbitFrom } from './io/lowbit-read.js';
import { tokenizerFromTexts } from './io/tokenizer-core.js';
import type { KvCacheDType } from './model/llama.js';
import type { WeightMode } from './model/weights.js';
import { modelHandle, type LowbitModelHandle } from './runtime/handle.js';
import { BACKEND_KINDS, checkLoadOptions, oneOf } from './runtime/options.js';
import { checkedFiles, checkOpened, uploadModel } from './runtime/upload.js';

export type { GeneratedToken, GenerateOptions, LowbitModelHandle, PerplexityOptions } from './runtime/handle.js';
export type { KvCacheDType };

export interface BrowserLoadOptions {
  /**
   * 'auto' (default: WebGPU on a hardware adapter, else the CPU backend, WASM SIMD), 'webgpu' (any
   * adapter, software ones too), 'cpu', or a backend you made (not disposed by `dispose`).
   */
  readonly backend?: BackendKind | Backend;
  /** The WebGPU entry point; default `navigator.gpu`. */
  readonly gpu?: GPU;
  /** Options of the WebGPU backend made here. */
  readonly webgpu?: WebGpuBackendOptions;
  /** Quantized weights: 'packed' (default, computed on as stored) or 'dequant' (f32 at load). */
  readonly weights?: WeightMode;
  /** Longest sequence (prompt + generated tokens, or perplexity window): 1 … the model's max_position_embeddings, default min(4096, that). */
  readonly maxPositions?: number;
  /** The KV cache's element type: 'f32' (default) or 'f16' (half the cache's memory; keys and values rounded to f16 as stored). */
  readonly kvCache?: KvCacheDType;
  /** Names the file in errors (default "model.lowbit"). */
  readonly name?: string;
  /** Called after each tensor is uploaded. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** sha256 hex of the tokenizer texts as io/tokenizer.ts computes it in Node (WebCrypto). */
async function tokenizerHash(tokenizerJson: string, tokenizerConfig: string | null): Promise<string> {
  const text = new TextEncoder().encode(tokenizerJson + (tokenizerConfig ?? ''));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', text));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Loads a .lowbit file's bytes onto WebGPU or the CPU backend (`o.backend`). */
export async function loadLowbit(data: Blob | ArrayBuffer | Uint8Array, o: BrowserLoadOptions = {}): Promise<LowbitModelHandle> {
  const name = o.name ?? 'model.lowbit';
  const own = o.backend === undefined || typeof o.backend === 'string';
  const gpu = o.gpu ?? (typeof navigator !== 'undefined' ? navigator.gpu : undefined);
  const backend = typeof o.backend === 'object' ? o.backend : (await selectBackend(oneOf('backend', o.backend ?? 'auto', BACKEND_KINDS), gpu, createFastCpuBackend, o.webgpu)).backend;
  try {
    const [size, read] =
      data instanceof Blob ? [data.size, blobReader(name, data)] : [data.byteLength, bytesReader(name, data instanceof Uint8Array ? data : new Uint8Array(data))];
    const file = await openLowbitFrom(name, size, read);
    const m = await lowbitModelOf(file, async (where, tok) => {
      const [json, cfg] = [tok['tokenizer.json'], tok['tokenizer_config.json']];
      return tokenizerFromTexts(where, json, cfg, await tokenizerHash(json, cfg));
    }).catch(async (e: unknown) => {
      await file.close();
      throw e;
    });
    const files = await checkedFiles({ dir: name, config: m.config, tokenizer: m.tokenizer, source: m.source, packed: m.packed });
    const checked = await checkOpened(files, (config) => checkLoadOptions(o, config));
    const { maxPositions } = checked;
    const loaded = await uploadModel(files, { backend, ...checked, ...(o.onProgress && { onProgress: o.onProgress }) });
    return modelHandle(loaded, backend, maxPositions, own);
  } catch (e) {
    if (own) backend.dispose();
    throw e;
  }
}
