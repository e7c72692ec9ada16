/**
 * Shape checks shared by every backend: each op validates its operands here
 * and gets back the dimensions it needs, so CPU and WebGPU reject the same
 * calls with the same messages.
 */
import { checkUniformGrid } from '../formats/grids/uniform.js';
import type { DType } from '../tensor/dtype.js';
import { shapeStr } from '../tensor/tensor.js';
import type { ArgmaxHistory, SampleDraws, AttentionParams, GptqBlockParams, GptqBlockTensors, MatmulOptions, RopeKvParams, SpqrBlockParams, SpqrBlockTensors, Tensor } from './backend.js';

function fail(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}

function dims2(op: string, name: string, t: Tensor): [number, number] {
  if (t.shape.length !== 2) fail(op, `${name} must be 2-D, got ${shapeStr(t.shape)}`);
  return [t.shape[0] as number, t.shape[1] as number];
}

function dtypeIs(op: string, name: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) fail(op, `${name} has dtype ${t.dtype}, expected ${allowed.join(' or ')}`);
}

function numelOf(t: Tensor): number {
  return t.shape.reduce((a, b) => a * b, 1);
}

export function checkEmbedding(out: Tensor, table: Tensor, ids: Tensor): { T: number; D: number; V: number } {
  const op = 'embedding';
  const [T, D] = dims2(op, 'out', out);
  const [V, D2] = dims2(op, 'table', table);
  dtypeIs(op, 'out', out, 'f32');
  dtypeIs(op, 'ids', ids, 'i32');
  if (D2 !== D) fail(op, `table ${shapeStr(table.shape)} does not match out ${shapeStr(out.shape)}`);
  if (ids.shape.length !== 1 || ids.shape[0] !== T) fail(op, `ids ${shapeStr(ids.shape)} must be [${T}]`);
  return { T, D, V };
}

export function checkRmsnorm(out: Tensor, x: Tensor, weight: Tensor): { T: number; D: number } {
  const op = 'rmsnorm';
  const [T, D] = dims2(op, 'x', x);
  dtypeIs(op, 'x', x, 'f32');
  dtypeIs(op, 'out', out, 'f32');
  if (out.shape[0] !== T || out.shape[1] !== D) fail(op, `out ${shapeStr(out.shape)} must equal x ${shapeStr(x.shape)}`);
  if (weight.shape.length !== 1 || weight.shape[0] !== D) fail(op, `weight ${shapeStr(weight.shape)} must be [${D}]`);
  return { T, D };
}

export function checkMatmul(
  out: Tensor,
  x: Tensor,
  w: Tensor,
  bias?: Tensor,
  o: MatmulOptions = {},
): { T: number; K: number; M: number; N: number; col0: number; width: number } {
  const op = 'matmul';
  const [T, Kx] = dims2(op, 'x', x);
  const [M, K] = dims2(op, 'w', w);
  dtypeIs(op, 'x', x, 'f32');
  dtypeIs(op, 'out', out, 'f32');
  if (o.norm && o.gated) fail(op, 'norm and gated cannot both be folded into one matmul');
  if (o.glu && o.gated) fail(op, 'glu and gated cannot both be folded into one matmul');
  if (o.glu && M % 2 !== 0) fail(op, `glu: w ${shapeStr(w.shape)} must have an even number of rows (gate | up)`);
  const wname = `w ${w.format !== undefined ? `${w.format}` : ''}${shapeStr(w.shape)}`;
  if (o.gated ? Kx !== 2 * K : Kx !== K) fail(op, `x ${shapeStr(x.shape)} and ${wname} disagree on K${o.gated ? ' (gated: x holds gate and up, 2K columns)' : ''}`);
  if (o.norm && (o.norm.weight.shape.length !== 1 || o.norm.weight.shape[0] !== K)) fail(op, `norm weight ${shapeStr(o.norm.weight.shape)} must be [${K}]`);
  const col0 = o.col0 ?? 0;
  if (!Number.isInteger(col0) || col0 < 0) fail(op, `col0 must be a non-negative integer, got ${col0}`);
  const N = out.shape[1] ?? 0;
  const width = o.glu ? M / 2 : M; // the columns the result fills
  const fits = o.col0 === undefined ? N === width : N >= col0 + width;
  if (out.shape.length !== 2 || out.shape[0] !== T || !fits) {
    const want = o.col0 === undefined ? `[${T}, ${width}]` : `[${T}, ≥ ${col0 + width}] (col0 ${col0})`;
    fail(op, `out ${shapeStr(out.shape)} must be ${want} for x ${shapeStr(x.shape)}, ${wname}`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== M)) fail(op, `bias ${shapeStr(bias.shape)} must be [${M}]`);
  const prepared = o.norm?.prepared;
  if (prepared && (prepared.dtype !== 'f32' || prepared.shape.length !== 2 || prepared.shape[0] !== T || prepared.shape[1] !== 2 * K)) {
    fail(op, `norm.prepared ${prepared.dtype}${shapeStr(prepared.shape)} must be f32 [${T}, ${2 * K}]`);
  }
  if (o.normOut) {
    const { weight, into } = o.normOut;
    if (o.glu || o.norm || col0 !== 0) fail(op, 'normOut needs col0 0 and no glu or norm in the same matmul');
    if (weight.shape.length !== 1 || weight.shape[0] !== N) fail(op, `normOut weight ${shapeStr(weight.shape)} must be [${N}]`);
    if (into.dtype !== 'f32' || into.shape.length !== 2 || into.shape[0] !== T || into.shape[1] !== 2 * N) fail(op, `normOut.into ${into.dtype}${shapeStr(into.shape)} must be f32 [${T}, ${2 * N}]`);
    if (into === out || into === x) fail(op, 'normOut.into must be a tensor of its own');
  }
  return { T, K, M, N, col0, width };
}

export function checkRope(
  x: Tensor,
  cos: Tensor,
  sin: Tensor,
  pos0: number,
  headDim: number,
): { T: number; C: number; half: number } {
  const op = 'rope';
  const [T, C] = dims2(op, 'x', x);
  const [P, half] = dims2(op, 'cos', cos);
  dtypeIs(op, 'x', x, 'f32');
  if (headDim % 2 !== 0 || C % headDim !== 0) fail(op, `headDim ${headDim} must be even and divide ${C}`);
  if (half !== headDim / 2) fail(op, `cos ${shapeStr(cos.shape)} must have ${headDim / 2} columns`);
  if (sin.shape[0] !== P || sin.shape[1] !== half) fail(op, `sin ${shapeStr(sin.shape)} must equal cos ${shapeStr(cos.shape)}`);
  if (!Number.isInteger(pos0) || pos0 < 0 || pos0 + T > P) fail(op, `positions ${pos0}…${pos0 + T - 1} exceed the table of ${P}`);
  return { T, C, half };
}

export function checkAttention(
  out: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  p: AttentionParams,
): { T: number; S: number } {
  const op = 'attention';
  const [T, Cq] = dims2(op, 'q', q);
  const [S, Ckv] = dims2(op, 'k', k);
  if (p.nKvHeads <= 0 || p.nHeads % p.nKvHeads !== 0) fail(op, `nHeads ${p.nHeads} is not a multiple of nKvHeads ${p.nKvHeads}`);
  if (Cq !== p.nHeads * p.headDim) fail(op, `q ${shapeStr(q.shape)} must have ${p.nHeads}·${p.headDim} columns`);
  if (Ckv !== p.nKvHeads * p.headDim) fail(op, `k ${shapeStr(k.shape)} must have ${p.nKvHeads}·${p.headDim} columns`);
  if (v.shape[0] !== S || v.shape[1] !== Ckv) fail(op, `v ${shapeStr(v.shape)} must equal k ${shapeStr(k.shape)}`);
  if (out.shape[0] !== T || out.shape[1] !== Cq) fail(op, `out ${shapeStr(out.shape)} must equal q ${shapeStr(q.shape)}`);
  if (!Number.isInteger(p.pos0) || p.pos0 < 0 || p.pos0 + T > S) fail(op, `positions ${p.pos0}…${p.pos0 + T - 1} exceed the cache of ${S} rows`);
  for (const [n, t] of [['out', out], ['q', q]] as const) dtypeIs(op, n, t, 'f32');
  checkKvDtypes(op, 'k', k, 'v', v);
  if (p.pos) checkPos(op, p.pos);
  return { T, S };
}

export function checkCopyRows(dst: Tensor, dstRow0: number, src: Tensor, srcRow0: number, rows: number): { C: number } {
  const op = 'copyRows';
  const [R, C] = dims2(op, 'dst', dst);
  const [S, C2] = dims2(op, 'src', src);
  if (C2 !== C || src.dtype !== dst.dtype) fail(op, `src ${src.dtype}${shapeStr(src.shape)} does not match dst ${dst.dtype}${shapeStr(dst.shape)}`);
  if (dstRow0 < 0 || srcRow0 < 0 || rows < 0 || dstRow0 + rows > R || srcRow0 + rows > S) {
    fail(op, `rows ${srcRow0}+${rows} → ${dstRow0}+${rows} out of range for src ${shapeStr(src.shape)}, dst ${shapeStr(dst.shape)}`);
  }
  return { C };
}

export function checkElementwise(op: string, out: Tensor, a: Tensor, b: Tensor): { n: number } {
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (t.shape.length !== out.shape.length || t.shape.some((d, i) => d !== out.shape[i])) {
      fail(op, `${name} ${shapeStr(t.shape)} must equal out ${shapeStr(out.shape)}`);
    }
    dtypeIs(op, name, t, 'f32');
  }
  dtypeIs(op, 'out', out, 'f32');
  return { n: numelOf(out) };
}

export function checkNll(out: Tensor, logits: Tensor, targets: Tensor): { T: number; V: number } {
  const op = 'nll';
  const [T, V] = dims2(op, 'logits', logits);
  dtypeIs(op, 'logits', logits, 'f32');
  dtypeIs(op, 'targets', targets, 'i32');
  dtypeIs(op, 'out', out, 'f32');
  if (out.shape.length !== 1 || out.shape[0] !== T) fail(op, `out ${shapeStr(out.shape)} must be [${T}]`);
  if (targets.shape.length !== 1 || targets.shape[0] !== T) fail(op, `targets ${shapeStr(targets.shape)} must be [${T}]`);
  return { T, V };
}

export function checkGram(h: Tensor, x: Tensor): { T: number; K: number } {
  const op = 'gram';
  const [T, K] = dims2(op, 'x', x);
  const [a, b] = dims2(op, 'h', h);
  dtypeIs(op, 'x', x, 'f32');
  dtypeIs(op, 'h', h, 'f32');
  if (a !== K || b !== K) fail(op, `h ${shapeStr(h.shape)} must be [${K}, ${K}] for x ${shapeStr(x.shape)}`);
  return { T, K };
}

export function checkKl(out: Tensor, p: Tensor, q: Tensor): { T: number; V: number } {
  const op = 'kl';
  const [T, V] = dims2(op, 'p', p);
  const [T2, V2] = dims2(op, 'q', q);
  dtypeIs(op, 'p', p, 'f32');
  dtypeIs(op, 'q', q, 'f32');
  dtypeIs(op, 'out', out, 'f32');
  if (T2 !== T || V2 !== V) fail(op, `q ${shapeStr(q.shape)} must equal p ${shapeStr(p.shape)}`);
  if (out.shape.length !== 2 || out.shape[0] !== T || out.shape[1] !== 2) fail(op, `out ${shapeStr(out.shape)} must be [${T}, 2]`);
  return { T, V };
}

function vec(op: string, name: string, t: Tensor, n: number, dtype: DType): void {
  if (t.shape.length !== 1 || t.shape[0] !== n) fail(op, `${name} ${shapeStr(t.shape)} must be [${n}]`);
  dtypeIs(op, name, t, dtype);
}

/** [n, n] f32 operands of one size. */
export function checkSquare(op: string, ...named: [string, Tensor][]): { n: number } {
  const [first] = named;
  if (!first) fail(op, 'no operands');
  const [n, n2] = dims2(op, first[0], first[1]);
  if (n !== n2) fail(op, `${first[0]} ${shapeStr(first[1].shape)} must be square`);
  for (const [name, t] of named) {
    dtypeIs(op, name, t, 'f32');
    const [a, b] = dims2(op, name, t);
    if (a !== n || b !== n) fail(op, `${name} ${shapeStr(t.shape)} must be [${n}, ${n}] like ${first[0]} ${shapeStr(first[1].shape)}`);
  }
  return { n };
}

export function checkDiagonal(out: Tensor, a: Tensor): { n: number } {
  const { n } = checkSquare('diagonal', ['a', a]);
  vec('diagonal', 'out', out, n, 'f32');
  return { n };
}

export function checkPermuteSymmetric(out: Tensor, a: Tensor, idx: Tensor, diagAdd: Tensor): { n: number } {
  const op = 'permuteSymmetric';
  const { n } = checkSquare(op, ['out', out], ['a', a]);
  if (out === a) fail(op, 'out must not be a');
  vec(op, 'idx', idx, n, 'i32');
  vec(op, 'diagAdd', diagAdd, n, 'f32');
  return { n };
}

export function checkGatherTranspose(out: Tensor, x: Tensor, idx: Tensor): { n: number; R: number; C: number } {
  const op = 'gatherTranspose';
  const [R, C] = dims2(op, 'x', x);
  const [n, R2] = dims2(op, 'out', out);
  dtypeIs(op, 'x', x, 'f32');
  dtypeIs(op, 'out', out, 'f32');
  if (R2 !== R) fail(op, `out ${shapeStr(out.shape)} must be [${n}, ${R}] for x ${shapeStr(x.shape)}`);
  vec(op, 'idx', idx, n, 'i32');
  return { n, R, C };
}

export function checkRowDot(out: Tensor, a: Tensor, b: Tensor): { R: number; C: number } {
  const op = 'rowDot';
  const [R, C] = dims2(op, 'a', a);
  const [R2, C2] = dims2(op, 'b', b);
  dtypeIs(op, 'a', a, 'f32');
  dtypeIs(op, 'b', b, 'f32');
  if (R2 !== R || C2 !== C) fail(op, `b ${shapeStr(b.shape)} must match a ${shapeStr(a.shape)}`);
  vec(op, 'out', out, R, 'f32');
  return { R, C };
}

export function checkGptqBlock(t: GptqBlockTensors, p: GptqBlockParams): { n: number; out: number; nGroups: number } {
  const op = 'gptqBlock';
  const [n, out] = dims2(op, 'wt', t.wt);
  checkSquare(op, ['u', t.u]);
  if (t.u.shape[0] !== n) fail(op, `u ${shapeStr(t.u.shape)} must be [${n}, ${n}] for wt ${shapeStr(t.wt.shape)}`);
  const [nGroups, o2] = dims2(op, 'scale', t.scale);
  if (o2 !== out || t.zero.shape.length !== 2 || t.zero.shape[0] !== nGroups || t.zero.shape[1] !== out) {
    fail(op, `scale ${shapeStr(t.scale.shape)} and zero ${shapeStr(t.zero.shape)} must be [nGroups, ${out}]`);
  }
  const [wr, wc] = dims2(op, 'what', t.what);
  if (wr !== out || wc !== n) fail(op, `what ${shapeStr(t.what.shape)} must be [${out}, ${n}]`);
  const [er, ec] = dims2(op, 'err', t.err);
  for (const [name, x] of [['wt', t.wt], ['scale', t.scale], ['zero', t.zero], ['what', t.what], ['err', t.err]] as const) dtypeIs(op, name, x, 'f32');
  vec(op, 'group', t.group, n, 'i32');
  vec(op, 'perm', t.perm, n, 'i32');
  const { i1, i2, fitGroupSize: g } = p;
  if (!(Number.isInteger(i1) && Number.isInteger(i2) && 0 <= i1 && i1 < i2 && i2 <= n)) fail(op, `block [${i1}, ${i2}) is not inside [0, ${n})`);
  if (ec !== out || er < i2 - i1) fail(op, `err ${shapeStr(t.err.shape)} must be [≥ ${i2 - i1}, ${out}]`);
  try {
    checkUniformGrid(p.grid);
  } catch (e) {
    fail(op, (e as Error).message);
  }
  if (!Number.isInteger(g) || g < 0) fail(op, `fitGroupSize must be an integer ≥ 0, got ${g}`);
  if (g > 0 && Math.ceil(n / g) > nGroups) fail(op, `${Math.ceil(n / g)} groups of ${g} do not fit scale ${shapeStr(t.scale.shape)}`);
  return { n, out, nGroups };
}

/** A KV cache is f32 or f16, keys and values alike. */
function checkKvDtypes(op: string, kn: string, k: Tensor, vn: string, v: Tensor): void {
  if (k.dtype !== 'f32' && k.dtype !== 'f16') fail(op, `${kn} is ${k.dtype}; a KV cache is f32 or f16`);
  if (v.dtype !== k.dtype) fail(op, `${vn} is ${v.dtype} but ${kn} is ${k.dtype}`);
}

/** A device position: [1] i32. */
export function checkPos(op: string, pos: Tensor): void {
  if (pos.shape.length !== 1 || pos.shape[0] !== 1) fail(op, `pos ${shapeStr(pos.shape)} must be [1]`);
  dtypeIs(op, 'pos', pos, 'i32');
}

export function checkRopeKv(
  q: Tensor,
  kCache: Tensor,
  vCache: Tensor,
  qkv: Tensor,
  cos: Tensor,
  sin: Tensor,
  p: RopeKvParams,
): { T: number; S: number; Cq: number; Ckv: number; half: number } {
  const op = 'ropeKv';
  const { nHeads, nKvHeads, headDim, pos0 } = p;
  for (const [n, x] of [['nHeads', nHeads], ['nKvHeads', nKvHeads], ['headDim', headDim]] as const) {
    if (!Number.isInteger(x) || x <= 0) fail(op, `${n} must be a positive integer, got ${x}`);
  }
  if (headDim % 2 !== 0) fail(op, `headDim ${headDim} must be even`);
  const Cq = nHeads * headDim;
  const Ckv = nKvHeads * headDim;
  const half = headDim / 2;
  const [T, W] = dims2(op, 'qkv', qkv);
  if (W !== Cq + 2 * Ckv) fail(op, `qkv ${shapeStr(qkv.shape)} must have ${Cq} + 2·${Ckv} columns (${nHeads} + 2·${nKvHeads} heads of ${headDim})`);
  const [Tq, Cq2] = dims2(op, 'q', q);
  if (Tq !== T || Cq2 !== Cq) fail(op, `q ${shapeStr(q.shape)} must be [${T}, ${Cq}]`);
  const [S, Ckv2] = dims2(op, 'kCache', kCache);
  if (Ckv2 !== Ckv) fail(op, `kCache ${shapeStr(kCache.shape)} must have ${Ckv} columns`);
  if (vCache.shape.length !== 2 || vCache.shape[0] !== S || vCache.shape[1] !== Ckv) fail(op, `vCache ${shapeStr(vCache.shape)} must equal kCache ${shapeStr(kCache.shape)}`);
  const [P, half2] = dims2(op, 'cos', cos);
  if (half2 !== half) fail(op, `cos ${shapeStr(cos.shape)} must have ${half} columns`);
  if (sin.shape.length !== 2 || sin.shape[0] !== P || sin.shape[1] !== half) fail(op, `sin ${shapeStr(sin.shape)} must equal cos ${shapeStr(cos.shape)}`);
  for (const [n, x] of [['q', q], ['qkv', qkv], ['cos', cos], ['sin', sin]] as const) dtypeIs(op, n, x, 'f32');
  checkKvDtypes(op, 'kCache', kCache, 'vCache', vCache);
  const outs = [q, kCache, vCache, qkv];
  if (new Set(outs).size !== outs.length) fail(op, 'q, kCache, vCache and qkv must be four distinct tensors');
  if (!Number.isInteger(pos0) || pos0 < 0) fail(op, `pos0 must be an integer ≥ 0, got ${pos0}`);
  if (pos0 + T > S) fail(op, `positions ${pos0}…${pos0 + T - 1} exceed the cache of ${S} rows`);
  if (pos0 + T > P) fail(op, `positions ${pos0}…${pos0 + T - 1} exceed the table of ${P}`);
  if (p.pos) checkPos(op, p.pos);
  return { T, S, Cq, Ckv, half };
}

export function checkArgmax(ids: Tensor, logits: Tensor, history?: ArgmaxHistory, op = 'argmax'): { T: number; V: number; N: number } {
  const [T, V] = dims2(op, 'logits', logits);
  dtypeIs(op, 'logits', logits, 'f32');
  if (V < 1) fail(op, `logits ${shapeStr(logits.shape)} has no columns`);
  vec(op, 'ids', ids, T, 'i32');
  if (!history) return { T, V, N: 0 };
  const { tokens, pos } = history;
  if (tokens.shape.length !== 1) fail(op, `history.tokens ${shapeStr(tokens.shape)} must be 1-D`);
  dtypeIs(op, 'history.tokens', tokens, 'i32');
  checkPos(op, pos);
  if (tokens === ids || tokens === pos || ids === pos) fail(op, 'ids, history.tokens and history.pos must be distinct tensors');
  if (history.advance && T !== 1) fail(op, `history.advance needs one row of logits, got ${T}`);
  return { T, V, N: tokens.shape[0] as number };
}

export function checkSample(ids: Tensor, logits: Tensor, d: SampleDraws, history?: ArgmaxHistory): { T: number; V: number; N: number; NU: number } {
  const op = 'sample';
  const { T, V, N } = checkArgmax(ids, logits, history, op); // the same ids, logits and history
  if (!(d.temperature > 0 && Number.isFinite(d.temperature))) fail(op, `temperature must be a finite number > 0 (0 is argmax), got ${d.temperature}`);
  if (!(d.topP > 0 && d.topP <= 1)) fail(op, `top-p must be in (0, 1], got ${d.topP}`);
  if (!Number.isInteger(d.topK) || d.topK < 0) fail(op, `top-k must be a non-negative integer, got ${d.topK}`);
  const u = d.uniforms;
  if (u.shape.length !== 1) fail(op, `uniforms ${shapeStr(u.shape)} must be 1-D`);
  dtypeIs(op, 'uniforms', u, 'f32');
  const NU = u.shape[0] as number;
  if (!history && NU < T) fail(op, `uniforms ${shapeStr(u.shape)} hold fewer draws than the ${T} rows`);
  if (history && NU < N) fail(op, `uniforms ${shapeStr(u.shape)} must hold a draw for each of the ${N} history positions`);
  return { T, V, N, NU };
}

export function checkSpqrBlock(t: SpqrBlockTensors, p: SpqrBlockParams): { n: number; out: number; nGroups: number; nStat: number } {
  const op = 'spqrBlock';
  const [n, out] = dims2(op, 'wt', t.wt);
  checkSquare(op, ['u', t.u]);
  if (t.u.shape[0] !== n) fail(op, `u ${shapeStr(t.u.shape)} must be [${n}, ${n}] for wt ${shapeStr(t.wt.shape)}`);
  for (const k of ['bits', 'qqBits'] as const) if (!(Number.isInteger(p[k]) && p[k] >= 2 && p[k] <= 8)) fail(op, `${k} must be an integer 2–8, got ${p[k]}`);
  for (const k of ['groupSize', 'qqGroup'] as const) if (!(Number.isInteger(p[k]) && p[k] >= 1)) fail(op, `${k} must be an integer ≥ 1, got ${p[k]}`);
  if (!(p.tauAbs >= 0)) fail(op, `tauAbs must be ≥ 0 (Infinity = no outliers), got ${p.tauAbs}`);
  const nGroups = Math.ceil(n / p.groupSize);
  const nStat = Math.ceil(out / p.qqGroup);
  const is = (x: Tensor, shape: number[]): boolean => x.shape.length === shape.length && x.shape.every((v, i) => v === shape[i]);
  const want: [string, Tensor, number[]][] = [['fit', t.fit, [2, out]], ['grid', t.grid, [nGroups, 4, out]], ['stats', t.stats, [nGroups, nStat, 4]], ['what', t.what, [out, n]], ['codes', t.codes, [out, n]]];
  for (const [name, x, shape] of want) if (!is(x, shape)) fail(op, `${name} ${shapeStr(x.shape)} must be [${shape.join(', ')}] for wt ${shapeStr(t.wt.shape)}`);
  const [er, ec] = dims2(op, 'err', t.err);
  for (const [name, x] of [['wt', t.wt], ['u', t.u], ['fit', t.fit], ['grid', t.grid], ['stats', t.stats], ['what', t.what], ['err', t.err]] as const) dtypeIs(op, name, x, 'f32');
  dtypeIs(op, 'codes', t.codes, 'i32');
  const { i1, i2, groupSize: g } = p;
  if (!(Number.isInteger(i1) && Number.isInteger(i2) && 0 <= i1 && i1 < i2 && i2 <= n)) fail(op, `block [${i1}, ${i2}) is not inside [0, ${n})`);
  if (i1 % g !== 0 || (i2 !== n && i2 % g !== 0)) fail(op, `block [${i1}, ${i2}) must start and end at group starts (groupSize ${g})`);
  if (ec !== out || er < i2 - i1) fail(op, `err ${shapeStr(t.err.shape)} must be [≥ ${i2 - i1}, ${out}]`);
  return { n, out, nGroups, nStat };
}
