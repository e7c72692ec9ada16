/**
 * Decode speed of a Llama-2-7B-shaped model (dim 4096, 32 layers, 32 heads,
 * ffn 11008, vocab 32000) with random bf16 weights made on the GPU: T = 1
 * forward steps against a KV cache at several positions (each its own cache of pos + steps + 1
 * rows, as `generate` sizes it), as tokens/s, beside
 * the bandwidth roofline = measured copy GB/s ÷ bytes read per token (weights,
 * plus the KV cache rows attention reads).
 *
 *   node <bundle>/bench/webgpu-decode.js [--dim 4096 --layers 32 --heads 32 --kv-heads 32
 *        --ffn 11008 --vocab 32000] [--positions 128,1024,4000] [--steps 32]
 *        [--gemv RWxTPRxUNROLLxRT,…] [--fuse-max bytes,…] [--min-threads n,…] [--one-pass-max n,…] [--out decode.json]
 *
 * --gemv and --fuse-max (MatmulTuning.fuseInputMaxBytes; "inf" folds every norm / SwiGLU input
 * into gemv1, 0 none), --min-threads (gemv1MinThreads) and --one-pass-max (AttentionTuning.onePassMaxKeys:
 * one-pass decode attention up to that many cache rows, beyond it flash-decoding) are lists: every
 * combination runs in turn on its own backend, the first being the defaults unless given.
 */
import { backend, emit, flags, list, measureCopy, measureDecode, meta, numbers } from './lib/bench-common.js';
import { DEFAULT_ATTENTION } from '../src/backend/webgpu/kernels/attention.js';
import { DEFAULT_MATMUL } from '../src/backend/webgpu/kernels/matmul.js';
import type { WebGpuBackend } from '../src/backend/webgpu/webgpu.js';
import type { Tensor } from '../src/backend/backend.js';
import type { LlamaConfig } from '../src/model/config.js';
import { createKvCache, createModel, createRunState, freeKvCache } from '../src/model/llama.js';
import type { RuntimeLayer, LlamaWeights } from '../src/model/weights.js';

const f = flags(['gemv', 'fuse-max', 'min-threads', 'one-pass-max', 'dim', 'layers', 'heads', 'kv-heads', 'ffn', 'vocab', 'positions', 'steps', 'dtype', 'out']);
const D = Number(f.dim ?? 4096);
const nHeads = Number(f.heads ?? 32);
const config: LlamaConfig = {
  architecture: 'LlamaForCausalLM',
  vocabSize: Number(f.vocab ?? 32000),
  hiddenSize: D,
  intermediateSize: Number(f.ffn ?? 11008),
  nLayers: Number(f.layers ?? 32),
  nHeads,
  nKvHeads: Number(f['kv-heads'] ?? nHeads),
  headDim: D / nHeads,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropeScaling: { type: 'default' },
  maxPositionEmbeddings: 4096,
  tieWordEmbeddings: false,
  slidingWindow: null,
  bosTokenId: 1,
  eosTokenIds: [2],
};
const positions = numbers(f.positions, '128,1024,4000');
const steps = Number(f.steps ?? 32);
const dtype = (f.dtype ?? 'bf16') as 'bf16' | 'f16' | 'f32';

const dg = DEFAULT_MATMUL.gemv;
const gemvs = list(f.gemv, `${dg.RW}x${dg.TPR}x${dg.UNROLL}x${dg.RT ?? 1}`).map((v) => {
  const [RW, TPR, UNROLL, RT] = v.split('x').map(Number) as [number, number, number?, number?];
  return { RW, TPR, UNROLL: UNROLL ?? dg.UNROLL, RT: RT ?? 1 };
});
const fuses = list(f['fuse-max'], String(DEFAULT_MATMUL.fuseInputMaxBytes)).map((v) => (v === 'inf' || v === 'Infinity' ? Infinity : Number(v)));
const rows: Record<string, unknown>[] = [];
let last: WebGpuBackend | null = null;
let copy = { gbps: 0 };
const minThreads = numbers(f['min-threads'], String(DEFAULT_MATMUL.gemv1MinThreads));
const onePass = numbers(f['one-pass-max'], String(DEFAULT_ATTENTION.onePassMaxKeys));
const combos = fuses.flatMap((x) => minThreads.flatMap((y) => onePass.map((z) => [x, y, z] as const)));
for (const gemv of gemvs) {
  for (const [fuseInputMaxBytes, gemv1MinThreads, onePassMaxKeys] of combos) {
    const tuning = { gemv, fuseInputMaxBytes, gemv1MinThreads };
    const label = { gemv, fuseInputMaxBytes: Number.isFinite(fuseInputMaxBytes) ? fuseInputMaxBytes : 'inf', gemv1MinThreads, onePassMaxKeys };
    process.stderr.write(`tuning ${JSON.stringify(label)}\n`);
    last?.dispose();
    // one error-scope pair per submit: less CPU per dispatch, which decode feels
    const b = await backend({ errorScopes: 'submit', matmul: tuning, attention: { onePassMaxKeys } });
    last = b;
    copy = await measureCopy(b, 1024, 10);
    process.stderr.write(`copy: ${copy.gbps.toFixed(1)} GB/s\n`);
    await measure(b, label, copy.gbps);
  }
}

async function measure(b: WebGpuBackend, tuning: Record<string, unknown>, copyGbps: number): Promise<void> {
  let seed = 1;
  const c = config;
  const hd = c.headDim;
  const weightBytes = { value: 0 };
  const mk = (shape: number[], scale: number, count = true): Tensor => {
    const t = b.empty(dtype, shape);
    b.randomize(t, seed++, scale);
    if (count) weightBytes.value += shape.reduce((x, y) => x * y, 1) * (dtype === 'f32' ? 4 : 2);
    return t;
  };
  const norm = (): Tensor => mk([D], 1);
  // q|k|v and gate|up merged, as the loader does for 16-bit checkpoints
  const Cqkv = (c.nHeads + 2 * c.nKvHeads) * hd;
  const layers: RuntimeLayer[] = Array.from({ length: c.nLayers }, () => ({
    attnNorm: norm(),
    qkv: { parts: [{ w: mk([Cqkv, D], 0.02), col0: 0 }], cols: Cqkv },
    wo: mk([D, c.nHeads * hd], 0.02),
    ffnNorm: norm(),
    gateUp: { parts: [{ w: mk([2 * c.intermediateSize, D], 0.02), col0: 0 }], cols: 2 * c.intermediateSize },
    wDown: mk([D, c.intermediateSize], 0.02),
  }));
  // the embedding table is read one row per token, so it is not counted
  const weights: LlamaWeights = { embed: mk([c.vocabSize, D], 0.02, false), layers, norm: norm(), lmHead: mk([c.vocabSize, D], 0.02) };
  await b.sync();
  const maxPos = Math.max(...positions) + steps + 1;
  const m = createModel(c, b, weights, maxPos);
  const s = createRunState(m, 1, false);

  for (const pos of positions) {
    // a cache of the rows this run writes (as `generate` sizes it: prompt + new tokens), so the
    // decode attention path is the one a generation of that length takes
    const kv = createKvCache(m, pos + steps + 1);
    // greedy timed twice, the second reported (as packed-decode): the first run after building the weights can read slower
    const { greedy, withRead, stream, profile } = await measureDecode(b, m, s, kv, pos, steps, 2);
    const queued = greedy[1] as number;
    const kvBytes = 2 * c.nLayers * (pos + steps / 2) * c.nKvHeads * hd * 4;
    const bytes = weightBytes.value + kvBytes;
    const roofline = (copyGbps * 1e9) / bytes;
    const row = {
      op: 'decode',
      pos,
      tokens_per_s: 1 / queued,
      tokens_per_s_first_run: 1 / (greedy[0] as number),
      tokens_per_s_with_read: 1 / withRead,
      ms_per_token: queued * 1e3,
      weight_bytes: weightBytes.value,
      kv_bytes: kvBytes,
      achieved_gbps: bytes / queued / 1e9,
      copy_gbps: copyGbps,
      tuning,
      roofline_tokens_per_s: roofline,
      fraction_of_roofline: 1 / queued / roofline,
      stream,
      profile,
    };
    rows.push(row);
    process.stderr.write(`decode pos ${pos}: ${row.tokens_per_s.toFixed(1)} tok/s (${row.tokens_per_s_with_read.toFixed(1)} with a logits read per step), roofline ${roofline.toFixed(1)} tok/s (${(100 * row.fraction_of_roofline).toFixed(1)} %)\n`);
    await b.sync();
    freeKvCache(b, kv);
  }
}
emit({ bench: 'webgpu-decode', ...meta(last as WebGpuBackend), config: { ...config, dtype }, steps, copy, rows }, f.out);
last?.dispose();
