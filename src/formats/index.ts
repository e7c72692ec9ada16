/**
 * The format table: one record per packed format (CONVENTIONS §2.2). The
 * numeric `code` of each is what .lowbit files store; codes are append-only.
 */
import { denseFormat } from './dense.js';
import { intFormat } from './int.js';
import { SPQR_FORMAT } from './spqr.js';
import type { FormatId, QuantFormat } from './types.js';

export const FORMATS = {
  f32: denseFormat('f32', 0),
  f16: denseFormat('f16', 1),
  bf16: denseFormat('bf16', 2),
  int2: intFormat('int2', 3, 2),
  int3: intFormat('int3', 4, 3),
  int4: intFormat('int4', 5, 4),
  int8: intFormat('int8', 6, 8),
  spqr: SPQR_FORMAT,
} as const satisfies Record<FormatId, QuantFormat>;

/** The record stored under numeric code `code` in a file. */
export function formatByCode(code: number): QuantFormat {
  const f = Object.values(FORMATS).find((x) => x.code === code);
  if (f === undefined) throw new Error(`unknown format code ${code}`);
  return f;
}

/** The integer format for b-bit grid codes, or null when there is none (5–7 bits). */
export function intFormatFor(bits: number): 'int2' | 'int3' | 'int4' | 'int8' | null {
  return bits === 2 ? 'int2' : bits === 3 ? 'int3' : bits === 4 ? 'int4' : bits === 8 ? 'int8' : null;
}

/** The quantized formats (the rest are passthrough f32/f16/bf16): what packed kernels read. */
export const PACKED_FORMATS = ['int2', 'int3', 'int4', 'int8', 'spqr'] as const satisfies readonly FormatId[];

export const isPackedFormat = (f: string): f is (typeof PACKED_FORMATS)[number] => (PACKED_FORMATS as readonly string[]).includes(f);

export { denseTensor } from './dense.js';
export { wgslConstants } from './wgsl.js';
export type * from './types.js';
