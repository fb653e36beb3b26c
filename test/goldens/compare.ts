/**
 * Element-wise comparison with stated tolerances: `|actual − expected| ≤ atol + rtol · |expected|`.
 */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** float64 paths against NumPy's float64: 1e-9 relative (plus 1e-12 absolute for values near 0). */
export const FLOAT64: Tolerance = { rtol: 1e-9, atol: 1e-12 };
/** float32 paths: 1e-5 relative (plus 1e-6 absolute). */
export const FLOAT32: Tolerance = { rtol: 1e-5, atol: 1e-6 };

export function flatten(value: unknown): number[] {
  return Array.isArray(value) ? value.flatMap((item) => flatten(item)) : [Number(value)];
}

export function shapeOf(value: unknown): number[] {
  return Array.isArray(value) ? [value.length, ...shapeOf(value[0])] : [];
}

/** Returns a description of the worst violation, or undefined when every element is within tolerance. */
export function compare(actual: ArrayLike<number>, expected: unknown, tolerance: Tolerance): string | undefined {
  const reference = flatten(expected);
  if (actual.length !== reference.length) {
    return `length ${actual.length}, expected ${reference.length}`;
  }
  let worst: { index: number; excess: number } | undefined;
  for (let index = 0; index < reference.length; index += 1) {
    const a = actual[index]!;
    const e = reference[index]!;
    const allowed = tolerance.atol + tolerance.rtol * Math.abs(e);
    const error = Math.abs(a - e);
    if (!(error <= allowed)) {
      const excess = Number.isNaN(error) ? Infinity : error / allowed;
      if (!worst || excess > worst.excess) worst = { index, excess };
    }
  }
  return worst
    ? `element ${worst.index}: ${actual[worst.index]} vs ${reference[worst.index]} (${worst.excess.toPrecision(3)}× the tolerance)`
    : undefined;
}
