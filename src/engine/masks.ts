/**
 * Attention masks as `Uint8Array [queries × keys]`, row-major: 1 = the query may attend to the key, 0 = masked.
 */

/** Masks padding keys: `keyValid[j]` truthy (1) keeps key j for every query. */
export function keyPaddingMask(keyValid: ArrayLike<number | boolean>, queries: number): Uint8Array {
  const keys = keyValid.length;
  const mask = new Uint8Array(queries * keys);
  for (let i = 0; i < queries; i += 1) {
    for (let j = 0; j < keys; j += 1) {
      mask[i * keys + j] = keyValid[j] ? 1 : 0;
    }
  }
  return mask;
}

/** Query i may attend to keys 0..i (top-left aligned, as PyTorch's `is_causal`). */
export function causalMask(queries: number, keys = queries): Uint8Array {
  const mask = new Uint8Array(queries * keys);
  for (let i = 0; i < queries; i += 1) {
    for (let j = 0; j <= Math.min(i, keys - 1); j += 1) {
      mask[i * keys + j] = 1;
    }
  }
  return mask;
}

/** A mask from nested rows of 0/1 (or booleans). */
export function maskFromRows(rows: readonly (readonly (number | boolean)[])[]): Uint8Array {
  const keys = rows[0]?.length ?? 0;
  const mask = new Uint8Array(rows.length * keys);
  rows.forEach((row, i) => row.forEach((value, j) => (mask[i * keys + j] = value ? 1 : 0)));
  return mask;
}

/** Both masks allow: element-wise AND. */
export function intersectMasks(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) {
    throw new RangeError(`intersectMasks: ${a.length} vs ${b.length} entries`);
  }
  return a.map((value, index) => (value && b[index] ? 1 : 0));
}
