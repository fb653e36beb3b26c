/**
 * Feature extraction (sentence-embedding models such as all-MiniLM-L6-v2): no prediction, only what the pooled
 * embedding is: mean pooling over the tokens, as sentence-transformers does before it normalises, and its L2 norm.
 */
import type { FeatureExtraction } from '../../shared/analysis';

/** `hidden` `[n, dimensions]`, the last hidden state of one text. */
export function featureExtraction(hidden: Float32Array, n: number): FeatureExtraction {
  const dimensions = n > 0 ? hidden.length / n : 0;
  const pooled = new Float64Array(dimensions);
  for (let token = 0; token < n; token += 1) {
    for (let index = 0; index < dimensions; index += 1) pooled[index]! += hidden[token * dimensions + index]! / n;
  }
  let squares = 0;
  for (const value of pooled) squares += value * value;
  return { task: 'feature-extraction', dimensions, pooling: 'mean', norm: Math.sqrt(squares) };
}
