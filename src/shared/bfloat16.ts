/**
 * bfloat16, the upper half of a float32 (its sign, its whole 8-bit exponent and 7 of its 23 fraction bits): what a
 * pooled grid thumbnail travels as. It keeps float32's range, so tiny attention weights keep their order of magnitude
 * (a log colour scale reads it), with a relative error of at most 2⁻⁸ (0.4 %): at most a step of a 256-colour map.
 */

/** Each value rounded to the nearest bfloat16 (ties to even; NaN stays NaN), as its 16 bits. */
export function toBfloat16(values: Float32Array): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const bits = new Uint16Array(values.length);
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    // Rounding a NaN's fraction could carry it into infinity: keep it a (quiet) NaN.
    if ((word & 0x7fffffff) > 0x7f800000) bits[index] = (word >>> 16) | 0x40;
    else bits[index] = (word + 0x7fff + ((word >>> 16) & 1)) >>> 16;
  }
  return bits;
}

/** The float32 values of bfloat16 bits (exact: every bfloat16 is a float32). */
export function fromBfloat16(bits: Uint16Array): Float32Array {
  const words = new Uint32Array(bits.length);
  for (let index = 0; index < bits.length; index += 1) words[index] = bits[index]! << 16;
  return new Float32Array(words.buffer);
}
