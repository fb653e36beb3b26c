/**
 * Small float64 helpers the tests compare with: the largest absolute difference, a softmax and an argmax that work
 * on vocabulary-sized rows (loops, not `Math.max(...row)`, which overflows the call stack at 150k arguments).
 */

/** The largest |a[i] − b[i]|; arrays of different lengths are a failure in themselves. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let index = 0; index < a.length; index += 1) worst = Math.max(worst, Math.abs(Number(a[index]) - Number(b[index])));
  return worst;
}

export function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let index = 0; index < values.length; index += 1) max = Math.max(max, values[index]!);
  return max;
}

export function softmax(values: ArrayLike<number>): number[] {
  const max = maxOf(values);
  const exps = Array.from(values, (value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let index = 1; index < values.length; index += 1) if (values[index]! > values[best]!) best = index;
  return best;
}
