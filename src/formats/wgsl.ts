/**
 * WGSL constants generated from a format record (CONVENTIONS §2.2): kernels
 * include this header instead of retyping bit widths, masks or group sizes.
 */
import type { FormatParams, QuantFormat } from './types.js';

const snakeUpper = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/**
 * A block of WGSL `const` declarations for `fmt` with these parameters:
 * Q_FORMAT_CODE, Q_BITS, and for bit-packed codes Q_MASK, Q_WORDS_PER_32
 * (u32 words holding 32 codes), Q_CODES_PER_WORD (0 when codes straddle words,
 * as for 3 bits), then one Q_<PARAM> per kernel parameter of the record.
 */
export function wgslConstants(fmt: QuantFormat, params: FormatParams): string {
  const bits = fmt.bits ?? params.bits;
  if (bits === undefined) throw new Error(`wgslConstants ${fmt.id}: bits is neither in the record nor in params`);
  const lines = [
    `// Generated from FORMATS.${fmt.id} by wgslConstants(); do not edit.`,
    `const Q_FORMAT_CODE: u32 = ${fmt.code}u;`,
    `const Q_BITS: u32 = ${bits}u;`,
  ];
  if (fmt.kernelParams.length > 0) {
    lines.push(
      `const Q_MASK: u32 = 0x${(2 ** bits - 1).toString(16)}u;`,
      `const Q_WORDS_PER_32: u32 = ${bits}u;`,
      `const Q_CODES_PER_WORD: u32 = ${32 % bits === 0 ? 32 / bits : 0}u;`,
    );
  }
  for (const name of fmt.kernelParams) {
    const v = params[name];
    if (v === undefined || !Number.isInteger(v) || v < 0) throw new Error(`wgslConstants ${fmt.id}: parameter ${name} = ${v}`);
    if (name !== 'bits') lines.push(`const Q_${snakeUpper(name)}: u32 = ${v}u;`);
  }
  return lines.join('\n') + '\n';
}
