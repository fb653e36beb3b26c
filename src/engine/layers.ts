/**
 * The non-attention pieces of a transformer layer: layer norm, exact GELU, and the sinusoidal positional encoding of
 * "Attention Is All You Need".
 */
import { allocLike, type FloatArray, type Matrix } from './tensor';

/** Layer norm over each row, with the biased variance (as PyTorch and NumPy's `var` compute it). */
export function layerNorm<T extends FloatArray>(x: Matrix<T>, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): Matrix<T> {
  const { rows, cols } = x;
  if (gamma.length !== cols || beta.length !== cols) {
    throw new RangeError(`layerNorm: ${cols} features but gamma ${gamma.length}, beta ${beta.length}`);
  }
  const out = allocLike(x.data, rows * cols);
  for (let row = 0; row < rows; row += 1) {
    const start = row * cols;
    let mean = 0;
    for (let col = 0; col < cols; col += 1) mean += x.data[start + col]!;
    mean /= cols;
    let variance = 0;
    for (let col = 0; col < cols; col += 1) {
      const centred = x.data[start + col]! - mean;
      variance += centred * centred;
    }
    variance /= cols;
    const inverse = 1 / Math.sqrt(variance + eps);
    for (let col = 0; col < cols; col += 1) {
      out[start + col] = (x.data[start + col]! - mean) * inverse * gamma[col]! + beta[col]!;
    }
  }
  return { rows, cols, data: out };
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;

/**
 * The error function to double precision. JavaScript has no `Math.erf`. For |x| < 3 the series
 * `erf(x) = 2/√π · e^(−x²) · Σ (2x²)ⁿ x / (1·3·…·(2n+1))` has only positive terms (no cancellation); beyond, the
 * continued fraction of erfc converges in a few dozen steps and erf = 1 − erfc.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  if (a < 3) {
    const twoX2 = 2 * a * a;
    let term = a;
    let sum = a;
    for (let n = 1; n < 200; n += 1) {
      term *= twoX2 / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return sign * TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
  }
  return sign * (1 - erfcContinuedFraction(a));
}

/** erfc(x) for x ≥ 3, by the modified Lentz evaluation of its continued fraction. */
function erfcContinuedFraction(x: number): number {
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 300; n += 1) {
    const an = n / 2;
    d = x + an * d;
    d = d === 0 ? tiny : d;
    c = x + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Exact GELU, `0.5 x (1 + erf(x / √2))` (not the tanh approximation). */
export function gelu<T extends FloatArray>(x: T): T {
  const out = allocLike(x, x.length);
  for (let index = 0; index < x.length; index += 1) {
    const value = x[index]!;
    out[index] = 0.5 * value * (1 + erf(value / Math.SQRT2));
  }
  return out;
}

/**
 * The sinusoidal positional encoding `[n, d]`: `PE[pos, 2i] = sin(pos / 10000^(2i/d))`,
 * `PE[pos, 2i+1] = cos(pos / 10000^(2i/d))`. Attention itself is permutation-equivariant; this is what tells it
 * where a token stands.
 */
export function sinusoidalPositionalEncoding(n: number, d: number, kind: 'float64' | 'float32' = 'float64'): Matrix {
  const data = kind === 'float64' ? new Float64Array(n * d) : new Float32Array(n * d);
  for (let pos = 0; pos < n; pos += 1) {
    for (let i = 0; i < d; i += 2) {
      const angle = pos / Math.pow(10000, i / d);
      data[pos * d + i] = Math.sin(angle);
      if (i + 1 < d) data[pos * d + i + 1] = Math.cos(angle);
    }
  }
  return { rows: n, cols: d, data };
}
