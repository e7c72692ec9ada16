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
 *  - `fused-pre`: as `fused-flag`, with each workgroup's weights (`--wkb`) loaded into registers
 *    before it waits: what a fused decode step could overlap that dispatches cannot;
 *  - `stream`: the weights alone, every step's in one dispatch with no chain (copy speed).
 *
 * Every step: G workgroups of 128 threads (`--g`, default N/128); a workgroup reads the whole
 * previous vector (N f32), each thread sums N/128 strided values, and the first N/128 workgroups
 * write 128 of the step's N outputs each. With `--wkb W`, every workgroup also reads W KiB of
 * weights (its own slice of a `--wmb` MiB buffer, steps cycling through it; thread-coalesced
 * 16-byte loads) and takes a dot product of them with its inputs, as a GEMV would (the weights do
 * not change the chain: their dot only bumps a counter on a value no input gives, so the loads
 * cannot be dropped). The chain's result of every mode is checked against a CPU replay of the same
 * arithmetic.
 *
 *   node <bundle>/bench/dispatch-floor.js [--steps 160] [--n 4096] [--g G] [--wkb 0] [--wmb 256] [--iters 20]
 *     [--modes barrier,independent,fused,fused-par,fused-flag,fused-pre,stream] [--out floor.json]
 */
import { USAGE as U } from '../src/backend/webgpu/context.js';
import { backend, emit, flags, meta } from './lib/bench-common.js';

const f = flags(['steps', 'n', 'g', 'wkb', 'wmb', 'iters', 'out', 'modes']);
const STEPS = Number(f.steps ?? 160);
const N = Number(f.n ?? 4096);
const ITERS = Number(f.iters ?? 20);
const WG = 128;
const GOUT = N / WG; // workgroups that write a step's outputs
const G = Number(f.g ?? GOUT); // workgroups per step
const K = N / WG; // inputs a thread reads
const WV = (Number(f.wkb ?? 0) * 1024) / 16 / WG; // weight vec4<u32>s a thread reads per step
if (!Number.isInteger(GOUT) || N % 4096 !== 0) throw new Error('--n must be a multiple of 4096');
if (!Number.isInteger(G) || G < GOUT) throw new Error(`--g must be an integer ≥ N/128 = ${GOUT}`);
if (!Number.isInteger(WV) || WV > K / 4) throw new Error(`--wkb must be a multiple of 2 and at most ${(K / 4) * 2} (a thread's weight words pair with its ${K} inputs)`);
const SLICE = WV * WG; // vec4s a workgroup reads
const SLICES = WV ? Math.max(1, Math.floor((Number(f.wmb ?? 256) * 1048576) / 16 / SLICE)) : 1;
const SENTINEL = 0x7fc0dead; // a NaN no step writes

const b = await backend();
const dev = b.ctx.device;
if (!dev.features.has('timestamp-query')) throw new Error('dispatch-floor: the device has no timestamp queries');

// step s reads vector s (of STEPS + 1, vector 0 the input) and writes vector s + 1
const common = /* wgsl */ `
const N: u32 = ${N}u;
const G: u32 = ${G}u;
const GOUT: u32 = ${GOUT}u;
const K: u32 = ${K}u;
fn out_value(acc: f32, s: u32, i: u32) -> f32 { return 0.5 * acc + f32((s * 7u + i) % 13u) * 0.125; }
`;
/** WGSL declaring the weights (at `binding`, the counter at `binding + 1`) and their load and dot; empty without weights. */
function weightsCode(binding: number): string {
  if (!WV) return '';
  return /* wgsl */ `
const WV: u32 = ${WV}u;
const SLICES: u32 = ${SLICES}u;
@group(0) @binding(${binding}) var<storage, read> wts: array<vec4<u32>>;
@group(0) @binding(${binding + 1}) var<storage, read_write> sink: atomic<u32>;
// workgroup wg of step s: its slice's vec4s lid, lid + 128, …
fn load_w(s: u32, wg: u32, lid: u32) -> array<vec4<u32>, WV> {
  let base = ((s * G + wg) % SLICES) * WV * ${WG}u + lid;
  var w: array<vec4<u32>, WV>;
  for (var j = 0u; j < WV; j++) { w[j] = wts[base + j * ${WG}u]; }
  return w;
}
// a GEMV's products: each weight word's low half times one of the thread's inputs
fn use_w(w: array<vec4<u32>, WV>, xs: array<f32, K>) {
  var d = 0.0;
  for (var j = 0u; j < WV; j++) {
    for (var c = 0u; c < 4u; c++) { d += f32(w[j][c] & 0xffffu) * xs[4u * j + c]; }
  }
  if (bitcast<u32>(d) == 0xffffffffu) { atomicAdd(&sink, 1u); } // never (a NaN; d is finite)
}`;
}
const W_LOAD = WV ? 'let w = load_w(s, wg, lid);' : '';
const W_USE = WV ? 'use_w(w, xs);' : '';
/** WGSL ending every chained step: the weights' dot, Σ xs, and the first GOUT workgroups' outputs through `store(i, value)`. */
function stepEnd(store: (i: string, value: string) => string): string {
  return /* wgsl */ `  ${W_USE}
  var acc = 0.0;
  for (var k = 0u; k < K; k++) { acc += xs[k]; }
  if (wg < GOUT) {
    let i = wg * ${WG}u + lid;
    ${store('i', 'out_value(acc / f32(K), s, i)')}
  }`;
}
/** WGSL opening a fused step: the workgroup's ticket (ticket[0]) gives its step s and index wg; the grid's excess returns. */
const TICKET = /* wgsl */ `  if (lid == 0u) { t_wg = atomicAdd(&ticket[0], 1u); }
  let t = workgroupUniformLoad(&t_wg);
  let s = t / G;
  let wg = t % G;
  if (s >= ${STEPS}u) { return; } // the grid's rounding (dispatches over 65535 workgroups are 2-D)`;
const atomicStoreOut = (i: string, value: string): string => `atomicStore(&v[(s + 1u) * N + ${i}], bitcast<u32>(${value}));`;
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
${weightsCode(3)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let s = p.step;
  let wg = wid.x;
  ${W_LOAD}
  var xs: array<f32, K>;
  for (var k = 0u; k < K; k++) { xs[k] = ${src}[p.src * N + k * ${WG}u + lid]; }
${stepEnd((i, value) => `${dst}[p.dst * N + ${i}] = ${value};`)}
}`;
}
const plain = stepShader('@group(0) @binding(1) var<storage, read> src: array<f32>;\n@group(0) @binding(2) var<storage, read_write> dst: array<f32>;', 'src', 'dst');
const chained = stepShader('@group(0) @binding(1) var<storage, read_write> v: array<f32>;', 'v', 'v');
const fused = /* wgsl */ `${common}
const SENTINEL: u32 = ${SENTINEL}u;
@group(0) @binding(0) var<storage, read_write> ticket: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read_write> v: array<atomic<u32>>;
${weightsCode(3)}
var<workgroup> t_wg: u32;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
${TICKET}
  ${W_LOAD}
  var xs: array<f32, K>;
  for (var k = 0u; k < K; k++) {
    let j = s * N + k * ${WG}u + lid;
    // spin while the value is the sentinel (this loop form: lavapipe let lanes out of the
    // equivalent while (u == SENTINEL) loop with u still the sentinel, 1 run in 5)
    var u = SENTINEL;
    loop {
      u = atomicLoad(&v[j]);
      if (u != SENTINEL) { break; }
    }
    xs[k] = bitcast<f32>(u);
  }
${stepEnd(atomicStoreOut)}
}`;

/**
 * `fused-par`: as `fused`, but each thread issues its K atomic loads at once and re-polls only
 * the values still the sentinel (decode11's `fused` polled one value after another).
 * `fused-flag`: as `fused-par`, after one thread per workgroup has seen the previous step's
 * counter reach G (each workgroup adds 1 after its stores): only one lane spins, and the value
 * loads (still checked against the sentinel: relaxed atomics order nothing across locations)
 * then almost always succeed at the first try. `fused-pre` (`pre`): as `fused-flag`, with the
 * workgroup's weights loaded before the wait (in the others they are loaded after it).
 */
function fusedPar(flag: boolean, pre: boolean): string {
  return /* wgsl */ `${common}
const SENTINEL: u32 = ${SENTINEL}u;
@group(0) @binding(0) var<storage, read_write> ticket: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read_write> v: array<atomic<u32>>;
${weightsCode(3)}
var<workgroup> t_wg: u32;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
${TICKET}
  ${pre ? W_LOAD : ''}
${flag ? `  if (lid == 0u && s > 0u) { loop { if (atomicLoad(&ticket[s]) == G) { break; } } }
  workgroupBarrier();` : ''}
  ${pre ? '' : W_LOAD}
  var u: array<u32, K>;
  for (var k = 0u; k < K; k++) { u[k] = atomicLoad(&v[s * N + k * ${WG}u + lid]); }
  loop {
    var pending = false;
    for (var k = 0u; k < K; k++) {
      if (u[k] == SENTINEL) { u[k] = atomicLoad(&v[s * N + k * ${WG}u + lid]); pending = true; }
    }
    if (!pending) { break; }
  }
  var xs: array<f32, K>;
  for (var k = 0u; k < K; k++) { xs[k] = bitcast<f32>(u[k]); }
${stepEnd(atomicStoreOut)}
${flag ? `  workgroupBarrier();
  if (lid == 0u) { atomicAdd(&ticket[s + 1u], 1u); }` : ''}
}`;
}

/** `stream`: every step's weights in one dispatch, each workgroup's dot with a constant input. */
const stream = /* wgsl */ `${common}
@group(0) @binding(1) var<storage, read> src: array<f32>;
${weightsCode(3)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let t = wid.x + wid.y * 65535u;
  if (t >= ${STEPS}u * G) { return; }
  let s = t / G;
  let wg = t % G;
  ${W_LOAD}
  var xs: array<f32, K>;
  for (var k = 0u; k < K; k++) { xs[k] = src[k * ${WG}u + lid]; }
  ${W_USE}
}`;

const mk = (code: string): GPUComputePipeline => dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
const pPlain = mk(plain);
const pChained = mk(chained);
const pStream = mk(stream);
const FUSED_MODES = ['fused', 'fused-par', 'fused-flag', 'fused-pre'] as const;
type FusedMode = (typeof FUSED_MODES)[number];
const MODES = ['barrier', 'independent', ...FUSED_MODES, 'stream'] as const;
type Mode = (typeof MODES)[number];
const fusedCode: Record<FusedMode, string> = { fused, 'fused-par': fusedPar(false, false), 'fused-flag': fusedPar(true, false), 'fused-pre': fusedPar(true, true) };
// the weights (pseudo-random words, written in 16 MiB pieces) and the counter their dots never bump
const wts = dev.createBuffer({ size: Math.max(16, SLICES * SLICE * 16), usage: U.STORAGE | U.COPY_DST });
const sink = dev.createBuffer({ size: 16, usage: U.STORAGE | U.COPY_SRC });
if (WV) {
  const piece = new Uint32Array(1 << 22);
  let r = 0x9e3779b9;
  for (let off = 0; off < wts.size; off += piece.byteLength) {
    for (let i = 0; i < piece.length; i++) piece[i] = r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    dev.queue.writeBuffer(wts, off, piece, 0, Math.min(piece.length, (wts.size - off) / 4));
  }
}
const wEntries: GPUBindGroupEntry[] = WV ? [{ binding: 3, resource: { buffer: wts } }, { binding: 4, resource: { buffer: sink } }] : [];
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
const bgChained = params.map((u) => dev.createBindGroup({ layout: pChained.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: u } }, { binding: 1, resource: { buffer: big } }, ...wEntries] }));
const bgIndep = indep.map((o, s) => dev.createBindGroup({ layout: pPlain.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: paramsIndep[s] as GPUBuffer } }, { binding: 1, resource: { buffer: inBuf } }, { binding: 2, resource: { buffer: o } }, ...wEntries] }));
const bgStream = dev.createBindGroup({ layout: pStream.getBindGroupLayout(0), entries: [{ binding: 1, resource: { buffer: inBuf } }, ...wEntries] });
// each fused mode's pipeline and bind group (ticket, vectors)
const fusedRun = Object.fromEntries(
  FUSED_MODES.map((m) => {
    const p = mk(fusedCode[m]);
    return [m, { p, bg: dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: ticket } }, { binding: 1, resource: { buffer: big } }, ...wEntries] }) }];
  }),
) as Record<FusedMode, { p: GPUComputePipeline; bg: GPUBindGroup }>;
const sentinels = new Uint32Array(STEPS * N).fill(SENTINEL);

const qs = dev.createQuerySet({ type: 'timestamp', count: 2 * ITERS });

/** n workgroups, as 65535 × ⌈n / 65535⌉ above the 1-D limit (the shaders skip the excess). */
function grid(pass: GPUComputePassEncoder, n: number): void {
  pass.dispatchWorkgroups(Math.min(n, 65535), Math.ceil(n / 65535));
}

/** Enqueues one run of `mode` (its own compute pass, timestamps at slots 2·it, 2·it + 1). */
function run(mode: Mode, it: number | null): void {
  // fill: vector 0 = input, vectors 1.. = sentinel (the fused mode waits on them); ticket = 0
  dev.queue.writeBuffer(big, 0, input);
  dev.queue.writeBuffer(big, vecBytes, sentinels);
  dev.queue.writeBuffer(ticket, 0, new Uint32Array(STEPS + 4));
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass(it === null ? {} : { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * it, endOfPassWriteIndex: 2 * it + 1 } });
  if (mode === 'stream') {
    pass.setPipeline(pStream);
    pass.setBindGroup(0, bgStream);
    grid(pass, STEPS * G);
  } else if (mode !== 'barrier' && mode !== 'independent') {
    pass.setPipeline(fusedRun[mode].p);
    pass.setBindGroup(0, fusedRun[mode].bg);
    grid(pass, STEPS * G);
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
  dev.pushErrorScope('validation');
  run(mode, null); // warm-up, then check
  // the chain's end (stream has none: null)
  const got = mode === 'stream' ? null : mode === 'independent' ? await readBytes(indep[STEPS - 1] as GPUBuffer, 0, vecBytes) : await readBytes(big, STEPS * vecBytes, vecBytes);
  const err = got === null ? null : maxErr(new Float32Array(got), mode === 'independent' ? indepEnd : chainEnd);
  for (let it = 0; it < ITERS; it++) run(mode, it);
  const invalid = await dev.popErrorScope();
  if (invalid) throw new Error(`dispatch-floor: ${mode}: ${invalid.message}`);
  const rb = dev.createBuffer({ size: 16 * ITERS, usage: U.QUERY_RESOLVE | U.COPY_SRC });
  const ts = new BigUint64Array(await readBytes(rb, 0, 16 * ITERS, (enc) => enc.resolveQuerySet(qs, 0, 2 * ITERS, rb, 0)));
  rb.destroy();
  const us: number[] = [];
  for (let it = 0; it < ITERS; it++) us.push(Number((ts[2 * it + 1] as bigint) - (ts[2 * it] as bigint)) / 1e3);
  us.sort((a, c) => a - c);
  const median = us[Math.floor(ITERS / 2)] as number;
  const wBytes = STEPS * G * SLICE * 16;
  const gbps = wBytes / (median * 1e3);
  rows.push({ mode, steps: STEPS, n: N, workgroups_per_step: G, weight_bytes_per_step: G * SLICE * 16, median_us: median, min_us: us[0], us_per_step: median / STEPS, weight_gb_per_s: gbps, max_abs_err: err });
  process.stderr.write(`${mode.padEnd(12)} ${median.toFixed(1)} µs for ${STEPS} steps: ${(median / STEPS).toFixed(2)} µs a step${WV ? `, weights ${gbps.toFixed(0)} GB/s` : ''} (max |err| ${err === null ? '-' : err.toExponential(2)})\n`);
}
const hits = WV ? new Uint32Array(await readBytes(sink, 0, 4))[0] : 0;
if (hits) throw new Error(`dispatch-floor: the weights' dots bumped the counter ${hits} times (never expected)`);
emit({ bench: 'dispatch-floor', ...meta(b), weight_kib_per_workgroup: (SLICE * 16) / 1024, weight_buffer_bytes: WV ? wts.size : 0, rows }, f.out);
b.dispose();
