/**
 * Decode speed of a Llama-2-7B-shaped model (or Llama-3-8B with --shape llama3-8b)
 * with random weights in every packed format (runtime/random-model.ts: int4 g128,
 * int3 g128, int2 g64, int8 g128, SpQR w3 β1 = β2 = 16 with 1 % outliers, bf16):
 * T = 1 forward steps against a KV cache at position --pos, enqueued back to back,
 * as tokens/s beside the roofline = copy GB/s (vec4 copy kernel, same run) ÷ bytes
 * read per token (matmul weights as stored + KV rows + one embedding row); and per
 * kernel (layer 0's projections and lm_head, one matmul at a time, GPU time from
 * timestamp-query when the device has it, else wall time) the GB/s of its weight.
 * `spqr-separate` is SpQR with the outliers in a second pass instead of fused.
 *
 *   node <bundle>/bench/packed-decode.js [--shape llama2-7b] [--formats int4,int3,int2,int8,spqr,spqr-separate,bf16]
 *        [--pos 128] [--steps 32] [--kernel-iters 20] [--qgemv 2x4x32] [--int1 4x32x4] [--ilv1 4x32x2x2] [--one-pass-max n] [--flash 64/256,0/1024] [--dim N --layers N --heads N --kv-heads N --ffn N --vocab N] [--outlier-rate 0.01] [--f16-sub 0] [--kv-cache f32,f16] [--out packed.json]
 * --one-pass-max: AttentionTuning.onePassMaxKeys (one-pass decode attention up to that many cache rows; beyond, flash-decoding, or split-K with --flash 0).
 * --flash L[/M][,…]: AttentionTuning.flashKeys = L (flash-decoding's keys per split above onePassMaxKeys, 0 off) and
 * onePassMaxKeys = M when given; a list measures each on the same uploaded model (one row each, after any --ilv1 /
 * --int1 list's rows, which run at the first).
 * --kv-cache f32[,f16]: the KV cache's element type; a list measures each on the same uploaded model (one row each, after
 * the --flash list's rows).
 * --f16-sub 0: int4's qgemv1_ilv decodes through 1 + q/16 even where the device keeps f16 subnormals (JSON: f16_subnormals).
 */
import { backend, emit, flags, list, measureCopy, measureDecode, meta, timeIt } from './lib/bench-common.js';
import type { Tensor } from '../src/backend/backend.js';
import type { PackedTuning } from '../src/backend/webgpu/kernels/qmatmul.js';
import type { AttentionTuning } from '../src/backend/webgpu/kernels/attention.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import { codesInterleaved } from '../src/backend/webgpu/packed.js';
import { createKvCache, createModel, createRunState, freeKvCache, freeRunState, KV_CACHE_DTYPES, kvCacheBytes, type KvCacheDType } from '../src/model/llama.js';
import { freeWeights } from '../src/model/weights.js';
import { RANDOM_FORMATS, randomConfig, uploadRandomModel, type RandomShape } from '../src/runtime/random-model.js';
import { numel } from '../src/tensor/tensor.js';

const f = flags(['shape', 'formats', 'pos', 'steps', 'kernel-iters', 'qgemv', 'int1', 'ilv1', 'one-pass-max', 'flash', 'dim', 'layers', 'heads', 'kv-heads', 'ffn', 'vocab', 'outlier-rate', 'f16-sub', 'kv-cache', 'out']);
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const shape = (f.shape ?? 'llama2-7b') as RandomShape;
const over = { dim: num(f.dim), layers: num(f.layers), heads: num(f.heads), kvHeads: num(f['kv-heads']), ffn: num(f.ffn), vocab: num(f.vocab) };
const config = randomConfig(shape, Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)));
const formats = list(f.formats, 'int4,int3,int2,int8,spqr,spqr-separate,bf16');
const pos = Number(f.pos ?? 128);
const steps = Number(f.steps ?? 32);
const kernelIters = Number(f['kernel-iters'] ?? 20);

// --qgemv RxRGxTPR: the packed GEMV's rows per row group, row groups per workgroup, threads per row group
const [R, RG, TPR] = (f.qgemv ?? '').split('x').map(Number);
// RxTPRxRG[xN][,…] → tilings whose fourth field (default 1) is named `n`
const tilings = <N extends string>(v: string | undefined, n: N): ({ R: number; TPR: number; RG: number } & Record<N, number>)[] =>
  list(v, '').map((t) => {
    const [r, tpr, rg, x] = t.split('x').map(Number) as [number, number, number, number | undefined];
    return { R: r, TPR: tpr, RG: rg, [n]: x || 1 } as { R: number; TPR: number; RG: number } & Record<N, number>;
  });
// --int1 RxTPRxRG[xCU]: the int3 and SpQR T = 1 GEMV (qgemv1): rows per thread, threads per row group, row groups per workgroup, chunks per step
// (a list: each tiling on the same uploaded model, as --ilv1)
const int1List = tilings(f.int1, 'CU');
// --ilv1 RxTPRxRGxUN[,…]: the same for the interleaved int2/4/8 images (qgemv1_ilv), UN chunks per lane in
// flight; a list measures each tiling on the same uploaded model (one row per tiling)
const ilv1List = tilings(f.ilv1, 'UN');
const tiles = {
  ...(R && RG && TPR ? { R, RG, TPR } : {}),
  ...(int1List[0] ? { int1: int1List[0] } : {}),
  ...(ilv1List[0] ? { ilv1: ilv1List[0] } : {}),
};
const flashList: Partial<AttentionTuning>[] = list(f.flash, '').map((a) => {
  const [L, M] = a.split('/').map(Number) as [number, number | undefined];
  return { flashKeys: L, ...(M !== undefined && { onePassMaxKeys: M }) };
});
const kvList = list(f['kv-cache'], 'f32').map((k) => {
  if (!(KV_CACHE_DTYPES as readonly string[]).includes(k)) throw new Error(`--kv-cache: ${k} is not one of ${KV_CACHE_DTYPES.join(', ')}`);
  return k as KvCacheDType;
});
const attention = { ...(f['one-pass-max'] === undefined ? {} : { onePassMaxKeys: Number(f['one-pass-max']) }), ...flashList[0] };
const backends = new Map<string, WebGpuBackend>();
const gpu = async (outliers: 'fused' | 'separate'): Promise<WebGpuBackend> => {
  let b = backends.get(outliers);
  if (!b) {
    b = await backend({ errorScopes: 'submit', packed: { spqrOutliers: outliers, ...tiles }, attention, f16SubnormalDecode: f['f16-sub'] !== '0' });
    backends.set(outliers, b);
  }
  return b;
};
const b0 = await gpu('fused');
const copy = await measureCopy(b0, 1024, 10);
process.stderr.write(`${b0.description}; f16 subnormals: ${b0.f16Subnormals}\ncopy: ${copy.gbps.toFixed(1)} GB/s\n`);

const bytesOf = (t: Tensor): number => ('bytes' in t && typeof t.bytes === 'number' ? t.bytes : numel(t.shape) * (t.dtype === 'f32' ? 4 : 2));
const rows: Record<string, unknown>[] = [];
for (const name of formats) {
  const separate = name.endsWith('-separate');
  const known = RANDOM_FORMATS[separate ? name.slice(0, -'-separate'.length) : name];
  if (!known) throw new Error(`unknown format ${name} (${Object.keys(RANDOM_FORMATS).join(', ')}, spqr-separate)`);
  // --outlier-rate: SpQR's outlier fraction instead of 1 % (0: what the outliers cost)
  const spec = known.outlierRate !== undefined && f['outlier-rate'] !== undefined ? { ...known, outlierRate: Number(f['outlier-rate']) } : known;
  const b = await gpu(separate ? 'separate' : 'fused');
  const t0 = performance.now();
  const { stats, ...weights } = await uploadRandomModel(config, spec, b, 'packed');
  await b.sync();
  const buildSeconds = (performance.now() - t0) / 1000;
  let m = createModel(config, b, weights, pos + steps + 1, kvList[0]);
  let kv = createKvCache(m, pos + steps + 1);
  let s = createRunState(m, 1, false);
  const interleaved = codesInterleaved(spec.format, spec.params);
  const packedT1 = !['bf16', 'f16', 'f32'].includes(spec.format);
  const retune: Partial<PackedTuning>[] = interleaved ? ilv1List.map((ilv1) => ({ ilv1 })) : packedT1 ? int1List.map((int1) => ({ int1 })) : [];
  // per kernel: each projection of layer 0 and lm_head alone
  const L = weights.layers[0]!;
  const named = (names: string[], p: typeof L.qkv): [string, Tensor][] => p.parts.map((q, i) => [p.parts.length === 1 ? names.join('|') : (names[i] as string), q.w]);
  const projections: [string, Tensor][] = [...named(['q', 'k', 'v'], L.qkv), ['o', L.wo], ...named(['gate', 'up'], L.gateUp), ['down', L.wDown], ['lm_head', weights.lmHead]];
  const runs: ({ packed: Partial<PackedTuning> } | { attention: Partial<AttentionTuning> } | { kvCache: KvCacheDType } | null)[] = [
    ...(retune.length > 1 ? retune.map((packed) => ({ packed })) : [null]),
    ...flashList.slice(1).map((a) => ({ attention: { ...b0.attentionTuning, ...a } })),
    ...kvList.slice(1).map((kvCache) => ({ kvCache })),
  ];
  for (const t of runs) {
    if (t && 'kvCache' in t) {
      // the same weights, a model record and cache of the other element type
      freeRunState(b, s);
      freeKvCache(b, kv);
      for (const x of [m.cos, m.sin]) b.free(x);
      m = createModel(config, b, weights, pos + steps + 1, t.kvCache);
      kv = createKvCache(m, pos + steps + 1);
      s = createRunState(m, 1, false);
    } else if (t && 'attention' in t) b.setAttentionTuning(t.attention);
    else if (t) b.setPackedTuning(t.packed);
    const kvBytes = kvCacheBytes(m, pos + steps / 2);
    const bytes = stats.matmulBytes + kvBytes + config.hiddenSize * 2;
    const roofline = (copy.gbps * 1e9) / bytes;
    // greedy timed twice: right after uploading gigabytes of weights the first run has read up to 1.6× slower on the H200
    const { greedy, withRead: secRead, stream, profile } = await measureDecode(b, m, s, kv, pos, steps, 2);
    const sec = greedy[1] as number;
    const kernels: Record<string, unknown>[] = [];
    for (const [kname, w] of projections) {
      const [M, K] = w.shape as [number, number];
      const x = b.empty('f32', [1, K]);
      const out = b.empty('f32', [1, M]);
      const t = await timeIt(b, () => b.matmul(out, x, w), kernelIters);
      const ks = t.gpuSeconds ?? t.wallSeconds;
      kernels.push({ kernel: kname, format: w.format ?? w.dtype, M, K, bytes: bytesOf(w), us: ks * 1e6, timing: t.gpuSeconds !== null ? 'timestamp-query' : 'wall', gbps: bytesOf(w) / ks / 1e9, fraction_of_copy: bytesOf(w) / ks / 1e9 / copy.gbps });
      b.free(x);
      b.free(out);
    }
    const row = {
      format: name,
      ...(spec.outlierRate !== undefined && { outlier_rate: spec.outlierRate }),
      ...(interleaved ? { ilv1: b.packedTuning.ilv1 } : packedT1 && { int1: b.packedTuning.int1 }),
      attention: b.attentionTuning,
      kv_cache: m.kvCache,
      pos,
      tokens_per_s: 1 / sec,
      tokens_per_s_first_run: 1 / (greedy[0] as number),
      tokens_per_s_with_read: 1 / secRead,
      ms_per_token: sec * 1e3,
      bytes_per_token: bytes,
      weight_bytes_per_token: stats.matmulBytes,
      kv_bytes: kvBytes,
      achieved_gbps: bytes / sec / 1e9,
      copy_gbps: copy.gbps,
      roofline_tokens_per_s: roofline,
      fraction_of_roofline: 1 / sec / roofline,
      weight_bytes: stats.bytes,
      bf16_weight_bytes: stats.bf16Bytes,
      build_seconds: buildSeconds,
      kernels,
      stream,
      profile,
    };
    rows.push(row);
    const tiling = (interleaved ? ` (qgemv1_ilv ${Object.values(b.packedTuning.ilv1).join('x')})` : packedT1 ? ` (qgemv1 ${Object.values(b.packedTuning.int1).join('x')})` : '') + ` (flash ${b.attentionTuning.flashKeys} above ${b.attentionTuning.onePassMaxKeys}, KV ${m.kvCache})`;
    process.stderr.write(
      `${name}${tiling}: ${row.tokens_per_s.toFixed(1)} tok/s (first run ${row.tokens_per_s_first_run.toFixed(1)}, ${row.tokens_per_s_with_read.toFixed(1)} with reads), ${(bytes / 2 ** 20).toFixed(0)} MiB/token, ` +
        `${row.achieved_gbps.toFixed(0)} GB/s = ${(100 * row.fraction_of_roofline).toFixed(1)} % of roofline; kernels ${kernels.map((k) => `${k.kernel} ${(k.gbps as number).toFixed(0)}`).join(' ')} GB/s\n`,
    );
  }
  if (retune.length > 1) b.setPackedTuning(retune[0] as Partial<PackedTuning>); // the next format starts from the first tiling again
  if (flashList.length > 1) b.setAttentionTuning(b0.attentionTuning);
  freeRunState(b, s);
  freeKvCache(b, kv);
  freeWeights(b, weights);
  for (const t of [m.cos, m.sin]) b.free(t);
  await b.sync();
}
const bf16 = rows.find((r) => r.format === 'bf16');
// per format its first row (the default tiling when a list was measured)
const firsts = rows.filter((r, i) => rows.findIndex((q) => q.format === r.format) === i);
const speedups = bf16 ? Object.fromEntries(firsts.map((r) => [r.format, (r.tokens_per_s as number) / (bf16.tokens_per_s as number)])) : null;
emit({ bench: 'packed-decode', ...meta(b0), shape, config, steps, f16_subnormals: b0.f16Subnormals, qgemv: b0.packedTuning, attention: b0.attentionTuning, copy, speedup_vs_bf16: speedups, rows }, f.out);
for (const b of backends.values()) b.dispose();
