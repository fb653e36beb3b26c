/**
 * Causal self-attention in float64 for the decoder references: every query head with its own map, grouped-query
 * heads reading the key/value head of their group, positions after the query masked, and an optional head mask
 * multiplying the probabilities (Hugging Face's `head_mask`). Written out in loops, sharing nothing with the graphs.
 */

export interface CausalAttentionInput {
  /** `[n, heads · headDim]`, rotary already applied where the model has it. */
  queries: Float64Array;
  /** `[n, kvHeads · headDim]`. */
  keys: Float64Array;
  values: Float64Array;
  n: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Per query head, 1 = on (the layer's slice of a `[layers × heads]` head mask). */
  headMask?: ArrayLike<number>;
}

/** Returns the context `[n, heads · headDim]` and the probabilities `[heads, n, n]` (zero above the diagonal). */
export function causalAttention(input: CausalAttentionInput): { context: Float64Array; probabilities: Float64Array } {
  const { queries, keys, values, n, heads, kvHeads, headDim } = input;
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const probabilities = new Float64Array(heads * n * n);
  const context = new Float64Array(n * heads * headDim);
  const scores = new Float64Array(n);
  for (let head = 0; head < heads; head += 1) {
    const kvHead = Math.floor(head / group);
    const factor = input.headMask ? Number(input.headMask[head]) : 1;
    for (let query = 0; query < n; query += 1) {
      let max = -Infinity;
      for (let key = 0; key <= query; key += 1) {
        let dot = 0;
        for (let d = 0; d < headDim; d += 1)
          dot += queries[(query * heads + head) * headDim + d]! * keys[(key * kvHeads + kvHead) * headDim + d]!;
        scores[key] = dot * scale;
        if (scores[key]! > max) max = scores[key]!;
      }
      let sum = 0;
      for (let key = 0; key <= query; key += 1) {
        scores[key] = Math.exp(scores[key]! - max);
        sum += scores[key]!;
      }
      for (let key = 0; key <= query; key += 1) {
        const p = (scores[key]! / sum) * factor;
        probabilities[(head * n + query) * n + key] = p;
        for (let d = 0; d < headDim; d += 1)
          context[(query * heads + head) * headDim + d]! += p * values[(key * kvHeads + kvHead) * headDim + d]!;
      }
    }
  }
  return { context, probabilities };
}
