/**
 * RoPE cos/sin tables, computed as HF transformers does in f32:
 *   inv_freq[i] = 1 / θ^(2i/d)        (f32, then rescaled per rope type)
 *   angle[p, i] = f32(p · inv_freq[i]);  cos/sin rounded to f32
 * so that the tables equal the ones HF uses bit for bit up to the last ulp of
 * cos/sin themselves.
 */
import type { RopeScaling } from './config.js';

const f = Math.fround;

/** inv_freq: [headDim/2], with `rope_type` scaling applied (HF `_compute_*_parameters`). */
export function ropeInvFreq(headDim: number, theta: number, scaling: RopeScaling): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(theta ** f((2 * i) / headDim)));
  if (scaling.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = f((inv[i] as number) / scaling.factor);
  } else if (scaling.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldLen } = scaling;
    const lowFreqWavelen = oldLen / lowFreqFactor;
    const highFreqWavelen = oldLen / highFreqFactor;
    for (let i = 0; i < half; i++) {
      const freq = inv[i] as number;
      const wavelen = (2 * Math.PI) / freq;
      if (wavelen > lowFreqWavelen) {
        inv[i] = f(freq / factor); // long wavelengths: fully interpolated
      } else if (wavelen >= highFreqWavelen) {
        // medium: blend between interpolated and original
        const smooth = (oldLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        inv[i] = f(((1 - smooth) * freq) / factor + smooth * freq);
      }
    }
  }
  return inv;
}

/** cos, sin: [positions, headDim/2] f32. */
export function ropeTables(
  headDim: number,
  theta: number,
  scaling: RopeScaling,
  positions: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const inv = ropeInvFreq(headDim, theta, scaling);
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = f(p * (inv[i] as number));
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
