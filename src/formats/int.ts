/**
 * Grouped uniform integer formats int2 / int3 / int4 / int8 (GPTQ, RTN).
 *
 * Arrays (docs/formats.md has the byte-level picture):
 *   codes  [out, in]      b-bit codes, bit-packed along in (bytes.ts), layout column order
 *   scales [nGroups, out] fp16 step per (group, row)
 *   zeros  [nGroups, out] b-bit integer zero points, bit-packed along out
 *   perm   [in] u16       layout column → original column; empty when identity
 * Ŵ[r, perm[c]] = scale[g, r] · (code[r, c] − zero[g, r]), g = floor(c / groupSize).
 */
import { f16ArrayToF32, f32ToF16 } from '../tensor/dtype.js';
import { packBits, packedBytes, bytesU16, u16Bytes, unpackBits } from './bytes.js';
import { dequantizeUniform } from './grids/uniform.js';
import { checkPacked, checkPermutation, checkTensor, exactF16, intParam, permU16, unpermuteColumns } from './packed.js';
import type { FormatId, FormatParams, PackedTensor, QuantFormat, QuantizedTensor, UnpackedTensor } from './types.js';

const INT_ARRAYS = ['codes', 'scales', 'zeros', 'perm'] as const;

/**
 * An int tensor's statistics row-major with a group's scale and zero in one u32, [out, nGroups]:
 * fp16 scale | fp16 zero << 16 (the zero, an integer below 2^bits, is exact in fp16). What the
 * packed kernels read (webgpu/packed.ts's image, the CPU's WASM qgemm): one load per group and row.
 */
export function mergedIntStats(p: PackedTensor, nGroups: number, bits: number, into: Uint32Array = new Uint32Array(p.shape[0] * nGroups)): Uint32Array {
  const out = p.shape[0];
  const scales = bytesU16(p.arrays.scales as Uint8Array);
  const zeros = unpackBits(p.arrays.zeros as Uint8Array, nGroups, out, bits);
  for (let g = 0; g < nGroups; g++) {
    for (let r = 0; r < out; r++) into[r * nGroups + g] = ((scales[g * out + r] as number) | (f32ToF16(zeros[g * out + r] as number) << 16)) >>> 0;
  }
  return into;
}

/** The record of a b-bit grouped integer format. */
export function intFormat(id: FormatId, code: number, bits: number): QuantFormat {
  const maxq = 2 ** bits - 1;
  const fmt: QuantFormat = {
    id,
    code,
    bits,
    groups: `groupSize consecutive input columns (layout order) per row share an fp16 scale and a ${bits}-bit zero; groupSize = in is per-channel`,
    kernelParams: ['groupSize', 'permuted'],
    arrays: INT_ARRAYS,
    f16Arrays: ['scales'],

    params(t: QuantizedTensor): FormatParams {
      if (t.grid === null) throw new Error(`${id}: tensor has no grid`);
      return { groupSize: t.grid.groupSize, permuted: t.grid.perm === null ? 0 : 1 };
    },

    arrayBytes([out, inn], params) {
      const g = intParam(id, params, 'groupSize', 1, inn);
      const permuted = intParam(id, params, 'permuted', 0, 1);
      const nGroups = Math.ceil(inn / g);
      return {
        codes: packedBytes(out, inn, bits),
        scales: nGroups * out * 2,
        zeros: packedBytes(nGroups, out, bits),
        perm: permuted * inn * 2,
      };
    },

    pack(t: QuantizedTensor): PackedTensor {
      checkTensor(id, t);
      const grid = t.grid;
      if (grid === null || grid.bits !== bits) throw new Error(`pack ${id}: needs ${bits}-bit grid codes`);
      if (t.bilevel !== null || t.outliers !== null) throw new Error(`pack ${id}: cannot store bilevel stats or outliers`);
      const nGroups = Math.ceil(t.in / grid.groupSize);
      const zeros = new Uint8Array(nGroups * t.out);
      for (let i = 0; i < zeros.length; i++) {
        const z = grid.zero[i] as number;
        if (!Number.isInteger(z) || z < 0 || z > maxq) throw new Error(`pack ${id}: zero[${i}] = ${z} is not an integer in [0, ${maxq}]`);
        zeros[i] = z;
      }
      return {
        format: id,
        shape: [t.out, t.in],
        params: fmt.params(t),
        arrays: {
          codes: packBits(grid.codes, t.out, t.in, bits),
          scales: u16Bytes(exactF16(`${id} scale`, grid.scale)),
          zeros: packBits(zeros, nGroups, t.out, bits),
          perm: grid.perm === null ? new Uint8Array(0) : u16Bytes(permU16(grid.perm)),
        },
      };
    },

    checkIndices(p: PackedTensor): void {
      const [, inn] = checkPacked(fmt, p);
      if (p.params.permuted === 1) checkPermutation(bytesU16(p.arrays.perm as Uint8Array), inn);
    },

    unpack(p: PackedTensor): UnpackedTensor {
      const [out, inn] = checkPacked(fmt, p);
      const g = p.params.groupSize as number;
      const nGroups = Math.ceil(inn / g);
      const codes = unpackBits(p.arrays.codes as Uint8Array, out, inn, bits);
      const scale = f16ArrayToF32(bytesU16(p.arrays.scales as Uint8Array));
      const zero = unpackBits(p.arrays.zeros as Uint8Array, nGroups, out, bits);
      const layout = new Float32Array(out * inn);
      for (let r = 0; r < out; r++) {
        for (let c = 0; c < inn; c++) {
          const k = Math.floor(c / g) * out + r;
          layout[r * inn + c] = dequantizeUniform(codes[r * inn + c] as number, scale[k] as number, zero[k] as number);
        }
      }
      const perm = p.params.permuted === 1 ? bytesU16(p.arrays.perm as Uint8Array) : null;
      return { weight: unpermuteColumns(layout, out, inn, perm), codes };
    },
  };
  return fmt;
}
