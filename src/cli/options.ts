/** Parsers for numeric CLI options: each rejects bad values as an InputError naming the flag. */
import { InputError } from '../io/errors.js';

export function intOption(flag: string, min: number, max?: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
      throw new InputError(flag, max === undefined ? `expects an integer ≥ ${min}, got "${v}"` : `expects an integer from ${min} to ${max}, got "${v}"`);
    }
    return n;
  };
}

export function numberOption(flag: string, ok: (n: number) => boolean, what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InputError(flag, `expects ${what}, got "${v}"`);
    return n;
  };
}
