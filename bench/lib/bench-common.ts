/** Shared by the WebGPU benchmarks: flags, result metadata and the JSON output. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeWebGpuBackend, dawnFlags } from '../../src/backend/webgpu/node.js';
import type { WebGpuBackend, WebGpuBackendOptions } from '../../src/backend/webgpu/webgpu.js';
import type { Recording } from '../../src/backend/backend.js';
import { GpuRecording } from '../../src/backend/webgpu/context.js';
import { enqueueForward, forward, setPosition, type KvCache, type LlamaModel, type RunState } from '../../src/model/llama.js';
import { drain, DeviceDecoder } from '../../src/runtime/decode.js';

export type Flags = Record<string, string | undefined>;

/** `--name value` flags (all strings); unknown flags are an error. */
export function flags(names: readonly string[]): Flags {
  const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  return parseArgs({ args: process.argv.slice(2), options, strict: true }).values as Flags;
}

export const list = (v: string | undefined, dflt: string): string[] => (v ?? dflt).split(',').filter((s) => s);
export const numbers = (v: string | undefined, dflt: string): number[] => list(v, dflt).map(Number);

/** The commit: $LOWBIT_COMMIT, else the one a bundle was built from (scripts/bundle.mjs), else `git rev-parse HEAD`, else "unknown". */
export function commit(): string {
  if (process.env.LOWBIT_COMMIT) return process.env.LOWBIT_COMMIT;
  if (process.env.LOWBIT_BUILD_COMMIT) return process.env.LOWBIT_BUILD_COMMIT; // baked in by scripts/bundle.mjs
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export async function backend(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  return createNodeWebGpuBackend(opts);
}

/** Device, date and commit, recorded in every result file. */
export function meta(b: WebGpuBackend): Record<string, unknown> {
  const i = b.adapterInfo;
  return {
    device: b.description,
    adapter: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description },
    date: new Date().toISOString(),
    commit: commit(),
    node: process.version,
    dawn_flags: dawnFlags(),
  };
}

/** Writes the result JSON to `--out` (and always prints it on stdout). */
export function emit(result: unknown, out: string | undefined): void {
  const text = `${JSON.stringify(result, null, 2)}\n`;
  if (out) writeFileSync(out, text);
  process.stdout.write(text);
}

/**
 * Seconds per call of `run` (which enqueues one iteration): GPU time from
 * timestamp queries when the device has them, and wall time around `iters`
 * calls after `warmup`, both reported.
 */
export async function timeIt(b: WebGpuBackend, run: () => void, iters: number, warmup = 2): Promise<{ gpuSeconds: number | null; wallSeconds: number; iters: number }> {
  for (let i = 0; i < warmup; i++) run();
  await b.sync();
  const timed = b.ctx.beginTiming();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) run();
  await b.sync();
  const wallSeconds = (performance.now() - t0) / 1000 / iters;
  let gpuSeconds: number | null = null;
  if (timed) {
    const t = await b.ctx.endTiming();
    gpuSeconds = t.missed === 0 ? t.ns / 1e9 / iters : null;
  }
  return { gpuSeconds, wallSeconds, iters };
}

/** Copy GB/s (2·bytes per copy: one read, one write) of up to `mib` MiB through the vec4 copy kernel. */
export async function measureCopy(b: WebGpuBackend, mib: number, iters: number): Promise<{ op: 'copy'; bytes: number; timing: string; ms: number; wall_ms: number; iters: number; gbps: number }> {
  const bytes = Math.min(mib * 2 ** 20, b.maxBindingBytes);
  const n = Math.floor(bytes / 16) * 4;
  const src = b.empty('f32', [n]);
  const dst = b.empty('f32', [n]);
  b.randomize(src, 3, 1);
  const t = await timeIt(b, () => b.copyVec4(dst, src), iters);
  b.free(src);
  b.free(dst);
  const sec = t.gpuSeconds ?? t.wallSeconds;
  return { op: 'copy', bytes: n * 4, timing: t.gpuSeconds !== null ? 'timestamp-query' : 'wall', ms: sec * 1e3, wall_ms: t.wallSeconds * 1e3, iters, gbps: (2 * n * 4) / sec / 1e9 };
}

/** Where a recorded step's time goes: the whole step on the GPU and on the host, and each dispatch alone. */
export interface StepProfile {
  /** GPU time of the whole step (timestamps around its one compute pass), ms. */
  readonly gpu_ms: number;
  /** Host time to issue the step (replay + submit), ms. */
  readonly host_ms: number;
  readonly dispatches: number;
  /**
   * Per op name: gpu_us, each dispatch alone (its own pass, so the pass start cost is included),
   * summed over the step's ops of that name; seq_us, the same dispatches replayed back to back in
   * one pass (each layer's weights, barriers between them as in the step): the op's share of the step.
   */
  readonly ops: { readonly what: string; readonly count: number; readonly gpu_us: number; readonly seq_us: number }[];
}

/**
 * Profiles a recording (Backend.record) with timestamp queries: `iters` replays of
 * the whole step, then each dispatch alone, then the dispatches of each description
 * (e.g. the same projection in every layer) back to back in one pass; ops of the same
 * description are summed. Null when the device has no timestamps.
 */
export async function profileRecording(b: WebGpuBackend, rec: Recording, iters = 5): Promise<StepProfile | null> {
  if (!(rec instanceof GpuRecording)) throw new Error('profileRecording: not a WebGPU recording');
  const ctx = b.ctx;
  await b.sync();
  if (!ctx.beginTiming(2 * iters + 2)) return null;
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    ctx.replay(rec);
    ctx.flush();
  }
  const host = (performance.now() - t0) / iters;
  const whole = await ctx.endTiming();
  const byWhat = new Map<string, { count: number; ns: number }>();
  for (const d of rec.dispatches) {
    const one = new GpuRecording([d]);
    ctx.beginTiming(2 * iters + 2);
    for (let i = 0; i < iters; i++) {
      ctx.replay(one);
      ctx.flush();
    }
    const t = await ctx.endTiming();
    const e = byWhat.get(d.what) ?? { count: 0, ns: 0 };
    e.count++;
    e.ns += t.ns / iters;
    byWhat.set(d.what, e);
  }
  const seq = new Map<string, number>();
  for (const what of byWhat.keys()) {
    const same = new GpuRecording(rec.dispatches.filter((d) => d.what === what));
    ctx.beginTiming(2 * iters + 2);
    for (let i = 0; i < iters; i++) {
      ctx.replay(same);
      ctx.flush();
    }
    seq.set(what, (await ctx.endTiming()).ns / iters);
  }
  const ops = [...byWhat.entries()].map(([what, e]) => ({ what, count: e.count, gpu_us: e.ns / 1e3, seq_us: (seq.get(what) as number) / 1e3 })).sort((a, c) => c.seq_us - a.seq_us);
  return { gpu_ms: whole.ns / 1e6 / iters, host_ms: host, dispatches: rec.ops, ops };
}

/**
 * A recorded step replayed `n` times back to back, one submit each, then one sync: the wall time
 * per step (what the GPU sustains when the host keeps ahead) and the host's share (replay + submit).
 */
export async function streamRecording(b: WebGpuBackend, rec: Recording, n = 64): Promise<{ ms_per_step: number; host_ms_per_step: number }> {
  await b.sync();
  let host = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const h = performance.now();
    b.replay(rec);
    b.submit();
    host += performance.now() - h;
  }
  await b.sync();
  return { ms_per_step: (performance.now() - t0) / n, host_ms_per_step: host / n };
}

/** How fast a model decodes at one position (measureDecode). */
export interface DecodeSpeed {
  /** Seconds per token of greedy generation as `generate` runs it (the step replayed on the device; its recording, made in the warm-up, not timed), per timed run. */
  readonly greedy: number[];
  /** Seconds per token as sampling runs it: the step's ops enqueued again and the logits read every step. */
  readonly withRead: number;
  readonly stream: { ms_per_step: number; host_ms_per_step: number };
  readonly profile: StepProfile | null;
}

/**
 * Decode speed of a T = 1 run state at `pos` (the cache holding pos + steps + 1 rows): greedy
 * generation timed `runs` times after a 4-step warm-up (pipelines, the recording the timed runs replay), then with the
 * logits read per step, then the recorded step (forward + argmax) replayed (streamRecording) and profiled.
 */
export async function measureDecode(b: WebGpuBackend, m: LlamaModel, s: RunState, kv: KvCache, pos: number, steps: number, runs = 1): Promise<DecodeSpeed> {
  const one = { dtype: 'i32', shape: [1], data: Int32Array.of(1) } as const;
  b.write(s.ids, one);
  const d = new DeviceDecoder(m, s, kv);
  const greedy: number[] = [];
  try {
    await drain(d.run(pos, 4)); // pipelines, the recording the timed runs replay (as lowbit bench)
    for (let r = 0; r < runs; r++) {
      b.write(s.ids, one);
      await b.sync();
      const t0 = performance.now();
      await drain(d.run(pos, steps, { chunk: 16 }));
      greedy.push((performance.now() - t0) / 1000 / steps);
    }
  } finally {
    d.dispose();
  }
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    forward(m, s, kv, pos + i);
    await b.read(s.logits);
  }
  const withRead = (performance.now() - t0) / 1000 / steps;
  // where the time goes: the step as greedy decoding runs it (forward + argmax) on the GPU vs
  // issuing it, and each op alone
  setPosition(m, s, kv, pos);
  const rec = b.record(() => {
    enqueueForward(m, s, kv);
    b.argmax(s.ids, s.logits);
  });
  const stream = await streamRecording(b, rec);
  process.stderr.write(`  stream: ${stream.ms_per_step.toFixed(3)} ms per replayed step, host ${stream.host_ms_per_step.toFixed(3)} ms\n`);
  const profile = await profileRecording(b, rec);
  if (profile) process.stderr.write(profileLines(profile));
  return { greedy, withRead, stream, profile };
}

/** One line per op of a profile, the costliest first. */
export function profileLines(p: StepProfile, top = 8): string {
  const head = `  step: GPU ${p.gpu_ms.toFixed(3)} ms, host ${p.host_ms.toFixed(3)} ms, ${p.dispatches} dispatches; in sequence (alone): `;
  return head + p.ops.slice(0, top).map((o) => `${o.what} ×${o.count} ${(o.seq_us / 1e3).toFixed(3)} (${(o.gpu_us / 1e3).toFixed(3)}) ms`).join('; ') + '\n';
}
