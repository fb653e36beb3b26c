/**
 * Scaled dot-product attention and multi-head self-attention, with every intermediate available.
 *
 * Conventions (those of the goldens and of DistilBERT): row vectors, projections `X @ W + b` with `W [in, out]`;
 * heads split the model dimension into contiguous blocks of `d / heads`; scores are `Q Kᵀ / √d_k`; masked scores
 * become the most negative finite value before the softmax; an optional head mask multiplies each head's attention
 * probabilities (Hugging Face's `head_mask`).
 */
import { linear, matmul, matmulTransposed } from './linalg';
import { keyPaddingMask } from './masks';
import { softmaxRows } from './softmax';
import { allocLike, columnBlock, type FloatArray, type Matrix, type Stack, stackItem } from './tensor';

export interface AttentionOptions {
  /** `[queries × keys]` mask, 1 = attend. */
  mask?: Uint8Array;
  /** Score scale; defaults to `1 / √d_k`. */
  scale?: number;
}

export interface AttentionResult<T extends FloatArray> {
  /** `Q Kᵀ`, before scaling. */
  scores: Matrix<T>;
  /** `Q Kᵀ · scale`, before masking. */
  scaled: Matrix<T>;
  /** The softmax of the masked, scaled scores. */
  weights: Matrix<T>;
  /** `weights @ V`. */
  output: Matrix<T>;
  fullyMaskedRows: number[];
}

export function scaledDotProductAttention<T extends FloatArray>(
  q: Matrix<T>,
  k: Matrix<FloatArray>,
  v: Matrix<FloatArray>,
  options: AttentionOptions = {},
): AttentionResult<T> {
  if (k.rows !== v.rows) {
    throw new RangeError(`attention: ${k.rows} keys but ${v.rows} values`);
  }
  const scale = options.scale ?? 1 / Math.sqrt(q.cols);
  const scores = matmulTransposed(q, k);
  const scaled = { rows: scores.rows, cols: scores.cols, data: scores.data.map((value) => value * scale) as T };
  const { weights, fullyMaskedRows } = softmaxRows(scaled.data, scaled.rows, scaled.cols, options.mask);
  const weightMatrix = { rows: scaled.rows, cols: scaled.cols, data: weights };
  return { scores, scaled, weights: weightMatrix, output: matmul(weightMatrix, v), fullyMaskedRows };
}

export interface BatchedAttentionResult<T extends FloatArray> {
  weights: Stack<T>;
  output: Stack<T>;
  /** Per batch entry, the rows whose keys were all masked. */
  fullyMaskedRows: number[][];
}

/**
 * Attention over a batch `[batch, n, d]` (or heads). `mask` is either shared `[nq × nk]` or per entry
 * `[batch × nq × nk]`.
 */
export function batchedAttention<T extends FloatArray>(
  q: Stack<T>,
  k: Stack<FloatArray>,
  v: Stack<FloatArray>,
  options: AttentionOptions = {},
): BatchedAttentionResult<T> {
  if (q.count !== k.count || q.count !== v.count) {
    throw new RangeError(`batchedAttention: batch sizes ${q.count}, ${k.count}, ${v.count}`);
  }
  const maskSize = q.rows * k.rows;
  const perEntryMask = options.mask && options.mask.length === maskSize * q.count && q.count > 1;
  const weights = allocLike(q.data, q.count * maskSize);
  const output = allocLike(q.data, q.count * q.rows * v.cols);
  const fullyMaskedRows: number[][] = [];
  for (let entry = 0; entry < q.count; entry += 1) {
    const mask = perEntryMask ? options.mask!.subarray(entry * maskSize, (entry + 1) * maskSize) : options.mask;
    const result = scaledDotProductAttention(stackItem(q, entry), stackItem(k, entry), stackItem(v, entry), {
      ...(mask ? { mask } : {}),
      ...(options.scale !== undefined ? { scale: options.scale } : {}),
    });
    weights.set(result.weights.data, entry * maskSize);
    output.set(result.output.data, entry * q.rows * v.cols);
    fullyMaskedRows.push(result.fullyMaskedRows);
  }
  return {
    weights: { count: q.count, rows: q.rows, cols: k.rows, data: weights },
    output: { count: q.count, rows: q.rows, cols: v.cols, data: output },
    fullyMaskedRows,
  };
}

/** The projections of one multi-head attention layer. */
export interface MultiHeadParams {
  wq: Matrix<FloatArray>;
  bq: ArrayLike<number>;
  wk: Matrix<FloatArray>;
  bk: ArrayLike<number>;
  wv: Matrix<FloatArray>;
  bv: ArrayLike<number>;
  wo: Matrix<FloatArray>;
  bo: ArrayLike<number>;
}

export interface MultiHeadOptions {
  heads: number;
  /** Per key: 1 = a real token, 0 = padding (masked for every query). */
  keyMask?: ArrayLike<number | boolean>;
  /** A full `[n × n]` mask; combined with `keyMask` when both are given. */
  mask?: Uint8Array;
  /** Per head: multiplies that head's attention probabilities (0 switches the head off). */
  headMask?: ArrayLike<number>;
}

export interface HeadResult<T extends FloatArray> extends AttentionResult<T> {
  q: Matrix<T>;
  k: Matrix<T>;
  v: Matrix<T>;
}

export interface MultiHeadResult<T extends FloatArray> {
  q: Matrix<T>;
  k: Matrix<T>;
  v: Matrix<T>;
  /** Everything about each head, in order. */
  heads: HeadResult<T>[];
  /** `[heads, n, n]` attention probabilities (after the head mask). */
  weights: Stack<T>;
  /** The heads' outputs side by side, `[n, d]`. */
  concat: Matrix<T>;
  /** `concat @ W_O + b_O`. */
  output: Matrix<T>;
  mask: Uint8Array | undefined;
}

export function multiHeadAttention<T extends FloatArray>(
  x: Matrix<T>,
  params: MultiHeadParams,
  options: MultiHeadOptions,
): MultiHeadResult<T> {
  const { heads } = options;
  const d = params.wq.cols;
  if (d % heads !== 0) {
    throw new RangeError(`multiHeadAttention: model dimension ${d} is not divisible by ${heads} heads`);
  }
  const headDim = d / heads;
  const n = x.rows;
  const q = linear(x, params.wq, params.bq);
  const k = linear(x, params.wk, params.bk);
  const v = linear(x, params.wv, params.bv);

  let mask = options.mask;
  if (options.keyMask) {
    const padding = keyPaddingMask(options.keyMask, n);
    mask = mask ? mask.map((value, index) => (value && padding[index] ? 1 : 0)) : padding;
  }

  const weights = allocLike(x.data, heads * n * n);
  const concat = { rows: n, cols: d, data: allocLike(x.data, n * d) };
  const headResults: HeadResult<T>[] = [];
  for (let head = 0; head < heads; head += 1) {
    const qh = columnBlock(q, head * headDim, headDim);
    const kh = columnBlock(k, head * headDim, headDim);
    const vh = columnBlock(v, head * headDim, headDim);
    const result = scaledDotProductAttention(qh, kh, vh, mask ? { mask } : {});
    const factor = options.headMask ? Number(options.headMask[head]) : 1;
    if (factor !== 1) {
      // Hugging Face multiplies the probabilities, then takes them times V.
      result.weights.data.forEach((value, index) => (result.weights.data[index] = value * factor));
      result.output = matmul(result.weights, vh);
    }
    weights.set(result.weights.data, head * n * n);
    for (let row = 0; row < n; row += 1) {
      concat.data.set(result.output.data.subarray(row * headDim, (row + 1) * headDim), row * d + head * headDim);
    }
    headResults.push({ ...result, q: qh, k: kh, v: vh });
  }
  return {
    q,
    k,
    v,
    heads: headResults,
    weights: { count: heads, rows: n, cols: n, data: weights },
    concat,
    output: linear(concat, params.wo, params.bo),
    mask,
  };
}
