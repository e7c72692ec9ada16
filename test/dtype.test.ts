import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16ToF32, f16ToF32, f32Bits, f32FromBits, f32ToBf16, f32ToF16 } from '../src/tensor/dtype.js';

/** All finite f16 values in increasing order, with their bit patterns (reference for rounding). */
function sortedF16(): { v: number; h: number }[] {
  const out: { v: number; h: number }[] = [];
  for (let h = 0; h < 0x7c00; h++) out.push({ v: f16ToF32(h), h });
  return out;
}

function nearestF16(x: number, table: { v: number; h: number }[]): number {
  const ax = Math.abs(x);
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  if (ax >= 65520) return sign | 0x7c00; // half-way above the largest finite f16 rounds to Inf
  let lo = 0;
  let hi = table.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((table[mid] as { v: number }).v <= ax) lo = mid;
    else hi = mid;
  }
  const a = table[lo] as { v: number; h: number };
  const b = table[hi] as { v: number; h: number };
  if (ax === a.v) return sign | a.h;
  const da = ax - a.v;
  const db = b.v - ax;
  const pick = da < db ? a : db < da ? b : (a.h & 1) === 0 ? a : b;
  return sign | pick.h;
}

test('f16: every bit pattern survives f16 → f32 → f16', () => {
  for (let h = 0; h < 65536; h++) {
    const v = f16ToF32(h);
    if (Number.isNaN(v)) {
      assert.ok((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0, `pattern ${h.toString(16)} decoded to NaN`);
      assert.ok(Number.isNaN(f16ToF32(f32ToF16(v))));
    } else {
      assert.equal(f32ToF16(v), h, `pattern 0x${h.toString(16)} (${v})`);
    }
  }
});

test('f16: f32 → f16 rounds to nearest, ties to even, on random and boundary values', () => {
  const table = sortedF16();
  const values = [0, -0, 65504, 65519.99, 65520, -65520, 1e-8, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -24 * 1.5, 2 ** -24 * 2.5, 6.1e-5, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
  let seed = 12345;
  for (let i = 0; i < 200000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const bits = (seed ^ (seed << 7)) >>> 0;
    const x = f32FromBits(bits);
    if (Number.isFinite(x) && Math.abs(x) < 1e6) values.push(x);
  }
  for (const x of values) {
    const xf = Math.fround(x);
    assert.equal(f32ToF16(xf), nearestF16(xf, table), `x = ${xf}`);
  }
  assert.equal(f32ToF16(Infinity), 0x7c00);
  assert.equal(f32ToF16(-Infinity), 0xfc00);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
});

test('bf16: round trip of every pattern, RNE on ties, NaN and Inf kept', () => {
  for (let h = 0; h < 65536; h++) {
    const v = bf16ToF32(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(v))));
    else assert.equal(f32ToBf16(v), h);
  }
  // 1 + 2^-8 is exactly half-way between bf16 1 (even) and 1 + 2^-7 (odd): ties go to 1.
  assert.equal(bf16ToF32(f32ToBf16(1 + 2 ** -8)), 1);
  // 1 + 3·2^-8 lies half-way between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
  assert.equal(bf16ToF32(f32ToBf16(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
  assert.equal(bf16ToF32(f32ToBf16(1 + 2 ** -8 + 2 ** -20)), 1 + 2 ** -7);
  assert.equal(f32ToBf16(Infinity), 0x7f80);
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  // a NaN whose payload sits only in the low half must stay NaN
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(f32FromBits(0x7f800001)))));
  assert.equal(f32Bits(bf16ToF32(f32ToBf16(-0))), 0x80000000);
});
