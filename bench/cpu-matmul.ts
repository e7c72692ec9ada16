/**
 * CPU matmul throughput: the reference triple loop, the WASM SIMD GEMM on one
 * thread, and on all threads, through the backend API (weights uploaded once,
 * as the model does). Each number is the best of ≥ 3 timed runs after one
 * warm-up run. GFLOP/s = 2·T·K·M / seconds.
 *
 *   npm run bench:cpu            (writes bench/results/cpu-matmul.{json,md})
 *   node dist/bench/cpu-matmul.js [--quick]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import type { Backend } from '../src/backend/backend.js';
import { CpuBackend } from '../src/backend/cpu/cpu.js';
import { createFastCpuBackend } from '../src/backend/cpu/fast.js';
import { createCpuBackend } from '../src/backend/cpu/node-cpu.js';
import { tensor } from '../src/tensor/tensor.js';
import { gaussian, mulberry32 } from '../tools/parity/synthetic.js';

interface Shape {
  readonly name: string;
  readonly T: number;
  readonly K: number;
  readonly M: number;
}

interface Row {
  readonly shape: string;
  readonly T: number;
  readonly K: number;
  readonly M: number;
  readonly backend: string;
  readonly runs: number;
  readonly best_ms: number;
  readonly gflops: number;
  /** max |out − reference| / max |reference| on this shape. */
  readonly max_rel_diff_vs_reference: number;
}

const quick = process.argv.includes('--quick');
const SHAPES: Shape[] = [
  { name: 'square 1024', T: 1024, K: 1024, M: 1024 },
  { name: 'prefill 128 tokens, 768→2048', T: 128, K: 768, M: 2048 },
  { name: 'decode 1 token, 4096→4096', T: 1, K: 4096, M: 4096 },
];

function timeIt(runs: number, f: () => void): number {
  f(); // warm-up
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

async function measure(be: Backend, s: Shape, x: Float32Array, w: Float32Array, runs: number): Promise<{ ms: number; out: Float32Array }> {
  const xt = be.upload(tensor('f32', [s.T, s.K], x));
  const wt = be.upload(tensor('f32', [s.M, s.K], w));
  const ot = be.empty('f32', [s.T, s.M]);
  // Enough repetitions per timed run that short shapes are not timer noise.
  const reps = Math.max(1, Math.round(2e8 / (s.T * s.K * s.M)));
  const ms = timeIt(runs, () => {
    for (let r = 0; r < reps; r++) be.matmul(ot, xt, wt);
  }) / reps;
  const out = (await be.read(ot)).data as Float32Array;
  be.free(xt);
  be.free(wt);
  be.free(ot);
  return { ms, out };
}

function maxRelDiff(a: Float32Array, ref: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return d / m;
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

const threads = availableParallelism();
const backends: [string, () => Backend, number][] = [
  ['reference', () => new CpuBackend(), 3],
  ['wasm 1 thread', () => createFastCpuBackend(), 10],
  [`wasm ${threads} threads`, () => createCpuBackend({ threads }), 10],
];

// Other processes share the machine: the 1-minute load average before and after says how quiet it was.
const loadBefore = loadavg()[0]!;
const rows: Row[] = [];
let description = '';
for (const s of quick ? SHAPES.slice(0, 1) : SHAPES) {
  const g = gaussian(mulberry32(1));
  const x = new Float32Array(s.T * s.K).map(() => g());
  const w = new Float32Array(s.M * s.K).map(() => g());
  let ref: Float32Array | undefined;
  for (const [name, make, runs] of backends) {
    const be = make();
    try {
      if (name.includes('threads')) description = be.description;
      await new Promise((resolve) => setTimeout(resolve, 300)); // worker threads start
      const { ms, out } = await measure(be, s, x, w, quick ? 3 : runs);
      ref ??= out;
      const row: Row = {
        shape: s.name,
        T: s.T,
        K: s.K,
        M: s.M,
        backend: be.description,
        runs: quick ? 3 : runs,
        best_ms: Number(ms.toFixed(3)),
        gflops: Number(((2 * s.T * s.K * s.M) / ms / 1e6).toFixed(2)),
        max_rel_diff_vs_reference: maxRelDiff(out, ref),
      };
      rows.push(row);
      console.error(`${s.name.padEnd(32)} ${row.backend.padEnd(30)} ${row.best_ms.toFixed(2).padStart(9)} ms ${row.gflops.toFixed(2).padStart(8)} GFLOP/s`);
    } finally {
      be.dispose();
    }
  }
}

const cpuList = cpus();
const machine = {
  cpu: cpuList[0]?.model ?? 'unknown',
  cores: cpuList.length,
  available_parallelism: threads,
  memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
  node: process.version,
  load_average_1m_before: Number(loadBefore.toFixed(2)),
  load_average_1m_after: Number(loadavg()[0]!.toFixed(2)),
};
const result = { bench: 'cpu-matmul', date: new Date().toISOString(), commit: gitCommit(), machine, threaded_backend: description, rows };
const ratio = (shape: string, b: string): string => {
  const r = rows.filter((x) => x.shape === shape);
  const base = r.find((x) => x.backend.includes('reference'))!;
  const other = r.find((x) => x.backend.includes(b))!;
  return `${(other.gflops / base.gflops).toFixed(1)}×`;
};
const md = [
  '# CPU matmul throughput (out = x·Wᵀ, f32)',
  '',
  `${result.date.slice(0, 10)}, commit ${result.commit}, ${machine.cpu} (${machine.cores} cores, ${threads} threads used), Node ${machine.node}, ` +
    `1-min load average ${machine.load_average_1m_before} before / ${machine.load_average_1m_after} after (other processes share this machine).`,
  'Best of ≥ 3 runs after a warm-up, through the backend API with weights uploaded once. GFLOP/s = 2·T·K·M / s.',
  '',
  '| shape | T×K×M | backend | best ms | GFLOP/s | vs reference | max rel Δ vs reference |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.shape} | ${r.T}×${r.K}×${r.M} | ${r.backend} | ${r.best_ms.toFixed(2)} | ${r.gflops.toFixed(2)} | ` +
      `${ratio(r.shape, r.backend)} | ${r.max_rel_diff_vs_reference.toExponential(1)} |`,
  ),
  '',
];
if (!quick) {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/cpu-matmul.json', `${JSON.stringify(result, null, 1)}\n`);
  writeFileSync('bench/results/cpu-matmul.md', md.join('\n'));
  console.error('wrote bench/results/cpu-matmul.{json,md}');
} else {
  console.log(md.join('\n'));
}
