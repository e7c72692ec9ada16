/**
 * Hugging Face `config.json` → LlamaConfig, with strict validation: every
 * problem is an InputError naming the file and the field. Accepts both the
 * older `rope_theta` + `rope_scaling` and transformers ≥ 5's `rope_parameters`.
 */
import { ARCHITECTURES, type Architecture, type LlamaConfig, type RopeScaling } from '../model/config.js';
import { InputError } from './errors.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseHfConfig(raw: unknown, file: string): LlamaConfig {
  if (!isObject(raw)) throw new InputError(file, 'config must be a JSON object');
  const cfg = raw;

  const posInt = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (v === undefined) throw new InputError(file, `missing field "${key}"`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new InputError(file, `field "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const posNum = (obj: Json, key: string, where: string, fallback?: number): number => {
    const v = obj[key] ?? fallback;
    if (v === undefined) throw new InputError(file, `missing field "${where}${key}"`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new InputError(file, `field "${where}${key}" must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  };

  const architecture = parseArchitecture(cfg, file);
  const hiddenSize = posInt('hidden_size');
  const nHeads = posInt('num_attention_heads');
  const nKvHeads = posInt('num_key_value_heads', nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new InputError(file, `num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
  }
  const headDim = cfg['head_dim'] === null ? hiddenSize / nHeads : posInt('head_dim', hiddenSize / nHeads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new InputError(file, `head dimension ${headDim} must be an even integer (hidden_size / num_attention_heads or head_dim)`);
  }
  const act = cfg['hidden_act'] ?? 'silu';
  if (act !== 'silu') throw new InputError(file, `hidden_act "${String(act)}" is not supported (only silu)`);

  const { ropeTheta, ropeScaling } = parseRope(cfg, file, posNum);
  const slidingWindow = parseSlidingWindow(cfg, architecture);

  return {
    architecture,
    vocabSize: posInt('vocab_size'),
    hiddenSize,
    intermediateSize: posInt('intermediate_size'),
    nLayers: posInt('num_hidden_layers'),
    nHeads,
    nKvHeads,
    headDim,
    rmsNormEps: posNum(cfg, 'rms_norm_eps', '', 1e-6),
    ropeTheta,
    ropeScaling,
    maxPositionEmbeddings: posInt('max_position_embeddings', 2048),
    tieWordEmbeddings: parseBool(cfg, 'tie_word_embeddings', false, file),
    slidingWindow,
    bosTokenId: parseTokenId(cfg['bos_token_id'], 'bos_token_id', file),
    eosTokenIds: parseEos(cfg['eos_token_id'], file),
  };
}

function parseArchitecture(cfg: Json, file: string): Architecture {
  const archs = cfg['architectures'];
  if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== 'string') {
    throw new InputError(file, 'missing field "architectures" (a list naming the model class)');
  }
  const name = archs[0];
  if (!(ARCHITECTURES as readonly string[]).includes(name)) {
    throw new InputError(file, `unsupported architecture "${name}" (supported: ${ARCHITECTURES.join(', ')})`);
  }
  return name as Architecture;
}

function parseRope(
  cfg: Json,
  file: string,
  posNum: (obj: Json, key: string, where: string, fallback?: number) => number,
): { ropeTheta: number; ropeScaling: RopeScaling } {
  // transformers ≥ 5: rope_parameters {rope_type, rope_theta, factor, …}; older: rope_theta + rope_scaling {type|rope_type, …}
  const params = cfg['rope_parameters'] ?? cfg['rope_scaling'] ?? null;
  if (params !== null && !isObject(params)) throw new InputError(file, 'rope_parameters / rope_scaling must be an object or null');
  const where = cfg['rope_parameters'] !== undefined ? 'rope_parameters.' : 'rope_scaling.';
  const p: Json = params ?? {};
  const ropeTheta = p['rope_theta'] !== undefined ? posNum(p, 'rope_theta', where) : posNum(cfg, 'rope_theta', '', 10000);
  const type = p['rope_type'] ?? p['type'] ?? 'default';
  switch (type) {
    case 'default':
      return { ropeTheta, ropeScaling: { type: 'default' } };
    case 'linear':
      return { ropeTheta, ropeScaling: { type: 'linear', factor: posNum(p, 'factor', where) } };
    case 'llama3':
      return {
        ropeTheta,
        ropeScaling: {
          type: 'llama3',
          factor: posNum(p, 'factor', where),
          lowFreqFactor: posNum(p, 'low_freq_factor', where),
          highFreqFactor: posNum(p, 'high_freq_factor', where),
          originalMaxPositionEmbeddings: posNum(p, 'original_max_position_embeddings', where),
        },
      };
    default:
      throw new InputError(file, `RoPE type "${String(type)}" is not supported (supported: default, linear, llama3)`);
  }
}

function parseSlidingWindow(cfg: Json, arch: Architecture): number | null {
  const w = cfg['sliding_window'];
  if (typeof w !== 'number' || w <= 0) return null;
  // Qwen2 configs carry a window that is only active with use_sliding_window.
  if (arch === 'Qwen2ForCausalLM' && cfg['use_sliding_window'] !== true) return null;
  return w;
}

function parseBool(cfg: Json, key: string, fallback: boolean, file: string): boolean {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'boolean') throw new InputError(file, `field "${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function parseTokenId(v: unknown, key: string, file: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InputError(file, `field "${key}" must be a token id, got ${JSON.stringify(v)}`);
  }
  return v;
}

function parseEos(v: unknown, file: string): number[] {
  if (Array.isArray(v)) return v.map((x) => parseTokenId(x, 'eos_token_id', file) as number);
  const id = parseTokenId(v, 'eos_token_id', file);
  return id === null ? [] : [id];
}
