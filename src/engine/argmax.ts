/** The index of the largest value (the first of equal ones); -1 for no values. NaN is never the largest. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  for (let index = 0; index < values.length; index += 1) {
    if (best < 0 ? !Number.isNaN(values[index]!) : values[index]! > values[best]!) best = index;
  }
  return best;
}
