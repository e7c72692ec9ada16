/**
 * GPTQ on the WebGPU backend over a Llama-2-7B-shaped stack of transformer
 * blocks with random weights: per block, the four input groups (q/k/v, o,
 * gate/up: in = dim; down: in = ffn), each with a Hessian accumulated by
 * `gram` from random activations, factored once (quant/gptq-backend.ts
 * factorHessian), then every layer of the group quantized (quantizeWithFactor:
 * the column loop, the lazy batch updates and the layer error on the GPU).
 *
 *   node <bundle>/bench/gptq-7b.js [--dim 4096] [--ffn 11008] [--heads 32] [--blocks 2]
 *        [--tokens 16384] [--chunk 2048] [--bits 4] [--group 128] [--out gptq-webgpu.json]
 *
 * Activations are uniform in [−1, 1) from the GPU generator (seed = block·16 +
 * group), weights uniform in [−0.02, 0.02) (seed = block·16 + layer + 100);
 * bench/gptq_torch.py builds the same shapes from the same seeds with torch's
 * generator (other numbers, same distribution: the timing does not depend on
 * them). Times are wall seconds with a device sync at each phase's end.
 */
import { backend, emit, flags, meta } from './lib/bench-common.js';
import { factorHessian, freeFactor, quantizeWithFactor } from '../src/quant/gptq-backend.js';
import type { GptqConfig } from '../src/quant/types.js';
import type { HostTensor } from '../src/tensor/tensor.js';

const f = flags(['dim', 'ffn', 'heads', 'blocks', 'tokens', 'chunk', 'bits', 'group', 'out']);
const dim = Number(f.dim ?? 4096);
const ffn = Number(f.ffn ?? 11008);
const heads = Number(f.heads ?? 32);
const blocks = Number(f.blocks ?? 2);
const tokens = Number(f.tokens ?? 16384);
const chunk = Math.min(tokens, Number(f.chunk ?? 2048));
const cfg: Partial<GptqConfig> = { bits: Number(f.bits ?? 4), groupSize: Number(f.group ?? 128), blockSize: 128, percdamp: 0.01 };
if (dim % heads !== 0 || tokens % chunk !== 0) throw new Error('--dim must be a multiple of --heads and --tokens of --chunk');

const GROUPS: { id: string; K: number; layers: { name: string; out: number }[] }[] = [
  { id: 'qkv', K: dim, layers: [{ name: 'q_proj', out: dim }, { name: 'k_proj', out: dim }, { name: 'v_proj', out: dim }] },
  { id: 'o', K: dim, layers: [{ name: 'o_proj', out: dim }] },
  { id: 'gate_up', K: dim, layers: [{ name: 'gate_proj', out: ffn }, { name: 'up_proj', out: ffn }] },
  { id: 'down', K: ffn, layers: [{ name: 'down_proj', out: dim }] },
];

const b = await backend();
const info = meta(b);
const seconds = async (fn: () => unknown | Promise<unknown>): Promise<number> => {
  const t0 = performance.now();
  await fn();
  await b.sync();
  return (performance.now() - t0) / 1000;
};

const rows: Record<string, unknown>[] = [];
const totals = { hessian: 0, factor: 0, gptq: 0, columns: 0, error: 0 };
const tAll = performance.now();
for (let l = 0; l < blocks; l++) {
  for (const [gi, g] of GROUPS.entries()) {
    const H = b.empty('f32', [g.K, g.K]);
    const x = b.empty('f32', [chunk, g.K]);
    const hessian = await seconds(() => {
      for (let c = 0; c < tokens / chunk; c++) {
        b.randomize(x, l * 16 + gi + 1000 * c, 1);
        b.gram(H, x, 2 / tokens);
      }
    });
    b.free(x);
    let factor = null as Awaited<ReturnType<typeof factorHessian>> | null;
    const factorS = await seconds(async () => {
      factor = await factorHessian(b, H, cfg);
    });
    rows.push({ block: l, group: g.id, K: g.K, tokens, hessian_s: hessian, factor_s: factorS });
    totals.hessian += hessian;
    totals.factor += factorS;
    process.stderr.write(`block ${l} ${g.id}: H [${g.K}, ${g.K}] from ${tokens} tokens ${hessian.toFixed(2)} s, cholesky/inverse ${factorS.toFixed(2)} s\n`);
    for (const [li, layer] of g.layers.entries()) {
      const w = b.empty('f32', [layer.out, g.K]);
      b.randomize(w, l * 16 + li + 100 + gi * 4, 0.02);
      const W = (await b.read(w)) as HostTensor<'f32'>;
      const timings = { factor: 0, columns: 0, error: 0 };
      let rel = 0;
      const s = await seconds(async () => {
        const r = await quantizeWithFactor(b, W, w, H, factor as NonNullable<typeof factor>, cfg, timings);
        rel = r.error?.relative ?? NaN;
      });
      b.free(w);
      rows.push({ block: l, group: g.id, layer: layer.name, shape: [layer.out, g.K], gptq_s: s, columns_s: timings.columns, error_s: timings.error, rel_error: rel });
      totals.gptq += s;
      totals.columns += timings.columns;
      totals.error += timings.error;
      process.stderr.write(`  ${layer.name} [${layer.out}, ${g.K}]: ${s.toFixed(2)} s (columns + readback ${timings.columns.toFixed(2)} s, error ${timings.error.toFixed(2)} s), relative error ${rel.toExponential(3)}\n`);
    }
    freeFactor(b, factor as NonNullable<typeof factor>);
    b.free(H);
  }
}
const total = (performance.now() - tAll) / 1000;
process.stderr.write(`total ${total.toFixed(1)} s (Hessians ${totals.hessian.toFixed(1)}, cholesky/inverse ${totals.factor.toFixed(1)}, GPTQ ${totals.gptq.toFixed(1)})\n`);
emit({ ...info, engine: 'lowbit webgpu (quant/gptq-backend.ts, f32)', config: { dim, ffn, heads, blocks, tokens, chunk, ...cfg }, rows, totals: { ...totals, total } }, f.out);
b.dispose();
