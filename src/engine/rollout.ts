/**
 * Attention rollout (Abnar & Zuidema, 2020): how much each input token contributes to each position after all
 * layers, following attention through the residual connections. `Â_l = mean_h A_l,h + I`, rows renormalised to 1;
 * `R_1 = Â_1`, `R_l = Â_l R_(l−1)`.
 *
 * {@link Rollout} forms every `Â_l` once (O(layers · heads · n²), reading the attention once); after that one row
 * costs O(layers · n²), which is what hovers and the side view ask for, and the full matrices O(layers · n³).
 */
import { matmul } from './linalg';
import { allocLike, headMap, type AttentionTensor, type FloatArray, type Matrix, type Stack } from './tensor';

/** `Â_l`: the heads' mean plus the identity, each row divided by its sum. */
export function residualAttention<T extends FloatArray>(attention: AttentionTensor<T>, layer: number): Matrix<T> {
  const { n, heads } = attention;
  const out = allocLike(attention.data, n * n);
  for (let head = 0; head < heads; head += 1) {
    const map = headMap(attention, layer, head).data;
    for (let index = 0; index < n * n; index += 1) {
      out[index]! += map[index]!;
    }
  }
  for (let row = 0; row < n; row += 1) {
    let sum = 0;
    for (let col = 0; col < n; col += 1) {
      const value = out[row * n + col]! / heads + (row === col ? 1 : 0);
      out[row * n + col] = value;
      sum += value;
    }
    for (let col = 0; col < n; col += 1) {
      out[row * n + col] = out[row * n + col]! / sum;
    }
  }
  return { rows: n, cols: n, data: out };
}

export class Rollout<T extends FloatArray = FloatArray> {
  private constructor(
    /** `Â_l` for each layer, bottom first. */
    readonly residual: Matrix<T>[],
    readonly n: number,
  ) {}

  static of<T extends FloatArray>(attention: AttentionTensor<T>): Rollout<T> {
    return new Rollout(
      Array.from({ length: attention.layers }, (_, layer) => residualAttention(attention, layer)),
      attention.n,
    );
  }

  get layers(): number {
    return this.residual.length;
  }

  /**
   * Row `row` of `R_uptoLayer` (default: the top): how much token `row` draws on each input token. A row vector
   * times each `Â_l` from the top down.
   */
  row(row: number, uptoLayer = this.layers): Float64Array {
    const n = this.n;
    let vector = new Float64Array(n);
    vector[row] = 1;
    for (let layer = uptoLayer - 1; layer >= 0; layer -= 1) {
      const matrix = this.residual[layer]!.data;
      const next = new Float64Array(n);
      for (let i = 0; i < n; i += 1) {
        const weight = vector[i]!;
        if (weight === 0) continue;
        const offset = i * n;
        for (let j = 0; j < n; j += 1) next[j]! += weight * matrix[offset + j]!;
      }
      vector = next;
    }
    return vector;
  }

  /**
   * Column `col` of `R_uptoLayer`: how much each position draws on input token `col`. Each `Â_l` times a column
   * vector from the bottom up, O(layers · n²) like a row.
   */
  column(col: number, uptoLayer = this.layers): Float64Array {
    const n = this.n;
    let vector = new Float64Array(n);
    vector[col] = 1;
    for (let layer = 0; layer < uptoLayer; layer += 1) {
      const matrix = this.residual[layer]!.data;
      const next = new Float64Array(n);
      for (let i = 0; i < n; i += 1) {
        const offset = i * n;
        let sum = 0;
        for (let j = 0; j < n; j += 1) sum += matrix[offset + j]! * vector[j]!;
        next[i] = sum;
      }
      vector = next;
    }
    return vector;
  }

  /** Every layer's full rollout matrix `R_l`, `[layers, n, n]`. O(layers · n³): on demand only. */
  full(): Stack<T> {
    const n = this.n;
    const first = this.residual[0];
    if (!first) {
      throw new RangeError('rollout of an attention tensor with no layers');
    }
    const out = allocLike(first.data, this.layers * n * n);
    let current = first;
    out.set(current.data, 0);
    for (let layer = 1; layer < this.layers; layer += 1) {
      current = matmul(this.residual[layer]!, current);
      out.set(current.data, layer * n * n);
    }
    return { count: this.layers, rows: n, cols: n, data: out };
  }
}

/** One rollout row, preparing the residual matrices on the way (use {@link Rollout} for several rows). */
export function rolloutRow(attention: AttentionTensor, row: number, uptoLayer = attention.layers): Float64Array {
  return Rollout.of(attention).row(row, uptoLayer);
}

/** Every layer's full rollout matrix, `[layers, n, n]`. */
export function rolloutFull<T extends FloatArray>(attention: AttentionTensor<T>): Stack<T> {
  return Rollout.of(attention).full();
}
