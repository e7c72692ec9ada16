/**
 * The SpQR format: b-bit codes in groups of β1 columns, bilevel statistics,
 * fp16 outliers in CSR. Everything column-indexed is in layout (permuted) order.
 *
 * Arrays (docs/formats.md has the byte-level picture):
 *   codes         [out, in]              b-bit weight codes, bit-packed along in
 *   scaleCodes    [nGroups, out]         qqBits-bit codes of the first-level scales, bit-packed along out
 *   zeroCodes     [nGroups, out]         qqBits-bit codes of the first-level zeros
 *   scaleStats    [nGroups, nStat, 2]    fp16 (scale, zero) of the grid each β2-row chunk of scales is on
 *   zeroStats     [nGroups, nStat, 2]    fp16 (scale, zero) of the grid each β2-row chunk of zeros is on
 *   outlierRowPtr [out + 1] u32          CSR row pointers
 *   outlierCol    [nnz] u16              layout column of each outlier
 *   outlierVal    [nnz] f16              residual added to the dense value
 *   perm          [in] u16               layout column → original column; empty when identity
 * With s = deq(scaleCode, scaleStats), z = deq(zeroCode, zeroStats) (deq = dequantizeAffine),
 * Ŵ[r, perm[c]] = deq(code[r, c], s, z), then f32(Ŵ + outlierVal) at each outlier.
 */
import { f16ArrayToF32 } from '../tensor/dtype.js';
import { bytesU16, bytesU32, packBits, packedBytes, u16Bytes, u32Bytes, unpackBits } from './bytes.js';
import { dequantizeAffine } from './grids/affine.js';
import { checkPacked, checkPermutation, checkTensor, exactF16, intParam, permU16, unpermuteColumns } from './packed.js';
import type { FormatParams, PackedTensor, QuantFormat, QuantizedTensor, UnpackedTensor } from './types.js';

/**
 * SpQR's CSR outliers as one u32 an entry, the layout column (u16) in the low half and the fp16
 * value in the high half. What the packed kernels read (webgpu/packed.ts's image, the CPU's WASM
 * qgemm): one aligned load an entry instead of two half-word loads from two arrays.
 */
export function mergedOutliers(p: PackedTensor, into: Uint32Array = new Uint32Array((p.arrays.outlierCol as Uint8Array).length / 2)): Uint32Array {
  const col = bytesU16(p.arrays.outlierCol as Uint8Array);
  const val = bytesU16(p.arrays.outlierVal as Uint8Array);
  for (let e = 0; e < col.length; e++) into[e] = ((col[e] as number) | ((val[e] as number) << 16)) >>> 0;
  return into;
}

/** SpQR's first-level codes row-major, [out, nGroups] u16: scale code | zero code << 8 (qqBits ≤ 8). */
export function mergedSpqrCodePairs(p: PackedTensor, into: Uint16Array = new Uint16Array(p.shape[0] * Math.ceil(p.shape[1] / (p.params.groupSize as number)))): Uint16Array {
  const [out, inn] = p.shape;
  const nGroups = Math.ceil(inn / (p.params.groupSize as number));
  const qq = p.params.qqBits as number;
  const sc = unpackBits(p.arrays.scaleCodes as Uint8Array, nGroups, out, qq);
  const zc = unpackBits(p.arrays.zeroCodes as Uint8Array, nGroups, out, qq);
  for (let g = 0; g < nGroups; g++) {
    for (let r = 0; r < out; r++) into[r * nGroups + g] = (sc[g * out + r] as number) | ((zc[g * out + r] as number) << 8);
  }
  return into;
}

/** SpQR's second-level statistics widened, [nGroups, nStat, 4] f32: the scales' grid (scale, zero), then the zeros'. */
export function spqrSecondF32(p: PackedTensor, into?: Float32Array): Float32Array {
  const s = f16ArrayToF32(bytesU16(p.arrays.scaleStats as Uint8Array));
  const z = f16ArrayToF32(bytesU16(p.arrays.zeroStats as Uint8Array));
  const n = s.length / 2;
  const o = into ?? new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    o[4 * i] = s[2 * i] as number;
    o[4 * i + 1] = s[2 * i + 1] as number;
    o[4 * i + 2] = z[2 * i] as number;
    o[4 * i + 3] = z[2 * i + 1] as number;
  }
  return o;
}

const SPQR_ARRAYS = ['codes', 'scaleCodes', 'zeroCodes', 'scaleStats', 'zeroStats', 'outlierRowPtr', 'outlierCol', 'outlierVal', 'perm'] as const;

const paramsOf = (p: FormatParams, inn: number, out: number) => ({
  bits: intParam('spqr', p, 'bits', 2, 8),
  groupSize: intParam('spqr', p, 'groupSize', 1, inn),
  qqBits: intParam('spqr', p, 'qqBits', 2, 8),
  qqGroup: intParam('spqr', p, 'qqGroup', 1, out),
  permuted: intParam('spqr', p, 'permuted', 0, 1),
  outliers: intParam('spqr', p, 'outliers', 0, out * inn),
});

/** Throws unless the CSR row pointers rise from 0 to `outliers` and every column is below `inn`. */
function checkOutlierCsr(rowPtr: Uint32Array, col: Uint16Array, out: number, inn: number, outliers: number): void {
  if (rowPtr[0] !== 0 || rowPtr[out] !== outliers) throw new Error(`spqr: outlier row pointers do not span 0 … ${outliers}`);
  for (let r = 0; r < out; r++) {
    if ((rowPtr[r + 1] as number) < (rowPtr[r] as number)) throw new Error(`spqr: outlier row pointers decrease at row ${r}`);
  }
  for (let e = 0; e < outliers; e++) {
    if ((col[e] as number) >= inn) throw new Error(`spqr: outlier ${e}'s column ${col[e]} is out of range (in = ${inn})`);
  }
}

export const SPQR_FORMAT: QuantFormat = {
  id: 'spqr',
  code: 7,
  bits: null,
  groups:
    'groupSize (β1) layout columns per row share a (scale, zero), each quantized to qqBits; qqGroup (β2) consecutive rows of those share fp16 second-level (scale, zero)',
  kernelParams: ['bits', 'groupSize', 'qqBits', 'qqGroup', 'permuted'],
  arrays: SPQR_ARRAYS,
  f16Arrays: ['scaleStats', 'zeroStats', 'outlierVal'],

  params(t: QuantizedTensor): FormatParams {
    if (t.grid === null || t.bilevel === null) throw new Error('spqr: tensor has no grid or bilevel stats');
    return {
      bits: t.grid.bits,
      groupSize: t.grid.groupSize,
      qqBits: t.bilevel.bits,
      qqGroup: t.bilevel.groupSize,
      permuted: t.grid.perm === null ? 0 : 1,
      outliers: t.outliers === null ? 0 : t.outliers.col.length,
    };
  },

  arrayBytes([out, inn], params) {
    const p = paramsOf(params, inn, out);
    const nGroups = Math.ceil(inn / p.groupSize);
    const statBytes = nGroups * Math.ceil(out / p.qqGroup) * 2 * 2;
    return {
      codes: packedBytes(out, inn, p.bits),
      scaleCodes: packedBytes(nGroups, out, p.qqBits),
      zeroCodes: packedBytes(nGroups, out, p.qqBits),
      scaleStats: statBytes,
      zeroStats: statBytes,
      outlierRowPtr: (out + 1) * 4,
      outlierCol: p.outliers * 2,
      outlierVal: p.outliers * 2,
      perm: p.permuted * inn * 2,
    };
  },

  pack(t: QuantizedTensor): PackedTensor {
    checkTensor('spqr', t);
    const { grid, bilevel, outliers } = t;
    if (grid === null || bilevel === null) throw new Error('pack spqr: needs grid codes and bilevel stats');
    if (t.in > 65536) throw new Error(`pack spqr: in = ${t.in} > 65536 does not fit u16 outlier columns`);
    const nGroups = Math.ceil(t.in / grid.groupSize);
    return {
      format: 'spqr',
      shape: [t.out, t.in],
      params: SPQR_FORMAT.params(t),
      arrays: {
        codes: packBits(grid.codes, t.out, t.in, grid.bits),
        scaleCodes: packBits(bilevel.scaleCodes, nGroups, t.out, bilevel.bits),
        zeroCodes: packBits(bilevel.zeroCodes, nGroups, t.out, bilevel.bits),
        scaleStats: u16Bytes(exactF16('spqr scaleStats', bilevel.scaleStats)),
        zeroStats: u16Bytes(exactF16('spqr zeroStats', bilevel.zeroStats)),
        outlierRowPtr: u32Bytes(outliers?.rowPtr ?? new Uint32Array(t.out + 1)),
        outlierCol: u16Bytes(outliers?.col ?? new Uint16Array(0)),
        outlierVal: u16Bytes(outliers?.value ?? new Uint16Array(0)),
        perm: grid.perm === null ? new Uint8Array(0) : u16Bytes(permU16(grid.perm)),
      },
    };
  },

  checkIndices(packed: PackedTensor): void {
    const [out, inn] = checkPacked(SPQR_FORMAT, packed);
    const p = paramsOf(packed.params, inn, out);
    const a = packed.arrays as Record<(typeof SPQR_ARRAYS)[number], Uint8Array>;
    checkOutlierCsr(bytesU32(a.outlierRowPtr), bytesU16(a.outlierCol), out, inn, p.outliers);
    if (p.permuted === 1) checkPermutation(bytesU16(a.perm), inn);
  },

  unpack(packed: PackedTensor): UnpackedTensor {
    const [out, inn] = checkPacked(SPQR_FORMAT, packed);
    const p = paramsOf(packed.params, inn, out);
    const a = packed.arrays as Record<(typeof SPQR_ARRAYS)[number], Uint8Array>;
    const nGroups = Math.ceil(inn / p.groupSize);
    const nStat = Math.ceil(out / p.qqGroup);
    const codes = unpackBits(a.codes, out, inn, p.bits);
    const scaleCodes = unpackBits(a.scaleCodes, nGroups, out, p.qqBits);
    const zeroCodes = unpackBits(a.zeroCodes, nGroups, out, p.qqBits);
    const scaleStats = f16ArrayToF32(bytesU16(a.scaleStats));
    const zeroStats = f16ArrayToF32(bytesU16(a.zeroStats));

    const layout = new Float32Array(out * inn);
    for (let g = 0; g < nGroups; g++) {
      for (let r = 0; r < out; r++) {
        const k = g * out + r;
        const st = 2 * (g * nStat + Math.floor(r / p.qqGroup));
        const s = dequantizeAffine(scaleCodes[k] as number, scaleStats[st] as number, scaleStats[st + 1] as number);
        const z = dequantizeAffine(zeroCodes[k] as number, zeroStats[st] as number, zeroStats[st + 1] as number);
        const c1 = Math.min(inn, (g + 1) * p.groupSize);
        for (let c = g * p.groupSize; c < c1; c++) layout[r * inn + c] = dequantizeAffine(codes[r * inn + c] as number, s, z);
      }
    }

    const rowPtr = bytesU32(a.outlierRowPtr);
    const col = bytesU16(a.outlierCol);
    const val = f16ArrayToF32(bytesU16(a.outlierVal));
    checkOutlierCsr(rowPtr, col, out, inn, p.outliers);
    for (let r = 0; r < out; r++) {
      for (let e = rowPtr[r] as number; e < (rowPtr[r + 1] as number); e++) {
        const c = col[e] as number;
        layout[r * inn + c] = Math.fround((layout[r * inn + c] as number) + (val[e] as number));
      }
    }
    const perm = p.permuted === 1 ? bytesU16(a.perm) : null;
    return { weight: unpermuteColumns(layout, out, inn, perm), codes };
  },
};
