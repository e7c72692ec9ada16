/**
 * Shape checks shared by every backend: each op validates its operands here
 * and gets back the dimensions it needs, so CPU and WebGPU reject the same
 * calls with the same messages.
 */
import type { DType } from '../tensor/dtype.js';
import { shapeStr } from '../tensor/tensor.js';
import type { AttentionParams, Tensor } from './backend.js';

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

export function checkMatmul(out: Tensor, x: Tensor, w: Tensor, bias?: Tensor): { T: number; K: number; M: number } {
  const op = 'matmul';
  const [T, K] = dims2(op, 'x', x);
  const [M, K2] = dims2(op, 'w', w);
  dtypeIs(op, 'x', x, 'f32');
  dtypeIs(op, 'out', out, 'f32');
  if (K2 !== K) fail(op, `x ${shapeStr(x.shape)} and w ${w.format !== undefined ? `${w.format}` : ""}${shapeStr(w.shape)} disagree on K`);
  if (out.shape.length !== 2 || out.shape[0] !== T || out.shape[1] !== M) {
    fail(op, `out ${shapeStr(out.shape)} must be [${T}, ${M}] for x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== M)) fail(op, `bias ${shapeStr(bias.shape)} must be [${M}]`);
  return { T, K, M };
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
  for (const [n, t] of [['out', out], ['q', q], ['k', k], ['v', v]] as const) dtypeIs(op, n, t, 'f32');
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
