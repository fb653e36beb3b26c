/**
 * Rotary position embeddings as transformers computes them (`LlamaRotaryEmbedding`, `rotate_half` layout): the
 * inverse frequencies, with Llama 3's scaling (`rope_type: llama3`) when the config has it. The test-model builder
 * bakes the same frequencies into its graphs; `test/unit/decoders.test.ts` checks them against values worked out by
 * hand from transformers' `_compute_llama3_parameters`.
 */

/** Llama 3's rope scaling, as config.json writes it. */
export interface Llama3RopeScaling {
  rope_type: 'llama3';
  factor: number;
  low_freq_factor: number;
  high_freq_factor: number;
  original_max_position_embeddings: number;
}

/** The inverse frequencies of rotary positions, with Llama 3's scaling when given (as transformers computes them). */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling?: Llama3RopeScaling): Float64Array {
  const half = headDim / 2;
  const inverse = Float64Array.from({ length: half }, (_, index) => 1 / theta ** ((2 * index) / headDim));
  if (!scaling) return inverse;
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: original } = scaling;
  const lowWavelength = original / low;
  const highWavelength = original / high;
  return inverse.map((frequency) => {
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highWavelength) return frequency;
    if (wavelength > lowWavelength) return frequency / factor;
    const smooth = (original / wavelength - low) / (high - low);
    return (1 - smooth) * (frequency / factor) + smooth * frequency;
  });
}

/** `cos` and `sin` of position × frequency, `[positions, headDim]` in the rotate-half layout (each half repeated). */
export function rotaryTables(positions: readonly number[], inverse: Float64Array): { cos: Float64Array; sin: Float64Array } {
  const half = inverse.length;
  const cos = new Float64Array(positions.length * half * 2);
  const sin = new Float64Array(positions.length * half * 2);
  positions.forEach((position, row) => {
    for (let index = 0; index < half; index += 1) {
      const angle = position * inverse[index]!;
      cos[row * 2 * half + index] = cos[row * 2 * half + index + half] = Math.cos(angle);
      sin[row * 2 * half + index] = sin[row * 2 * half + index + half] = Math.sin(angle);
    }
  });
  return { cos, sin };
}
