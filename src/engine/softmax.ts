/**
 * Row-wise softmax with masking, as DistilBERT computes it: a masked score is replaced by the most negative finite
 * value of the precision before the softmax. Masked weights come out exactly 0; a row whose keys are all masked
 * comes out uniform (what PyTorch's `masked_fill` with the dtype minimum gives) and is reported, never NaN.
 * Subtracting the row maximum keeps extreme logits finite.
 */
import { allocLike, type FloatArray } from './tensor';

export interface SoftmaxResult<T extends FloatArray> {
  weights: T;
  /** Rows in which every key was masked (their weights are uniform). */
  fullyMaskedRows: number[];
}

/** The value a masked score is replaced with: the most negative finite number of the array's precision. */
export function maskedScore(kind: FloatArray): number {
  return kind instanceof Float64Array ? -Number.MAX_VALUE : -3.4028234663852886e38;
}

export function softmaxRows<T extends FloatArray>(scores: T, rows: number, cols: number, mask?: Uint8Array): SoftmaxResult<T> {
  if (scores.length !== rows * cols || (mask && mask.length !== rows * cols)) {
    throw new RangeError(`softmaxRows: ${scores.length} scores, ${mask?.length ?? 'no'} mask entries for [${rows}, ${cols}]`);
  }
  const weights = allocLike(scores, scores.length);
  const fill = maskedScore(scores);
  const fullyMaskedRows: number[] = [];
  for (let row = 0; row < rows; row += 1) {
    const start = row * cols;
    let max = -Infinity;
    let kept = 0;
    for (let col = 0; col < cols; col += 1) {
      const keep = !mask || mask[start + col] !== 0;
      const value = keep ? scores[start + col]! : fill;
      weights[start + col] = value;
      if (value > max) max = value;
      if (keep) kept += 1;
    }
    if (kept === 0 && cols > 0) {
      fullyMaskedRows.push(row);
    }
    let sum = 0;
    for (let col = 0; col < cols; col += 1) {
      const e = Math.exp(weights[start + col]! - max);
      weights[start + col] = e;
      sum += e;
    }
    for (let col = 0; col < cols; col += 1) {
      weights[start + col] = weights[start + col]! / sum;
    }
  }
  return { weights, fullyMaskedRows };
}

/** Softmax of one vector (e.g. logits → probabilities). */
export function softmax(values: ArrayLike<number>): Float64Array {
  return softmaxRows(Float64Array.from(values), 1, values.length).weights;
}
