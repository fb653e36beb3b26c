/**
 * Dense products on row-major typed arrays. Loop orders keep the innermost loop on contiguous memory.
 */
import { allocLike, type FloatArray, type Matrix } from './tensor';

/**
 * `A @ Bᵀ` for `A [m, k]`, `B [n, k]`: the kernel every product uses. Both operands are read along contiguous rows,
 * and a 4 × 4 block of the output is accumulated in locals, so each loaded value serves four multiply-adds.
 */
export function matmulTransposed<T extends FloatArray>(a: Matrix<T>, b: Matrix<FloatArray>): Matrix<T> {
  if (a.cols !== b.cols) {
    throw new RangeError(`matmulTransposed: [${a.rows}, ${a.cols}] @ [${b.rows}, ${b.cols}]ᵀ`);
  }
  const { rows: m, cols: k } = a;
  const n = b.rows;
  const out = allocLike(a.data, m * n);
  const A = a.data;
  const B = b.data;
  const mBlock = m - (m % 4);
  const nBlock = n - (n % 4);
  for (let i = 0; i < mBlock; i += 4) {
    const a0 = i * k,
      a1 = a0 + k,
      a2 = a1 + k,
      a3 = a2 + k;
    for (let j = 0; j < nBlock; j += 4) {
      const b0 = j * k,
        b1 = b0 + k,
        b2 = b1 + k,
        b3 = b2 + k;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let p = 0; p < k; p += 1) {
        const x0 = A[a0 + p]!,
          x1 = A[a1 + p]!,
          x2 = A[a2 + p]!,
          x3 = A[a3 + p]!;
        const y0 = B[b0 + p]!,
          y1 = B[b1 + p]!,
          y2 = B[b2 + p]!,
          y3 = B[b3 + p]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      const o0 = i * n + j,
        o1 = o0 + n,
        o2 = o1 + n,
        o3 = o2 + n;
      out[o0] = c00;
      out[o0 + 1] = c01;
      out[o0 + 2] = c02;
      out[o0 + 3] = c03;
      out[o1] = c10;
      out[o1 + 1] = c11;
      out[o1 + 2] = c12;
      out[o1 + 3] = c13;
      out[o2] = c20;
      out[o2 + 1] = c21;
      out[o2 + 2] = c22;
      out[o2 + 3] = c23;
      out[o3] = c30;
      out[o3 + 1] = c31;
      out[o3 + 2] = c32;
      out[o3 + 3] = c33;
    }
  }
  // The edges that do not fill a 4 × 4 block.
  for (let i = 0; i < m; i += 1) {
    for (let j = i < mBlock ? nBlock : 0; j < n; j += 1) {
      let sum = 0;
      for (let p = 0; p < k; p += 1) {
        sum += A[i * k + p]! * B[j * k + p]!;
      }
      out[i * n + j] = sum;
    }
  }
  return { rows: m, cols: n, data: out };
}

/** `A @ B` for `A [m, k]`, `B [k, n]`: B is transposed once (O(kn)) so the kernel reads both along rows. */
export function matmul<T extends FloatArray>(a: Matrix<T>, b: Matrix<FloatArray>): Matrix<T> {
  if (a.cols !== b.rows) {
    throw new RangeError(`matmul: [${a.rows}, ${a.cols}] @ [${b.rows}, ${b.cols}]`);
  }
  return matmulTransposed(a, transpose(b));
}

/** `X @ W + b`, the row-vector projection of a linear layer (`W [in, out]`, `b [out]`). */
export function linear<T extends FloatArray>(x: Matrix<T>, weight: Matrix<FloatArray>, bias?: ArrayLike<number>): Matrix<T> {
  const out = matmul(x, weight);
  if (bias) {
    if (bias.length !== out.cols) {
      throw new RangeError(`linear: bias has ${bias.length} values for ${out.cols} outputs`);
    }
    for (let row = 0; row < out.rows; row += 1) {
      for (let col = 0; col < out.cols; col += 1) {
        out.data[row * out.cols + col]! += bias[col]!;
      }
    }
  }
  return out;
}

export function transpose<T extends FloatArray>(m: Matrix<T>): Matrix<T> {
  const out = allocLike(m.data, m.rows * m.cols);
  for (let row = 0; row < m.rows; row += 1) {
    for (let col = 0; col < m.cols; col += 1) {
      out[col * m.rows + row] = m.data[row * m.cols + col]!;
    }
  }
  return { rows: m.cols, cols: m.rows, data: out };
}

/** `A + B`, element-wise, same shapes. */
export function add<T extends FloatArray>(a: Matrix<T>, b: Matrix<FloatArray>): Matrix<T> {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new RangeError(`add: [${a.rows}, ${a.cols}] + [${b.rows}, ${b.cols}]`);
  }
  const out = allocLike(a.data, a.data.length);
  for (let index = 0; index < out.length; index += 1) {
    out[index] = a.data[index]! + b.data[index]!;
  }
  return { rows: a.rows, cols: a.cols, data: out };
}
