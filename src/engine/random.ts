/**
 * NumPy's legacy random generator (`np.random.seed`, `rand`, `randn`), bit for bit: MT19937 seeded by
 * `init_genrand`, 53-bit doubles from two 32-bit draws, and the polar (Marsaglia) method for normals with its cached
 * second value. It lets the playground reproduce NumPy examples such as the seed article's exactly.
 */
import { exactLog } from './exactLog';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class NumpyRandom {
  private readonly state = new Uint32Array(N);
  private index = N + 1;
  private gauss: number | undefined;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** `np.random.seed(seed)` for an integer seed in [0, 2³²): also forgets the cached normal, as NumPy does. */
  seed(seed: number): void {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError('Seed must be an integer between 0 and 2**32 - 1');
    }
    this.state[0] = seed >>> 0;
    for (let i = 1; i < N; i += 1) {
      const previous = this.state[i - 1]! ^ (this.state[i - 1]! >>> 30);
      // 1812433253 * previous + i, modulo 2³², without losing bits to double rounding.
      this.state[i] = (Math.imul(1812433253, previous) + i) >>> 0;
    }
    this.index = N;
    this.gauss = undefined;
  }

  /** The next 32-bit output of MT19937. */
  nextUint32(): number {
    if (this.index >= N) {
      this.twist();
    }
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits: `((a >> 5) · 2²⁶ + (b >> 6)) / 2⁵³`. */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** One standard normal, as NumPy's legacy `gauss`. */
  nextGaussian(): number {
    if (this.gauss !== undefined) {
      const cached = this.gauss;
      this.gauss = undefined;
      return cached;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    // NumPy takes glibc's log, which is correctly rounded; Math.log is not always (see exactLog.ts).
    const f = Math.sqrt((-2 * exactLog(r2)) / r2);
    this.gauss = f * x1;
    return f * x2;
  }

  /** `np.random.rand(...shape)`: C-order values in a Float64Array. */
  rand(...shape: number[]): Float64Array {
    return Float64Array.from({ length: size(shape) }, () => this.nextDouble());
  }

  /** `np.random.randn(...shape)`: C-order values in a Float64Array. */
  randn(...shape: number[]): Float64Array {
    return Float64Array.from({ length: size(shape) }, () => this.nextGaussian());
  }

  private twist(): void {
    const mt = this.state;
    for (let kk = 0; kk < N; kk += 1) {
      const y = (mt[kk]! & UPPER_MASK) | (mt[(kk + 1) % N]! & LOWER_MASK);
      mt[kk] = mt[(kk + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}

function size(shape: number[]): number {
  return shape.reduce((product, dimension) => {
    if (!Number.isInteger(dimension) || dimension < 0) {
      throw new RangeError(`invalid dimension ${dimension}`);
    }
    return product * dimension;
  }, 1);
}
