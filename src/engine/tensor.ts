/**
 * The engine's data layout: row-major typed arrays with explicit shapes. Every function is generic over the array
 * type: Float64Array in gives Float64Array out (the path checked against NumPy), Float32Array in gives Float32Array
 * out (the fast path). Arithmetic happens in JavaScript doubles either way; Float32 only rounds what is stored.
 */
export type FloatArray = Float32Array | Float64Array;

/** A row-major `[rows, cols]` matrix. */
export interface Matrix<T extends FloatArray = FloatArray> {
  rows: number;
  cols: number;
  data: T;
}

/** A row-major `[count, rows, cols]` stack of equally shaped matrices (heads, batch entries). */
export interface Stack<T extends FloatArray = FloatArray> {
  count: number;
  rows: number;
  cols: number;
  data: T;
}

/** A new zero-filled array of the same kind as `like`. */
export function allocLike<T extends FloatArray>(like: T, length: number): T {
  return (like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as T;
}

export function matrix<T extends FloatArray>(rows: number, cols: number, data: T): Matrix<T> {
  if (data.length !== rows * cols) {
    throw new RangeError(`matrix [${rows}, ${cols}] needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data };
}

export function zerosLike<T extends FloatArray>(like: T, rows: number, cols: number): Matrix<T> {
  return { rows, cols, data: allocLike(like, rows * cols) };
}

/** Matrix `index` of a stack, as a view (no copy). */
export function stackItem<T extends FloatArray>(stack: Stack<T>, index: number): Matrix<T> {
  const size = stack.rows * stack.cols;
  return { rows: stack.rows, cols: stack.cols, data: stack.data.subarray(index * size, (index + 1) * size) as T };
}

/** Builds a matrix from nested arrays (`number[][]`), in the given precision. */
export function fromRows(rows: readonly (readonly number[])[], kind: 'float64' | 'float32' = 'float64'): Matrix {
  const rowCount = rows.length;
  const cols = rowCount > 0 ? (rows[0]?.length ?? 0) : 0;
  const data = kind === 'float64' ? new Float64Array(rowCount * cols) : new Float32Array(rowCount * cols);
  rows.forEach((row, index) => {
    if (row.length !== cols) {
      throw new RangeError(`row ${index} has ${row.length} values, expected ${cols}`);
    }
    data.set(row, index * cols);
  });
  return { rows: rowCount, cols, data };
}

/** Nested arrays of a matrix, for JSON and for tests. */
export function toRows(m: Matrix): number[][] {
  return Array.from({ length: m.rows }, (_, row) => Array.from(m.data.subarray(row * m.cols, (row + 1) * m.cols)));
}

/** Copies columns `[from, from + width)` of a matrix: the block of one attention head. */
export function columnBlock<T extends FloatArray>(m: Matrix<T>, from: number, width: number): Matrix<T> {
  const out = zerosLike(m.data, m.rows, width);
  for (let row = 0; row < m.rows; row += 1) {
    out.data.set(m.data.subarray(row * m.cols + from, row * m.cols + from + width), row * width);
  }
  return out;
}

/** Attention probabilities of a whole model, `[layers, heads, n, n]`, row-major. */
export interface AttentionTensor<T extends FloatArray = FloatArray> {
  layers: number;
  heads: number;
  n: number;
  data: T;
}

export function attentionTensor<T extends FloatArray>(layers: number, heads: number, n: number, data: T): AttentionTensor<T> {
  if (data.length !== layers * heads * n * n) {
    throw new RangeError(`attention [${layers}, ${heads}, ${n}, ${n}] needs ${layers * heads * n * n} values, got ${data.length}`);
  }
  return { layers, heads, n, data };
}

/** One head's `[n, n]` map, as a view. */
export function headMap<T extends FloatArray>(attention: AttentionTensor<T>, layer: number, head: number): Matrix<T> {
  const size = attention.n * attention.n;
  const offset = (layer * attention.heads + head) * size;
  return { rows: attention.n, cols: attention.n, data: attention.data.subarray(offset, offset + size) as T };
}
