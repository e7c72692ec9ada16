/**
 * GPU time of the decode step's token pick at batch 1: `argmax` against `Backend.sample` under
 * several filters, on one row of V logits drawn like a language model's (Gaussian, σ = --sigma,
 * --planted tokens well above the rest; 0 and a small σ: a flat row, as a random-weight model's),
 * each op timed alone by timestamp queries over --iters runs.
 *
 *   node <bundle>/bench/sample-op.js [--vocab 32000,128256] [--sigma 2.5] [--planted 8] [--iters 50] [--workgroup 1024] [--subgroups 0] [--out sample.json]
 *
 * --workgroup: the sample and argmax kernels' largest workgroup (WebGpuBackendOptions.sampleWorkgroup,
 * in the JSON `sample_workgroup_max`); each row's `workgroup` is what V used (sampleWorkgroupFor).
 * --subgroups 0: the backend without subgroups (sample's reductions through shared-memory trees).
 */
import { backend, emit, flags, meta, numbers, timeIt } from './lib/bench-common.js';
import { rng } from '../src/runtime/sampler.js';
import { sampleWorkgroupFor } from '../src/backend/webgpu/kernels/decode.js';
import { tensor } from '../src/tensor/tensor.js';

const f = flags(['vocab', 'sigma', 'planted', 'iters', 'workgroup', 'subgroups', 'out']);
const vocabs = numbers(f.vocab, '32000,128256');
const sigma = Number(f.sigma ?? 2.5);
const planted = Number(f.planted ?? 8);
const iters = Number(f.iters ?? 50);
const FILTERS = [
  { name: 'temperature 1', temperature: 1, topK: 0, topP: 1 },
  { name: 'top-k 40, top-p 0.95, T 0.8', temperature: 0.8, topK: 40, topP: 0.95 },
  { name: 'top-p 0.9', temperature: 1, topK: 0, topP: 0.9 },
  { name: 'top-k 50', temperature: 1, topK: 50, topP: 1 },
];

const b = await backend({ ...(f.workgroup !== undefined && { sampleWorkgroup: Number(f.workgroup) }), ...(f.subgroups === '0' && { subgroups: false }) });
const random = rng(1);
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const rows: Record<string, unknown>[] = [];
for (const V of vocabs) {
  const x = Float32Array.from({ length: V }, () => sigma * gauss());
  for (let i = 0; i < planted; i++) x[Math.floor(random() * V)] = 4 * sigma + i; // a few likely tokens
  const logits = b.upload(tensor('f32', [1, V], x));
  const uniforms = b.upload(tensor('f32', [1], Float32Array.of(0.37)));
  const ids = b.empty('i32', [1]);
  const time = async (run: () => void): Promise<{ us: number; timing: string }> => {
    const t = await timeIt(b, run, iters);
    return { us: (t.gpuSeconds ?? t.wallSeconds) * 1e6, timing: t.gpuSeconds !== null ? 'timestamp-query' : 'wall' };
  };
  rows.push({ op: 'argmax', V, workgroup: sampleWorkgroupFor(V, b.sampleWG), ...(await time(() => b.argmax(ids, logits))), token: ((await b.read(ids)).data as Int32Array)[0] });
  for (const flt of FILTERS) {
    const { name, ...filter } = flt;
    const t = await time(() => b.sample(ids, logits, { ...filter, uniforms }));
    rows.push({ op: 'sample', filter: name, V, workgroup: sampleWorkgroupFor(V, b.sampleWG), ...t, token: ((await b.read(ids)).data as Int32Array)[0] });
  }
  for (const t of [logits, uniforms, ids]) b.free(t);
}
for (const r of rows) process.stderr.write(`${String(r.op).padEnd(7)} V ${String(r.V).padEnd(7)} ${String(r.filter ?? '').padEnd(28)} ${(r.us as number).toFixed(1)} µs${r.workgroup ? ` (workgroup ${r.workgroup})` : ''}\n`);
emit({ bench: 'sample-op', ...meta(b), sample_workgroup_max: b.sampleWG, subgroup_size: b.subgroupSize, sigma, planted, iters, rows }, f.out);
b.dispose();
