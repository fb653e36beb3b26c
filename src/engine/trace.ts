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

/**
 * What a step computes. The words that explain it belong to whoever shows it (the playground localises them); the
 * engine only names it.
 */
export type TraceStage =
  | 'input'
  | 'positional-encoding'
  | 'input-with-positions'
  | 'queries'
  | 'keys'
  | 'values'
  | 'scores'
  | 'scaled'
  | 'mask'
  | 'key-padding-mask'
  | 'weights'
  | 'output'
  | 'head-queries'
  | 'head-keys'
  | 'head-values'
  | 'head-scores'
  | 'head-scaled'
  | 'head-weights'
  | 'head-output'
  | 'concat'
  | 'projection';

export interface TraceStep {
  /** Stable id, e.g. `head1.weights`. */
  id: string;
  stage: TraceStage;
  /** The step in notation, e.g. `Q Kᵀ / √4`. */
  title: string;
  /** The key dimension the scores are scaled by (scaled steps), and a head's first column in the full Q, K, V. */
  dk?: number;
  firstColumn?: number;
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
      { id: `${prefix}q`, stage: 'queries', title: 'Q', ...tag, matrix: traceMatrix(qi, rows, dims('d', dk)) },
      { id: `${prefix}k`, stage: 'keys', title: 'K', ...tag, matrix: traceMatrix(ki, rows, dims('d', dk)) },
      { id: `${prefix}v`, stage: 'values', title: 'V', ...tag, matrix: traceMatrix(vi, rows, dims('d', vi.cols)) },
      { id: `${prefix}scores`, stage: 'scores', title: 'Q Kᵀ', ...tag, matrix: traceMatrix(result.scores, rows, rows) },
      { id: `${prefix}scaled`, stage: 'scaled', title: `Q Kᵀ / √${dk}`, dk, ...tag, matrix: traceMatrix(result.scaled, rows, rows) },
    );
    if (options.mask) {
      steps.push({
        id: `${prefix}mask`,
        stage: 'mask',
        title: 'M',
        ...tag,
        matrix: traceMatrix(maskMatrix(options.mask, qi.rows, ki.rows), rows, rows),
      });
    }
    steps.push(
      {
        id: `${prefix}weights`,
        stage: 'weights',
        title: 'softmax',
        ...tag,
        matrix: traceMatrix(result.weights, rows, rows),
        fullyMaskedRows: result.fullyMaskedRows,
      },
      { id: `${prefix}output`, stage: 'output', title: 'A V', ...tag, matrix: traceMatrix(result.output, rows, dims('d', vi.cols)) },
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
  const steps: TraceStep[] = [{ id: 'x', stage: 'input', title: 'X', matrix: traceMatrix(x, rows, dims('d', d)) }];
  let input = x;
  if (options.positionalEncoding) {
    const encoding = sinusoidalPositionalEncoding(x.rows, d, x.data instanceof Float64Array ? 'float64' : 'float32');
    input = add(x, encoding);
    steps.push(
      { id: 'pe', stage: 'positional-encoding', title: 'PE', matrix: traceMatrix(encoding, rows, dims('d', d)) },
      { id: 'x+pe', stage: 'input-with-positions', title: 'X + PE', matrix: traceMatrix(input, rows, dims('d', d)) },
    );
  }
  const result = multiHeadAttention(input, params, { heads: options.heads, ...(options.keyMask ? { keyMask: options.keyMask } : {}) });
  steps.push(
    { id: 'q', stage: 'queries', title: 'Q = X W_Q + b_Q', matrix: traceMatrix(result.q, rows, dims('d', result.q.cols)) },
    { id: 'k', stage: 'keys', title: 'K = X W_K + b_K', matrix: traceMatrix(result.k, rows, dims('d', result.k.cols)) },
    { id: 'v', stage: 'values', title: 'V = X W_V + b_V', matrix: traceMatrix(result.v, rows, dims('d', result.v.cols)) },
  );
  if (result.mask) {
    steps.push({
      id: 'mask',
      stage: 'key-padding-mask',
      title: 'M',
      matrix: traceMatrix(maskMatrix(options.keyMask ? keyPaddingMask(options.keyMask, x.rows) : result.mask, x.rows, x.rows), rows, rows),
    });
  }
  result.heads.forEach((head, index) => {
    const label = `h${index}`;
    const firstColumn = index * headDim;
    steps.push(
      {
        id: `head${index}.q`,
        stage: 'head-queries',
        title: `${label}: Q`,
        firstColumn,
        head: index,
        matrix: traceMatrix(head.q, rows, dims('d', headDim)),
      },
      {
        id: `head${index}.k`,
        stage: 'head-keys',
        title: `${label}: K`,
        firstColumn,
        head: index,
        matrix: traceMatrix(head.k, rows, dims('d', headDim)),
      },
      {
        id: `head${index}.v`,
        stage: 'head-values',
        title: `${label}: V`,
        firstColumn,
        head: index,
        matrix: traceMatrix(head.v, rows, dims('d', headDim)),
      },
      {
        id: `head${index}.scores`,
        stage: 'head-scores',
        title: `${label}: Q Kᵀ`,
        head: index,
        matrix: traceMatrix(head.scores, rows, rows),
      },
      {
        id: `head${index}.scaled`,
        stage: 'head-scaled',
        title: `${label}: / √${headDim}`,
        dk: headDim,
        head: index,
        matrix: traceMatrix(head.scaled, rows, rows),
      },
      {
        id: `head${index}.weights`,
        stage: 'head-weights',
        title: `${label}: softmax`,
        head: index,
        matrix: traceMatrix(head.weights, rows, rows),
        fullyMaskedRows: head.fullyMaskedRows,
      },
      {
        id: `head${index}.output`,
        stage: 'head-output',
        title: `${label}: × V`,
        head: index,
        matrix: traceMatrix(head.output, rows, dims('d', headDim)),
      },
    );
  });
  steps.push(
    { id: 'concat', stage: 'concat', title: 'Concat(h₀ … hₙ)', matrix: traceMatrix(result.concat, rows, dims('d', result.concat.cols)) },
    {
      id: 'output',
      stage: 'projection',
      title: 'Concat · W_O + b_O',
      matrix: traceMatrix(result.output, rows, dims('d', result.output.cols)),
    },
  );
  return { kind: 'multi-head', heads: options.heads, headDim, steps };
}
