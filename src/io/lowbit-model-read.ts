/**
 * An opened .lowbit file as a model (browser-safe): config from its header,
 * the tokenizer from its embedded files, and its tensors as a TensorSource
 * (passthrough as stored, quantized ones dequantized when read) beside the
 * packed tensors as stored. lowbit-model.ts opens files in Node; browser.ts
 * opens bytes.
 */
import { FORMATS } from '../formats/index.js';
import type { FormatId, PackedTensor } from '../formats/types.js';
import type { LlamaConfig } from '../model/config.js';
import { DTYPE_BYTES, type DType } from '../tensor/dtype.js';
import { numel, tensor } from '../tensor/tensor.js';
import { InputError } from './errors.js';
import { parseHfConfig } from './hf-config.js';
import { LOWBIT_PREAMBLE_BYTES, type LowbitTokenizer } from './lowbit-header.js';
import type { LowbitFile } from './lowbit-read.js';
import type { TensorInfo, TensorSource } from './safetensors.js';
import type { TextTokenizer } from './tokenizer-core.js';

/** An opened .lowbit model: nothing but the header read yet. */
export interface LowbitModel {
  readonly file: LowbitFile;
  readonly config: LlamaConfig;
  readonly tokenizer: TextTokenizer;
  /**
   * The tensors under their model shapes. Passthrough tensors (f32/f16/bf16)
   * read as stored; quantized ones are dequantized to f32 Ŵ (bit-identical to
   * what the method produced).
   */
  readonly source: TensorSource;
  /** The same tensors as stored (format and packed arrays, CRC-checked), for backends that run packed weights. */
  readonly packed: {
    format(name: string): FormatId;
    read(name: string): Promise<PackedTensor>;
  };
}

/**
 * `file` as a model: its config (checked first), then the tokenizer `makeTokenizer` builds from the
 * embedded files (`where` names them in errors). The caller closes `file` if this throws.
 */
export async function lowbitModelOf(file: LowbitFile, makeTokenizer: (where: string, tok: LowbitTokenizer) => TextTokenizer | Promise<TextTokenizer>): Promise<LowbitModel> {
  const config = parseHfConfig(file.header.architecture, `${file.path} (header "architecture")`);
  const tokenizer = await makeTokenizer(`${file.path} (header "tokenizer")`, file.header.tokenizer);
  const packed = { format: (name: string) => file.spec(name).format, read: (name: string) => file.readPacked(name) };
  return { file, config, tokenizer, source: lowbitSource(file), packed };
}

function lowbitSource(file: LowbitFile): TensorSource {
  const tensors = new Map<string, TensorInfo>();
  for (const name of file.tensorNames) {
    const s = file.spec(name);
    const dtype: DType = s.format === 'f16' || s.format === 'bf16' ? s.format : 'f32';
    const first = Object.values(s.arrays)[0]?.offset ?? 0;
    const info = { name, dtype, shape: s.shape, byteLength: numel(s.shape) * DTYPE_BYTES[dtype], file: file.path, offset: LOWBIT_PREAMBLE_BYTES + first };
    tensors.set(name, info);
  }
  return {
    tensors,
    metadata: file.header.metadata,
    async read(name) {
      const s = file.spec(name);
      const p = await file.readPacked(name);
      const data = p.arrays['data'] as Uint8Array;
      switch (s.format) {
        case 'f32':
          return tensor('f32', s.shape, new Float32Array(data.buffer, data.byteOffset, data.length / 4));
        case 'f16':
        case 'bf16':
          return tensor(s.format, s.shape, new Uint16Array(data.buffer, data.byteOffset, data.length / 2));
        default:
          try {
            return tensor('f32', s.shape, FORMATS[s.format].unpack(p).weight);
          } catch (e) {
            throw new InputError(file.path, `tensor "${name}": cannot unpack ${s.format} data (${(e as Error).message})`, { cause: e });
          }
      }
    },
    close: () => file.close(),
  };
}
