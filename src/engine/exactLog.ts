/**
 * A correctly rounded natural logarithm. V8's `Math.log` is within an ulp but not always the nearest double, while
 * glibc's (which NumPy uses) is; bit-identical NumPy normals need the nearest. Computed in double-double arithmetic
 * (about 32 significant digits) and rounded once.
 */
type DoubleDouble = [hi: number, lo: number];

const SPLITTER = 134217729; // 2^27 + 1
const LN2: DoubleDouble = [0.6931471805599453, 2.3190468138462996e-17];

function twoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function quickTwoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  return [s, b - (s - a)];
}

function twoProduct(a: number, b: number): DoubleDouble {
  const p = a * b;
  const ca = SPLITTER * a;
  const aHi = ca - (ca - a);
  const aLo = a - aHi;
  const cb = SPLITTER * b;
  const bHi = cb - (cb - b);
  const bLo = b - bHi;
  return [p, aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo];
}

function add(x: DoubleDouble, y: DoubleDouble): DoubleDouble {
  const [s, e] = twoSum(x[0], y[0]);
  return quickTwoSum(s, e + x[1] + y[1]);
}

function multiply(x: DoubleDouble, y: DoubleDouble): DoubleDouble {
  const [p, e] = twoProduct(x[0], y[0]);
  return quickTwoSum(p, e + x[0] * y[1] + x[1] * y[0]);
}

function divide(x: DoubleDouble, y: DoubleDouble): DoubleDouble {
  const q1 = x[0] / y[0];
  let r = add(x, multiply([-q1, 0], y));
  const q2 = r[0] / y[0];
  r = add(r, multiply([-q2, 0], y));
  const q3 = r[0] / y[0];
  return add(quickTwoSum(q1, q2), [q3, 0]);
}

/** ln(x), correctly rounded for positive finite x (NaN, ±0, ∞ and negatives as `Math.log`). */
export function exactLog(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) {
    return Math.log(x);
  }
  // x = m · 2^e with m in [1/√2, √2): scaling by powers of two is exact.
  let e = Math.floor(Math.log2(x));
  let m = x / Math.pow(2, e);
  while (m >= 2) {
    m /= 2;
    e += 1;
  }
  while (m < 1) {
    m *= 2;
    e -= 1;
  }
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  // ln m = 2 atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.172: the series Σ s^(2k)/(2k+1) gains 1.5 digits a term.
  const s = divide([m - 1, 0], twoSum(m, 1));
  const s2 = multiply(s, s);
  let series: DoubleDouble = divide([1, 0], [43, 0]);
  for (let k = 20; k >= 0; k -= 1) {
    series = add(multiply(series, s2), divide([1, 0], [2 * k + 1, 0]));
  }
  const lnM = multiply([2 * s[0], 2 * s[1]], series);
  const result = add(multiply(LN2, [e, 0]), lnM);
  return result[0] + result[1];
}
