/**
 * What a chain of dependent GPU steps costs per step, three ways (a decode step is ~160 dependent
 * dispatches, each with next to no work at batch 1, so this cost sets its floor):
 *
 *  - `barrier`: one dispatch per step in one compute pass, each reading the previous step's
 *    output from the same buffer, so Dawn puts a pipeline barrier between every two (what the
 *    decode step does now);
 *  - `independent`: the same dispatches, each reading a constant input and writing its own
 *    buffer: no hazards, so no barriers (the launch cost alone);
 *  - `fused`: every step in one dispatch. Workgroups take tickets in order (an atomic counter)
 *    and so steps in order; a step's workgroups read the previous step's output with atomic
 *    loads, spinning while a value is still the sentinel the output was filled with. Single
 *    writer per value and per-location coherence make this exact under WGSL's relaxed atomics;
 *    tickets make it deadlock-free (a workgroup waits only on workgroups that started before it);
 *  - `fused-par`, `fused-flag`: as `fused` with the 32 loads of a thread issued at once (only values
 *    still the sentinel polled again), and with one lane per workgroup first spinning on a counter
 *    the previous step's workgroups add to (decode20: both cost what a dispatch does).
 *
 * Every step: G workgroups of 128 threads; a workgroup reads the whole previous vector (N f32),
 * each thread sums 32 strided values, and it writes 128 of the step's N outputs. The result of
 * every mode is checked against a CPU replay of the same arithmetic.
 *
 *   node <bundle>/bench/dispatch-floor.js [--steps 160] [--n 4096] [--iters 20] [--modes barrier,independent,fused,fused-par,fused-flag] [--out floor.json]
 */
import { USAGE as U } from '../src/backend/webgpu/context.js';
import { backend, emit, flags, meta } from './lib/bench-common.js';

const f = flags(['steps', 'n', 'iters', 'out', 'modes']);
const STEPS = Number(f.steps ?? 160);
const N = Number(f.n ?? 4096);
const ITERS = Number(f.iters ?? 20);
const WG = 128;
const G = N / WG; // workgroups per step
if (!Number.isInteger(G) || N % 4096 !== 0) throw new Error('--n must be a multiple of 4096');
const SENTINEL = 0x7fc0dead; // a NaN no step writes

const b = await backend();
const dev = b.ctx.device;
if (!dev.features.has('timestamp-query')) throw new Error('dispatch-floor: the device has no timestamp queries');

// step s reads vector s (of STEPS + 1, vector 0 the input) and writes vector s + 1
const common = /* wgsl */ `
const N: u32 = ${N}u;
const G: u32 = ${G}u;
fn out_value(acc: f32, s: u32, i: u32) -> f32 { return 0.5 * acc + f32((s * 7u + i) % 13u) * 0.125; }
`;
/**
 * One step as its own dispatch, reading through `src` and writing through `dst`: separate
 * bindings (`independent`) or one read_write binding under both names (`barrier`, so Dawn orders
 * each dispatch after the last).
 */
function stepShader(bindings: string, src: string, dst: string): string {
  return /* wgsl */ `${common}
struct P { step: u32, src: u32, dst: u32, _p: u32 }
@group(0) @binding(0) var<uniform> p: P;
${bindings}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  var acc = 0.0;
  for (var k = 0u; k < N / ${WG}u; k++) { acc += ${src}[p.src * N + k * ${WG}u + lid]; }
  let i = wid.x * ${WG}u + lid;
  ${dst}[p.dst * N + i] = out_value(acc / f32(N / ${WG}u), p.step, i);
}`;
}
const plain = stepShader('@group(0) @binding(1) var<storage, read> src: array<f32>;\n@group(0) @binding(2) var<storage, read_write> dst: array<f32>;', 'src', 'dst');
const chained = stepShader('@group(0) @binding(1) var<storage, read_write> v: array<f32>;', 'v', 'v');
const fused = /* wgsl */ `${common}
const SENTINEL: u32 = ${SENTINEL}u;
@group(0) @binding(0) var<storage, read_write> ticket: atomic<u32>;
@group(0) @binding(1) var<storage, read_write> v: array<atomic<u32>>;
var<workgroup> t_wg: u32;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { t_wg = atomicAdd(&ticket, 1u); }
  let t = workgroupUniformLoad(&t_wg);
  let s = t / G;
  let wg = t % G;
  var acc = 0.0;
  for (var k = 0u; k < N / ${WG}u; k++) {
    let j = s * N + k * ${WG}u + lid;
    // spin while the value is the sentinel (this loop form: lavapipe let lanes out of the
    // equivalent while (u == SENTINEL) loop with u still the sentinel, 1 run in 5)
    var u = SENTINEL;
    loop {
      u = atomicLoad(&v[j]);
      if (u != SENTINEL) { break; }
    }
    acc += bitcast<f32>(u);
  }
  let i = wg * ${WG}u + lid;
  atomicStore(&v[(s + 1u) * N + i], bitcast<u32>(out_value(acc / f32(N / ${WG}u), s, i)));
}`;

/**
 * `fused-par`: as `fused`, but each thread issues its 32 atomic loads at once and re-polls only
 * the values still the sentinel (decode11's `fused` polled one value after another).
 * `fused-flag`: as `fused-par`, after one thread per workgroup has seen the previous step's
 * counter reach G (each workgroup adds 1 after its stores): only one lane spins, and the value
 * loads (still checked against the sentinel: relaxed atomics order nothing across locations)
 * then almost always succeed at the first try.
 */
function fusedPar(flag: boolean): string {
  const K = N / WG;
  return /* wgsl */ `${common}
const SENTINEL: u32 = ${SENTINEL}u;
@group(0) @binding(0) var<storage, read_write> ticket: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read_write> v: array<atomic<u32>>;
var<workgroup> t_wg: u32;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) { t_wg = atomicAdd(&ticket[0], 1u); }
  let t = workgroupUniformLoad(&t_wg);
  let s = t / G;
  let wg = t % G;
${flag ? `  if (lid == 0u && s > 0u) { loop { if (atomicLoad(&ticket[s]) == G) { break; } } }
  workgroupBarrier();` : ''}
  var u: array<u32, ${K}>;
  for (var k = 0u; k < ${K}u; k++) { u[k] = atomicLoad(&v[s * N + k * ${WG}u + lid]); }
  loop {
    var pending = false;
    for (var k = 0u; k < ${K}u; k++) {
      if (u[k] == SENTINEL) { u[k] = atomicLoad(&v[s * N + k * ${WG}u + lid]); pending = true; }
    }
    if (!pending) { break; }
  }
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k++) { acc += bitcast<f32>(u[k]); }
  let i = wg * ${WG}u + lid;
  atomicStore(&v[(s + 1u) * N + i], bitcast<u32>(out_value(acc / f32(N / ${WG}u), s, i)));
${flag ? `  workgroupBarrier();
  if (lid == 0u) { atomicAdd(&ticket[s + 1u], 1u); }` : ''}
}`;
}

const mk = (code: string): GPUComputePipeline => dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
const pPlain = mk(plain);
const pChained = mk(chained);
const FUSED_MODES = ['fused', 'fused-par', 'fused-flag'] as const;
type FusedMode = (typeof FUSED_MODES)[number];
const MODES = ['barrier', 'independent', ...FUSED_MODES] as const;
type Mode = (typeof MODES)[number];
const fusedCode: Record<FusedMode, string> = { fused, 'fused-par': fusedPar(false), 'fused-flag': fusedPar(true) };
const vecBytes = N * 4;
const big = dev.createBuffer({ size: (STEPS + 1) * vecBytes, usage: U.STORAGE | U.COPY_DST | U.COPY_SRC });
const input = new Float32Array(N).map((_, i) => ((i * 37) % 101) / 101 - 0.5);
const indep = Array.from({ length: STEPS }, () => dev.createBuffer({ size: vecBytes, usage: U.STORAGE | U.COPY_SRC }));
const inBuf = dev.createBuffer({ size: vecBytes, usage: U.STORAGE | U.COPY_DST });
dev.queue.writeBuffer(inBuf, 0, input);
const ticket = dev.createBuffer({ size: 4 * (STEPS + 4), usage: U.STORAGE | U.COPY_DST });
const params = Array.from({ length: STEPS }, (_, s) => {
  const u = dev.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST });
  dev.queue.writeBuffer(u, 0, new Uint32Array([s, s, s + 1, 0]));
  return u;
});
const paramsIndep = Array.from({ length: STEPS }, (_, s) => {
  const u = dev.createBuffer({ size: 16, usage: U.UNIFORM | U.COPY_DST });
  dev.queue.writeBuffer(u, 0, new Uint32Array([s, 0, 0, 0]));
  return u;
});
const bgChained = params.map((u) => dev.createBindGroup({ layout: pChained.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: u } }, { binding: 1, resource: { buffer: big } }] }));
const bgIndep = indep.map((o, s) => dev.createBindGroup({ layout: pPlain.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: paramsIndep[s] as GPUBuffer } }, { binding: 1, resource: { buffer: inBuf } }, { binding: 2, resource: { buffer: o } }] }));
// each fused mode's pipeline and bind group (ticket, vectors)
const fusedRun = Object.fromEntries(
  FUSED_MODES.map((m) => {
    const p = mk(fusedCode[m]);
    return [m, { p, bg: dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: ticket } }, { binding: 1, resource: { buffer: big } }] }) }];
  }),
) as Record<FusedMode, { p: GPUComputePipeline; bg: GPUBindGroup }>;
const sentinels = new Uint32Array(STEPS * N).fill(SENTINEL);

const qs = dev.createQuerySet({ type: 'timestamp', count: 2 * ITERS });

/** Enqueues one run of `mode` (its own compute pass, timestamps at slots 2·it, 2·it + 1). */
function run(mode: Mode, it: number | null): void {
  // fill: vector 0 = input, vectors 1.. = sentinel (the fused mode waits on them); ticket = 0
  dev.queue.writeBuffer(big, 0, input);
  dev.queue.writeBuffer(big, vecBytes, sentinels);
  dev.queue.writeBuffer(ticket, 0, new Uint32Array(STEPS + 4));
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass(it === null ? {} : { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * it, endOfPassWriteIndex: 2 * it + 1 } });
  if (mode !== 'barrier' && mode !== 'independent') {
    pass.setPipeline(fusedRun[mode].p);
    pass.setBindGroup(0, fusedRun[mode].bg);
    pass.dispatchWorkgroups(STEPS * G);
  } else {
    pass.setPipeline(mode === 'barrier' ? pChained : pPlain);
    for (let s = 0; s < STEPS; s++) {
      pass.setBindGroup(0, (mode === 'barrier' ? bgChained : bgIndep)[s] as GPUBindGroup);
      pass.dispatchWorkgroups(G);
    }
  }
  pass.end();
  dev.queue.submit([enc.finish()]);
}

/** Bytes [offset, offset + bytes) of `buf`, after `before` (if given) is recorded into the same encoder. */
async function readBytes(buf: GPUBuffer, offset: number, bytes: number, before?: (enc: GPUCommandEncoder) => void): Promise<ArrayBuffer> {
  const st = dev.createBuffer({ size: bytes, usage: U.MAP_READ | U.COPY_DST });
  const enc = dev.createCommandEncoder();
  before?.(enc);
  enc.copyBufferToBuffer(buf, offset, st, 0, bytes);
  dev.queue.submit([enc.finish()]);
  await st.mapAsync(1); // GPUMapMode.READ
  const out = st.getMappedRange().slice(0);
  st.destroy();
  return out;
}

/** CPU replay of step s on `src` (f32 like the GPU, each thread's summation order). */
function stepRef(src: Float32Array, s: number): Float32Array {
  const dst = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const lid = i % WG;
    let acc = 0;
    for (let k = 0; k < N / WG; k++) acc = Math.fround(acc + (src[k * WG + lid] as number));
    dst[i] = Math.fround(Math.fround(0.5 * Math.fround(acc / (N / WG))) + Math.fround(((s * 7 + i) % 13) * 0.125));
  }
  return dst;
}

function maxErr(a: Float32Array, e: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (e[i] as number)));
  return m;
}

// the chain's last vector (barrier, fused); the independent mode's last step read the input
let chainEnd: Float32Array = input;
for (let s = 0; s < STEPS; s++) chainEnd = stepRef(chainEnd, s);
const indepEnd = stepRef(input, STEPS - 1);
const rows: Record<string, unknown>[] = [];
const modes = (f.modes ?? MODES.join(',')).split(',') as Mode[];
for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes: ${m} is not one of ${MODES.join(', ')}`);
for (const mode of modes) {
  run(mode, null); // warm-up, then check
  const got = mode === 'independent' ? await readBytes(indep[STEPS - 1] as GPUBuffer, 0, vecBytes) : await readBytes(big, STEPS * vecBytes, vecBytes);
  const err = maxErr(new Float32Array(got), mode === 'independent' ? indepEnd : chainEnd);
  for (let it = 0; it < ITERS; it++) run(mode, it);
  const rb = dev.createBuffer({ size: 16 * ITERS, usage: U.QUERY_RESOLVE | U.COPY_SRC });
  const ts = new BigUint64Array(await readBytes(rb, 0, 16 * ITERS, (enc) => enc.resolveQuerySet(qs, 0, 2 * ITERS, rb, 0)));
  rb.destroy();
  const us: number[] = [];
  for (let it = 0; it < ITERS; it++) us.push(Number((ts[2 * it + 1] as bigint) - (ts[2 * it] as bigint)) / 1e3);
  us.sort((a, c) => a - c);
  const median = us[Math.floor(ITERS / 2)] as number;
  rows.push({ mode, steps: STEPS, n: N, workgroups_per_step: G, median_us: median, min_us: us[0], us_per_step: median / STEPS, max_abs_err: err });
  process.stderr.write(`${mode.padEnd(12)} ${median.toFixed(1)} µs for ${STEPS} steps: ${(median / STEPS).toFixed(2)} µs a step (max |err| ${err.toExponential(2)})\n`);
}
emit({ bench: 'dispatch-floor', ...meta(b), rows }, f.out);
b.dispose();
