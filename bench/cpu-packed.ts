/**
 * CPU matmul on packed weights at a Llama-2-7B shape (down: 4096 × 11008): the same random packed
 * tensor per format through the Node CPU backend's default (the WASM qgemm for int2/3/4/8 and SpQR, the JS
 * decoder of backend/cpu/packed-fast.ts otherwise), through the JS decoder alone, through the
 * reference decode (backend/cpu/packed.ts), each with the same WASM matmul, and its unpacked Ŵ as
 * a dense f32 weight (what `--weights dequant` runs), all on the same threads.
 * Best of 3 timed runs after a warm-up (the reference decode: one); ms per matmul.
 *
 *   npm run bench:cpu-packed   or   node dist/bench/cpu-packed.js [--quick]   (without --quick: writes bench/results/cpu-packed.{json,md})
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { GemmThreadPool } from '../src/backend/cpu/node-threads.js';
import { FORMATS } from '../src/formats/index.js';
import { randomPacked } from '../src/formats/random.js';
import type { FormatId, FormatParams } from '../src/formats/types.js';
import { tensor } from '../src/tensor/tensor.js';

const quick = process.argv.includes('--quick');
const [M, K] = quick ? [1024, 2048] : [4096, 11008];
const FORMATS_RUN: [string, FormatId, FormatParams][] = [
  ['int4 g128', 'int4', { groupSize: 128, permuted: 0 }],
  ['int3 g128', 'int3', { groupSize: 128, permuted: 0 }],
  ['int2 g64', 'int2', { groupSize: 64, permuted: 0 }],
  ['int8 g128', 'int8', { groupSize: 128, permuted: 0 }],
  ['spqr w3 β16, 1 % outliers', 'spqr', { bits: 3, groupSize: 16, qqBits: 3, qqGroup: 16, permuted: 0 }],
];
const threads = availableParallelism();

function backendOf(packed: 'wasm' | 'js' | 'reference'): { b: CpuBackend; ready: Promise<void> } {
  const pool = new GemmThreadPool({ threads });
  const b = new CpuBackend({
    matmul: pool.matmul,
    matmulName: `wasm simd, ${threads} threads`,
    storage: 'shared',
    arena: pool.arena,
    release: () => pool.dispose(),
    packed: packed === 'reference' ? 'reference' : 'fast',
    ...(packed === 'wasm' && { qmatmul: pool.qmatmul }),
  });
  return { b, ready: pool.ready };
}

function best(runs: number, f: () => void): number {
  f();
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

interface Row {
  format: string;
  T: number;
  weights: 'packed, default decode' | 'packed, JS decode' | 'packed, reference decode' | 'dense f32 (dequant)';
  /** How the default backend decoded it (packedPath). */
  path: string;
  weight_bytes: number;
  best_ms: number;
}

const rows: Row[] = [];
const loadBefore = loadavg()[0] as number;
const fast = backendOf('wasm');
const js = backendOf('js');
const ref = backendOf('reference');
await Promise.all([fast.ready, js.ready, ref.ready]);
for (const [name, f, params] of FORMATS_RUN) {
  const p = randomPacked(f, [M, K], params, 1, { outlierRate: 0.01 });
  const packedBytes = Object.values(p.arrays).reduce((n, a) => n + a.length, 0);
  const W = FORMATS[f].unpack(p).weight;
  for (const T of [1, 64]) {
    const x = new Float32Array(T * K).map((_, i) => Math.sin(i));
    const cases: [Row['weights'], CpuBackend, () => ReturnType<Backend['uploadPacked']>, number][] = [
      ['packed, default decode', fast.b, () => fast.b.uploadPacked(p), packedBytes],
      ['packed, JS decode', js.b, () => js.b.uploadPacked(p), packedBytes],
      ['packed, reference decode', ref.b, () => ref.b.uploadPacked(p), packedBytes],
      ['dense f32 (dequant)', fast.b, () => fast.b.upload(tensor('f32', [M, K], W)), 4 * M * K],
    ];
    for (const [weights, b, up, bytes] of cases) {
      if (weights === 'packed, reference decode' && T > 1 && !quick) continue; // the decode is per call, as at T = 1
      const w = up();
      const path = b.packedPath(w) ?? 'dense';
      const xt = b.upload(tensor('f32', [T, K], x));
      const out = b.empty('f32', [T, M]);
      const ms = best(weights === 'packed, reference decode' ? 1 : 3, () => b.matmul(out, xt, w));
      b.free(w);
      b.free(xt);
      b.free(out);
      rows.push({ format: name, T, weights, path, weight_bytes: bytes, best_ms: Number(ms.toFixed(2)) });
      console.error(`${name.padEnd(28)} T=${String(T).padEnd(3)} ${weights.padEnd(26)} ${path.padEnd(9)} ${ms.toFixed(2).padStart(9)} ms`);
    }
  }
}
fast.b.dispose();
js.b.dispose();
ref.b.dispose();

let commit = 'unknown';
try {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { encoding: 'utf8' }).trim();
  commit = dirty ? `${head}+dirty` : head;
} catch {
  // not a checkout
}
const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, threads, node: process.version, load_average_1m_before: Number(loadBefore.toFixed(2)), load_average_1m_after: Number((loadavg()[0] as number).toFixed(2)) };
const result = { bench: 'cpu-packed', date: new Date().toISOString(), commit, machine, shape: { M, K }, rows };
const find = (format: string, T: number, w: Row['weights']): Row | undefined => rows.find((r) => r.format === format && r.T === T && r.weights === w);
const md = [
  `# CPU matmul on packed weights (${M} × ${K}, Llama-2-7B's down projection)`,
  '',
  `${result.date.slice(0, 10)}, commit ${commit}, ${machine.cpu} (${machine.cores} cores, ${threads} threads), Node ${machine.node}, 1-min load average ${machine.load_average_1m_before} before / ${machine.load_average_1m_after} after (other processes share this machine).`,
  'Best of 3 runs after a warm-up (the reference decode: 1 run), through the backend API, weights uploaded once; one random tensor per format.',
  '',
  '| format | T | weights | decoded by | weight MB | ms | vs reference decode | vs dense f32 |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const rd = find(r.format, r.T, 'packed, reference decode') ?? find(r.format, 1, 'packed, reference decode');
    const d = find(r.format, r.T, 'dense f32 (dequant)');
    const vs = (o: Row | undefined): string => (o && o !== r ? `${(o.best_ms / r.best_ms).toFixed(2)}× (${o.best_ms} ms${o.T !== r.T ? ` at T = ${o.T}` : ''})` : '');
    return `| ${r.format} | ${r.T} | ${r.weights} | ${r.path} | ${(r.weight_bytes / 1e6).toFixed(1)} | ${r.best_ms} | ${vs(rd)} | ${vs(d)} |`;
  }),
  '',
  'A ratio above 1 means this row is faster. "wasm": gemm.wat\'s qgemm (codes decoded in SIMD registers, tiles of 2^16 values, on every thread; at T = 1 dotted with x in registers, no tile); "js": packed-fast.ts\'s decoder on the calling thread, then the WASM GEMM; "reference": packed.ts\'s per-weight loop, what every WGSL kernel is tested against. All give the same Ŵ bit for bit (test/cpu-packed-fast.test.ts).',
  '',
];
if (quick) console.log(md.join('\n'));
else {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/cpu-packed.json', `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync('bench/results/cpu-packed.md', md.join('\n'));
  console.error('wrote bench/results/cpu-packed.{json,md}');
}
