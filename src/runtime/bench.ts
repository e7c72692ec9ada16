/**
 * `lowbit bench`: prefill and decode speed of a loaded model, bytes read per
 * decoded token, achieved GB/s, and the fraction of the bandwidth roofline, where
 * the roofline is a vec4 copy kernel measured in the same run on the same device
 * (WebGPU only; null on the CPU). Also the memory the weights and the KV cache
 * take vs the same model in bf16.
 *
 * Decode is measured twice, each the median of `decodeRuns` timed runs of genTokens tokens (wall
 * time, so one host stall in a run does not set the figure): `decode_tokens_per_s` as greedy generation runs it
 * (on the device: the step recorded once, in the warm-up, and replayed, tokens read back in
 * chunks; what the roofline fraction uses; the recording's host time is `decode_record_ms`) and `decode_tokens_per_s_sampling`
 * as sampled generation runs it: the same loop with Backend.sample in place of
 * argmax, at `SAMPLING` (llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95).
 */
import type { Backend } from '../backend/backend.js';
import { WebGpuBackend } from '../backend/webgpu/webgpu.js';
import { DeviceDecoder, drain } from './decode.js';
import { createKvCache, createRunState, forward, freeKvCache, freeRunState, kvCacheBytes, type KvCacheDType, type LlamaModel } from '../model/llama.js';
import type { WeightStats } from '../model/weights.js';
import { tensor } from '../tensor/tensor.js';
import { rng, Sampler } from './sampler.js';

/** The filter `decode_tokens_per_s_sampling` samples with. */
export const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95 } as const;

export interface BenchOptions {
  readonly promptTokens: number;
  readonly genTokens: number;
  /** Timed prefill repetitions (after one warm-up). */
  readonly prefillRuns?: number;
  /** Timed decodes of genTokens each, greedy and sampled (after one warm-up); the median is reported (default 3). */
  readonly decodeRuns?: number;
  readonly seed?: number;
  /** The roofline's copy GB/s when measured already (before loading the model); null: none off WebGPU. */
  readonly copyGbps?: number | null;
}

export interface BenchResult {
  readonly backend: string;
  readonly prompt_tokens: number;
  readonly gen_tokens: number;
  readonly prefill_tokens_per_s: number;
  readonly decode_tokens_per_s: number;
  readonly decode_tokens_per_s_sampling: number;
  /** The filter decode_tokens_per_s_sampling sampled with (SAMPLING). */
  readonly sampling: { readonly temperature: number; readonly top_k: number; readonly top_p: number };
  /** Timed decode runs behind each decode figure (its median). */
  readonly decode_runs: number;
  /**
   * Host milliseconds the warm-up took to record the decode step (the slower of greedy's and
   * sampling's), compiling its pipelines when first used: what a generation pays once, before its
   * second token; the decode rates replay that recording.
   */
  readonly decode_record_ms: number;
  /** Matmul weights + KV rows attention reads (mean over the decoded positions) + one embedding row. */
  readonly bytes_per_token: number;
  readonly weight_bytes_per_token: number;
  readonly kv_bytes_per_token: number;
  readonly achieved_gbps: number;
  readonly copy_gbps: number | null;
  readonly roofline_tokens_per_s: number | null;
  readonly fraction_of_roofline: number | null;
  readonly memory: {
    readonly weight_bytes: number;
    /** The KV cache's element type and bytes (prompt + generated rows). */
    readonly kv_cache: KvCacheDType;
    readonly kv_cache_bytes: number;
    readonly bf16_weight_bytes: number;
    /** (weights + KV) / (bf16 weights + the same KV cache). */
    readonly ratio_vs_bf16: number;
  };
  readonly weights_packed: Record<string, number>;
  readonly weights_dequantized: number;
}

/** Copy GB/s (one read and one write per byte) of up to 1 GiB (as bench/webgpu-copy.ts) through the vec4 copy kernel; null off WebGPU. */
export async function copyBandwidth(b: Backend, iters = 10): Promise<number | null> {
  if (!(b instanceof WebGpuBackend)) return null;
  const n = Math.floor(Math.min(2 ** 30, b.maxBindingBytes) / 16) * 4;
  const src = b.empty('f32', [n]);
  const dst = b.empty('f32', [n]);
  b.randomize(src, 3, 1);
  for (let i = 0; i < 2; i++) b.copyVec4(dst, src);
  await b.sync();
  const timed = b.ctx.beginTiming();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) b.copyVec4(dst, src);
  await b.sync();
  let sec = (performance.now() - t0) / 1000 / iters;
  if (timed) {
    const t = await b.ctx.endTiming();
    if (t.missed === 0 && t.ns > 0) sec = t.ns / 1e9 / iters;
  }
  b.free(src);
  b.free(dst);
  return (2 * n * 4) / sec / 1e9;
}

/** The middle value (the mean of the two middle ones for an even count). */
function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? (s[h] as number) : ((s[h - 1] as number) + (s[h] as number)) / 2;
}

export async function benchModel(m: LlamaModel, stats: WeightStats, o: BenchOptions): Promise<BenchResult> {
  const b = m.backend;
  const c = m.config;
  const P = o.promptTokens;
  const G = o.genTokens;
  if (P < 1 || G < 1) throw new Error('bench: --prompt-tokens and --gen-tokens must be ≥ 1');
  if (P + G > m.maxPositions) throw new Error(`bench: ${P} + ${G} tokens exceed the model's ${m.maxPositions} positions`);
  const decodeRuns = o.decodeRuns ?? 3;
  if (!Number.isInteger(decodeRuns) || decodeRuns < 1) throw new Error(`bench: decodeRuns must be an integer ≥ 1 (got ${decodeRuns})`);
  const copy = o.copyGbps !== undefined ? o.copyGbps : await copyBandwidth(b);
  const random = rng(o.seed ?? 0);
  const prompt = Int32Array.from({ length: P }, () => Math.floor(random() * c.vocabSize));
  const kv = createKvCache(m, P + G);
  const pre = createRunState(m, P, false);
  const dec = createRunState(m, 1, false);
  try {
    b.write(pre.ids, tensor('i32', [P], prompt));
    forward(m, pre, kv, 0); // warm-up (pipelines)
    await b.read(pre.logits);
    const runs = o.prefillRuns ?? 2;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) forward(m, pre, kv, 0);
    await b.read(pre.logits);
    const prefill = (P * runs) / ((performance.now() - t0) / 1000);
    // decode as generation runs it, on the device: greedy (argmax), then sampled (Backend.sample)
    const sampler = new Sampler({ ...SAMPLING, seed: o.seed ?? 0 });
    const u = new Float32Array(kv.rows + 1).map(() => sampler.uniform());
    const uniforms = b.upload(tensor('f32', [u.length], u));
    let recordMs = 0;
    const timed = async (sample: boolean): Promise<number> => {
      const d = new DeviceDecoder(m, dec, kv, sample ? { ...SAMPLING, uniforms } : undefined);
      try {
        b.write(dec.ids, tensor('i32', [1], Int32Array.of(0)));
        await drain(d.run(P, 2)); // warm-up: pipelines, and the step's recording, which the timed runs replay
        recordMs = Math.max(recordMs, d.recordMs ?? 0);
        const rates: number[] = [];
        for (let i = 0; i < decodeRuns; i++) {
          b.write(dec.ids, tensor('i32', [1], Int32Array.of(0)));
          await b.sync();
          const t = performance.now();
          await drain(d.run(P, G, { chunk: 16 }));
          rates.push(G / ((performance.now() - t) / 1000));
        }
        return median(rates);
      } finally {
        d.dispose();
      }
    };
    let queued: number;
    let decode: number;
    try {
      queued = await timed(false);
      decode = await timed(true);
    } finally {
      b.free(uniforms);
    }
    const meanPos = P + (G + 1) / 2;
    const kvPerToken = kvCacheBytes(m, meanPos);
    const embedRow = c.hiddenSize * 2;
    const bytes = stats.matmulBytes + kvPerToken + embedRow;
    const kvCache = kvCacheBytes(m, P + G);
    const achieved = (bytes * queued) / 1e9;
    const roofline = copy === null ? null : (copy * 1e9) / bytes;
    return {
      backend: b.description,
      prompt_tokens: P,
      gen_tokens: G,
      prefill_tokens_per_s: prefill,
      decode_tokens_per_s: queued,
      decode_tokens_per_s_sampling: decode,
      sampling: { temperature: SAMPLING.temperature, top_k: SAMPLING.topK, top_p: SAMPLING.topP },
      decode_runs: decodeRuns,
      decode_record_ms: recordMs,
      bytes_per_token: bytes,
      weight_bytes_per_token: stats.matmulBytes,
      kv_bytes_per_token: kvPerToken,
      achieved_gbps: achieved,
      copy_gbps: copy,
      roofline_tokens_per_s: roofline,
      fraction_of_roofline: roofline === null ? null : queued / roofline,
      memory: { weight_bytes: stats.bytes, kv_cache: m.kvCache, kv_cache_bytes: kvCache, bf16_weight_bytes: stats.bf16Bytes, ratio_vs_bf16: (stats.bytes + kvCache) / (stats.bf16Bytes + kvCache) },
      weights_packed: stats.packed,
      weights_dequantized: stats.dequantized,
    };
  } finally {
    freeRunState(b, pre);
    freeRunState(b, dec);
    freeKvCache(b, kv);
  }
}
