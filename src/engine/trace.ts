/**
 * The step-by-step view of attention: every intermediate of a computation, in order, as plain JSON the playground
 * can page through (X → Q, K, V → QKᵀ → /√d_k → mask → softmax → ×V → concat → W_O).
 */
import { multiHeadAttention, scaledDotProductAttention, type MultiHeadParams } from './attention';
import { add } from './linalg';
import { sinusoidalPositionalEncoding } from './layers';
import { keyPaddingMask } from './masks';
import { stackItem, type FloatArray, type Matrix, type Stack } from './tensor';

export interface TraceMatrix {
  rows: number;
  cols: number;
  /** Row-major values. */
  values: number[];
  rowLabels?: string[];
  colLabels?: string[];
}

export interface TraceStep {
  /** Stable id, e.g. `head1.weights`. */
  id: string;
  title: string;
  /** What the step does and why. */
  explanation: string;
  head?: number;
  batch?: number;
  matrix: TraceMatrix;
  /** Rows whose keys were all masked (uniform weights), where it applies. */
  fullyMaskedRows?: number[];
}

export interface AttentionTrace {
  kind: 'multi-head' | 'scaled-dot-product';
  heads: number;
  headDim: number;
  steps: TraceStep[];
}

function traceMatrix(m: Matrix<FloatArray>, rowLabels?: string[], colLabels?: string[]): TraceMatrix {
  return {
    rows: m.rows,
    cols: m.cols,
    values: Array.from(m.data),
    ...(rowLabels ? { rowLabels } : {}),
    ...(colLabels ? { colLabels } : {}),
  };
}

function maskMatrix(mask: Uint8Array, rows: number, cols: number): Matrix<Float64Array> {
  return { rows, cols, data: Float64Array.from(mask) };
}

const dims = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `${prefix}${index}`);

export interface TraceOptions {
  /** Token labels for rows and columns. */
  tokens?: string[];
  /** `[nq × nk]` mask, 1 = attend. */
  mask?: Uint8Array;
}

/** The steps of scaled dot-product attention for one `(Q, K, V)`, or each entry of a batch. */
export function traceScaledDotProductAttention(
  q: Matrix<FloatArray> | Stack<FloatArray>,
  k: Matrix<FloatArray> | Stack<FloatArray>,
  v: Matrix<FloatArray> | Stack<FloatArray>,
  options: TraceOptions = {},
): AttentionTrace {
  const batch = 'count' in q ? q.count : 1;
  const item = (m: Matrix<FloatArray> | Stack<FloatArray>, index: number): Matrix<FloatArray> => ('count' in m ? stackItem(m, index) : m);
  const steps: TraceStep[] = [];
  const dk = item(q, 0).cols;
  for (let entry = 0; entry < batch; entry += 1) {
    const [qi, ki, vi] = [item(q, entry), item(k, entry), item(v, entry)];
    const result = scaledDotProductAttention(qi, ki, vi, options.mask ? { mask: options.mask } : {});
    const rows = options.tokens;
    const tag = batch > 1 ? { batch: entry } : {};
    const prefix = batch > 1 ? `batch${entry}.` : '';
    steps.push(
      { id: `${prefix}q`, title: 'Q', explanation: 'Queries: what each position is looking for.', ...tag, matrix: traceMatrix(qi, rows, dims('d', dk)) },
      { id: `${prefix}k`, title: 'K', explanation: 'Keys: what each position offers to be found by.', ...tag, matrix: traceMatrix(ki, rows, dims('d', dk)) },
      { id: `${prefix}v`, title: 'V', explanation: 'Values: what each position passes on when attended to.', ...tag, matrix: traceMatrix(vi, rows, dims('d', vi.cols)) },
      { id: `${prefix}scores`, title: 'Q Kᵀ', explanation: 'Dot product of every query with every key: large when they point the same way.', ...tag, matrix: traceMatrix(result.scores, rows, rows) },
      { id: `${prefix}scaled`, title: `Q Kᵀ / √${dk}`, explanation: `Divided by √d_k = ${Math.sqrt(dk).toPrecision(4)} so that the scores do not grow with the dimension and saturate the softmax.`, ...tag, matrix: traceMatrix(result.scaled, rows, rows) },
    );
    if (options.mask) {
      steps.push({ id: `${prefix}mask`, title: 'Mask', explanation: '1 = may attend, 0 = masked: a masked score is set to the most negative number before the softmax, so its weight is exactly 0.', ...tag, matrix: traceMatrix(maskMatrix(options.mask, qi.rows, ki.rows), rows, rows) });
    }
    steps.push(
      { id: `${prefix}weights`, title: 'softmax', explanation: 'Each row becomes a probability distribution over the keys: the attention weights.', ...tag, matrix: traceMatrix(result.weights, rows, rows), fullyMaskedRows: result.fullyMaskedRows },
      { id: `${prefix}output`, title: 'weights × V', explanation: 'Each output row is the weighted average of the value rows.', ...tag, matrix: traceMatrix(result.output, rows, dims('d', vi.cols)) },
    );
  }
  return { kind: 'scaled-dot-product', heads: 1, headDim: dk, steps };
}

export interface MultiHeadTraceOptions {
  heads: number;
  tokens?: string[];
  keyMask?: ArrayLike<number | boolean>;
  /** Add the sinusoidal positional encoding to X first. */
  positionalEncoding?: boolean;
}

/** The steps of multi-head self-attention on `X`, head by head. */
export function traceMultiHeadAttention(x: Matrix<FloatArray>, params: MultiHeadParams, options: MultiHeadTraceOptions): AttentionTrace {
  const rows = options.tokens;
  const d = x.cols;
  const headDim = params.wq.cols / options.heads;
  const steps: TraceStep[] = [
    { id: 'x', title: 'X', explanation: 'The input: one row per token.', matrix: traceMatrix(x, rows, dims('d', d)) },
  ];
  let input = x;
  if (options.positionalEncoding) {
    const encoding = sinusoidalPositionalEncoding(x.rows, d, x.data instanceof Float64Array ? 'float64' : 'float32');
    input = add(x, encoding);
    steps.push(
      { id: 'pe', title: 'Positional encoding', explanation: 'Attention treats its input as a set: without positions, reordering the tokens only reorders the output. Sines and cosines of different frequencies mark each position.', matrix: traceMatrix(encoding, rows, dims('d', d)) },
      { id: 'x+pe', title: 'X + PE', explanation: 'The input with its positions added.', matrix: traceMatrix(input, rows, dims('d', d)) },
    );
  }
  const result = multiHeadAttention(input, params, { heads: options.heads, ...(options.keyMask ? { keyMask: options.keyMask } : {}) });
  steps.push(
    { id: 'q', title: 'Q = X W_Q + b_Q', explanation: 'Queries for all heads at once; each head takes a contiguous block of columns.', matrix: traceMatrix(result.q, rows, dims('d', result.q.cols)) },
    { id: 'k', title: 'K = X W_K + b_K', explanation: 'Keys for all heads.', matrix: traceMatrix(result.k, rows, dims('d', result.k.cols)) },
    { id: 'v', title: 'V = X W_V + b_V', explanation: 'Values for all heads.', matrix: traceMatrix(result.v, rows, dims('d', result.v.cols)) },
  );
  if (result.mask) {
    steps.push({ id: 'mask', title: 'Mask', explanation: '1 = may attend, 0 = masked (padding keys).', matrix: traceMatrix(maskMatrix(options.keyMask ? keyPaddingMask(options.keyMask, x.rows) : result.mask, x.rows, x.rows), rows, rows) });
  }
  result.heads.forEach((head, index) => {
    const label = `head ${index}`;
    steps.push(
      { id: `head${index}.q`, title: `${label}: Q`, explanation: `Columns ${index * headDim}–${(index + 1) * headDim - 1} of Q.`, head: index, matrix: traceMatrix(head.q, rows, dims('d', headDim)) },
      { id: `head${index}.k`, title: `${label}: K`, explanation: `Columns ${index * headDim}–${(index + 1) * headDim - 1} of K.`, head: index, matrix: traceMatrix(head.k, rows, dims('d', headDim)) },
      { id: `head${index}.v`, title: `${label}: V`, explanation: `Columns ${index * headDim}–${(index + 1) * headDim - 1} of V.`, head: index, matrix: traceMatrix(head.v, rows, dims('d', headDim)) },
      { id: `head${index}.scores`, title: `${label}: Q Kᵀ`, explanation: 'Every query against every key.', head: index, matrix: traceMatrix(head.scores, rows, rows) },
      { id: `head${index}.scaled`, title: `${label}: / √${headDim}`, explanation: `Scaled by 1/√d_k with d_k = ${headDim}.`, head: index, matrix: traceMatrix(head.scaled, rows, rows) },
      { id: `head${index}.weights`, title: `${label}: softmax`, explanation: 'Attention weights: each row sums to 1.', head: index, matrix: traceMatrix(head.weights, rows, rows), fullyMaskedRows: head.fullyMaskedRows },
      { id: `head${index}.output`, title: `${label}: × V`, explanation: 'This head\'s output: weighted averages of its values.', head: index, matrix: traceMatrix(head.output, rows, dims('d', headDim)) },
    );
  });
  steps.push(
    { id: 'concat', title: 'Concat(heads)', explanation: 'The heads\' outputs side by side, back to the model dimension.', matrix: traceMatrix(result.concat, rows, dims('d', result.concat.cols)) },
    { id: 'output', title: 'Concat · W_O + b_O', explanation: 'The output projection mixes what the heads found.', matrix: traceMatrix(result.output, rows, dims('d', result.output.cols)) },
  );
  return { kind: 'multi-head', heads: options.heads, headDim, steps };
}
