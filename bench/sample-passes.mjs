// How many passes sample.wgsl's threshold search makes (a model of the kernel's loop, in f64
// counts, not a timing): full passes over the row until at most CAP = 2048 elements are
// undecided, then halvings over those alone. Its bracket starts at bits(min p) (a valid lower bound
// for both searches; bits 0 until 2026-12-04). Its full passes halved each bracket until decode17
// and now test three quarter points (a bracket of L bits leaves ⌈L/4⌉); both give the same τ. Rows
// as bench/sample-op.js draws them (Gaussian σ, `planted` tokens at 4σ + i; 0 planted and a small
// σ is a flat row, as a random-weight model's).
//
//   node bench/sample-passes.mjs [--out bench/results/sample-passes]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const ONE = 0x3f800000;
const CAP = 2048;
const fb = new Float32Array(1);
const ub = new Uint32Array(fb.buffer);
const bits = (x) => ((fb[0] = x), ub[0]);

let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed + 0.5) / 4294967296);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());

function search(p, k, topP, lo0, ways) {
  const V = p.length;
  const b = p.map(bits);
  const goal = topP * p.reduce((a, x) => a + x, 0);
  const kOn = k > 0 && k < V;
  const pOn = topP < 1;
  let [loK, hiK, loP, hiP] = [lo0, ONE + 1, lo0, ONE + 1];
  const ended = () => (!kOn || hiK - loK <= 1) && (!pOn || hiP - loP <= 1);
  const halve = (count) => {
    const [mk, mp] = [Math.floor((loK + hiK) / 2), Math.floor((loP + hiP) / 2)];
    const [c, m] = count(mk, mp);
    if (c >= k) loK = mk;
    else hiK = mk;
    if (m >= goal) loP = mp;
    else hiP = mp;
  };
  const all = (mk, mp) => {
    let [c, m] = [0, 0];
    for (let i = 0; i < V; i++) [c, m] = [c + (b[i] >= mk ? 1 : 0), m + (b[i] >= mp ? p[i] : 0)];
    return [c, m];
  };
  // the kernel's `quarters` and `narrow`: lo the last point that satisfies its filter, hi the first that does not
  const quarter = () => {
    const pts = (lo, hi) => [1, 2, 3].map((j) => lo + Math.floor(((hi - lo) * j) / 4));
    const [qk, qp] = [pts(loK, hiK), pts(loP, hiP)];
    const r = qk.map((q, j) => all(q, qp[j]));
    const narrow = (lo, hi, q, ge) => {
      for (let j = 2; j >= 0; j--) if (!ge[j]) hi = Math.max(q[j], lo + 1);
      for (let j = 0; j < 3; j++) if (ge[j]) lo = q[j];
      return [lo, hi];
    };
    [loK, hiK] = narrow(loK, hiK, qk, r.map(([c]) => c >= k));
    [loP, hiP] = narrow(loP, hiP, qp, r.map(([, m]) => m >= goal));
  };
  let [it, full, compacted, few] = [0, 0, 0, false];
  for (; it < 30 && !few && !ended(); it++) {
    let open = 0;
    for (let i = 0; i < V; i++) if ((kOn && b[i] >= loK && b[i] < hiK) || (pOn && b[i] >= loP && b[i] < hiP)) open++;
    if (ways === 4) quarter();
    else halve(all);
    full++;
    few = open <= CAP;
  }
  if (few && !ended()) {
    full++; // the compaction pass
    for (let h = 0; h < 32 && !ended(); h++, compacted++) halve(all);
  }
  return { full, compacted, tau: Math.max(kOn ? loK : 0, pOn ? loP : 0) };
}

const rows = [];
for (const [V, sigma, planted] of [[32000, 2.5, 8], [128256, 2.5, 8], [128256, 1, 0], [128256, 0.3, 0], [128256, 0.05, 0]]) {
  seed = 1;
  const x = Float32Array.from({ length: V }, () => sigma * gauss());
  for (let i = 0; i < planted; i++) x[Math.floor(rnd() * V)] = 4 * sigma + i;
  for (const [T, k, topP] of [[0.8, 40, 0.95], [1, 0, 0.9], [1, 50, 1]]) {
    const m = x.reduce((a, v) => Math.max(a, v), -Infinity);
    const p = Array.from(x, (v) => Math.fround(Math.exp((v - m) / T)));
    const lo = bits(p.reduce((a, v) => Math.min(a, v), Infinity));
    const before = search(p, k, topP, lo, 2);
    const after = search(p, k, topP, lo, 4);
    if (before.tau !== after.tau) throw new Error(`τ differs: V ${V} σ ${sigma} T ${T} k ${k} p ${topP}`);
    rows.push({ V, sigma, planted, temperature: T, top_k: k, top_p: topP, before, after });
  }
}
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const md = [
  `# sample.wgsl's threshold search: passes over the row (model of the loop, ${new Date().toISOString().slice(0, 10)}, ${commit})`,
  '',
  'Full passes read all V logits (an exp each; the compaction pass counted); compacted halvings read ≤ 2048 elements from workgroup memory. Both from bits(min p); before: a full pass halves each bracket; after: it tests three quarter points. τ equal in every row.',
  '',
  '| V | σ | planted | T | top-k | top-p | full passes before → after | compacted halvings before → after |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.V} | ${r.sigma} | ${r.planted} | ${r.temperature} | ${r.top_k} | ${r.top_p} | ${r.before.full} → **${r.after.full}** | ${r.before.compacted} → ${r.after.compacted} |`),
  '',
];
process.stdout.write(md.join('\n'));
if (values.out) {
  writeFileSync(`${values.out}.json`, `${JSON.stringify({ bench: 'sample-passes', kind: 'model of the loop (counts, not timings)', date: new Date().toISOString(), commit, cap: CAP, rows }, null, 1)}\n`);
  writeFileSync(`${values.out}.md`, md.join('\n'));
}
