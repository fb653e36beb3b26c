/**
 * Invariants of the engine that hold for any input (the goldens check values; these check properties).
 */
import { describe, expect, it } from 'vitest';
import {
  attentionEntropy,
  attentionFlow,
  attentionFlowRow,
  attentionTensor,
  batchedAttention,
  causalMask,
  exactLog,
  groupWordPieces,
  headMap,
  headStatistics,
  isPunctuationToken,
  keyPaddingMask,
  mergeToWords,
  multiHeadAttention,
  NumpyRandom,
  Rollout,
  rolloutFull,
  rolloutRow,
  scaledDotProductAttention,
  sinusoidalPositionalEncoding,
  softmaxRows,
  topK,
  traceMultiHeadAttention,
  traceScaledDotProductAttention,
  wordTexts,
  add,
  type AttentionTensor,
  type Matrix,
} from '../../src/engine';

const random = new NumpyRandom(7);
const randomMatrix = (rows: number, cols: number, kind: 'float64' | 'float32' = 'float64'): Matrix => ({
  rows,
  cols,
  data: kind === 'float64' ? random.randn(rows, cols) : Float32Array.from(random.randn(rows, cols)),
});

function randomParams(d: number) {
  return {
    wq: randomMatrix(d, d),
    bq: Array.from(random.randn(d)),
    wk: randomMatrix(d, d),
    bk: Array.from(random.randn(d)),
    wv: randomMatrix(d, d),
    bv: Array.from(random.randn(d)),
    wo: randomMatrix(d, d),
    bo: Array.from(random.randn(d)),
  };
}

/** A random attention tensor whose rows are proper distributions. */
function randomAttention(layers: number, heads: number, n: number): AttentionTensor<Float64Array> {
  const data = new Float64Array(layers * heads * n * n);
  for (let row = 0; row < layers * heads * n; row += 1) {
    const logits = random.randn(n).map((value) => 2 * value);
    data.set(softmaxRows(logits, 1, n).weights, row * n);
  }
  return attentionTensor(layers, heads, n, data);
}

function rowSums(m: { rows: number; cols: number; data: ArrayLike<number> }): number[] {
  return Array.from({ length: m.rows }, (_, row) => {
    let sum = 0;
    for (let col = 0; col < m.cols; col += 1) sum += m.data[row * m.cols + col]!;
    return sum;
  });
}

const expectAllClose = (values: number[], target: number, tolerance: number) =>
  values.forEach((value) => expect(Math.abs(value - target)).toBeLessThanOrEqual(tolerance));

describe('softmax and scaled dot-product attention', () => {
  it('rows sum to 1 and masked weights are exactly 0, in both precisions', () => {
    for (const kind of ['float64', 'float32'] as const) {
      const q = randomMatrix(6, 8, kind);
      const mask = causalMask(6);
      const result = scaledDotProductAttention(q, randomMatrix(6, 8, kind), randomMatrix(6, 8, kind), { mask });
      expect(result.weights.data).toBeInstanceOf(kind === 'float64' ? Float64Array : Float32Array);
      expectAllClose(rowSums(result.weights), 1, kind === 'float64' ? 1e-12 : 1e-6);
      mask.forEach((allowed, index) => allowed || expect(result.weights.data[index]).toBe(0));
    }
  });

  it('gives a row with every key masked uniform weights and flags it, without NaN', () => {
    const mask = keyPaddingMask([1, 1, 0], 3);
    mask.fill(0, 3, 6); // row 1 may attend to nothing
    const result = scaledDotProductAttention(randomMatrix(3, 4), randomMatrix(3, 4), randomMatrix(3, 4), { mask });
    expect(result.fullyMaskedRows).toEqual([1]);
    expect(Array.from(result.weights.data.subarray(3, 6))).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(result.weights.data.every(Number.isFinite)).toBe(true);
  });

  it('stays finite for extreme logits in float32', () => {
    const q = { rows: 2, cols: 2, data: Float32Array.from([1e4, -1e4, 3e4, 3e4]) };
    const k = { rows: 3, cols: 2, data: Float32Array.from([1e4, 0, -1e4, 5, 0, 0]) };
    const result = scaledDotProductAttention(q, k, k);
    expect(result.weights.data.every(Number.isFinite)).toBe(true);
    expectAllClose(rowSums(result.weights), 1, 1e-6);
  });

  it('batched attention equals attention entry by entry, and a per-entry mask applies per entry', () => {
    const [q, k, v] = [0, 1, 2].map(() => ({ count: 3, rows: 4, cols: 5, data: random.randn(3, 4, 5) }));
    const masks = new Uint8Array(3 * 16).fill(1);
    masks.fill(0, 16 + 2, 16 + 4); // entry 1, row 0: keys 2, 3 masked
    const batched = batchedAttention(q!, k!, v!, { mask: masks });
    for (let entry = 0; entry < 3; entry += 1) {
      const slice = (s: typeof q) => ({ rows: 4, cols: 5, data: s!.data.subarray(entry * 20, (entry + 1) * 20) });
      const single = scaledDotProductAttention(slice(q), slice(k), slice(v), { mask: masks.subarray(entry * 16, (entry + 1) * 16) });
      expect(Array.from(batched.weights.data.subarray(entry * 16, (entry + 1) * 16))).toEqual(Array.from(single.weights.data));
    }
    expect(batched.weights.data[16 + 2]).toBe(0);
  });
});

describe('multi-head attention', () => {
  const d = 8;
  const params = randomParams(d);

  it('is permutation-equivariant without positions, and not with them', () => {
    const x = randomMatrix(5, d);
    const permutation = [3, 0, 4, 1, 2];
    const permute = (m: Matrix) => ({
      rows: m.rows,
      cols: m.cols,
      data: Float64Array.from(permutation.flatMap((row) => Array.from(m.data.subarray(row * m.cols, (row + 1) * m.cols)))),
    });
    const original = multiHeadAttention(x, params, { heads: 2 }).output;
    const permuted = multiHeadAttention(permute(x), params, { heads: 2 }).output;
    permute(original).data.forEach((value, index) => expect(permuted.data[index]).toBeCloseTo(value, 10));

    const withPositions = (m: Matrix) => multiHeadAttention(add(m, sinusoidalPositionalEncoding(5, d)), params, { heads: 2 }).output;
    const differs = permute(withPositions(x)).data.some((value, index) => Math.abs(value - withPositions(permute(x)).data[index]!) > 1e-6);
    expect(differs).toBe(true);
  });

  it('a head mask of ones changes nothing; a zeroed head contributes nothing to the concatenation', () => {
    const x = randomMatrix(4, d);
    const plain = multiHeadAttention(x, params, { heads: 2 });
    const ones = multiHeadAttention(x, params, { heads: 2, headMask: [1, 1] });
    expect(Array.from(ones.output.data)).toEqual(Array.from(plain.output.data));
    const off = multiHeadAttention(x, params, { heads: 2, headMask: [1, 0] });
    for (let row = 0; row < 4; row += 1) {
      expect(Array.from(off.concat.data.subarray(row * d + 4, row * d + 8))).toEqual([0, 0, 0, 0]);
    }
    expect(Array.from(headMap({ layers: 1, heads: 2, n: 4, data: off.weights.data }, 0, 1).data).every((value) => value === 0)).toBe(true);
  });

  it('float32 agrees with float64 to float32 precision', () => {
    const x64 = randomMatrix(6, d);
    const x32 = { ...x64, data: Float32Array.from(x64.data) };
    const params32 = Object.fromEntries(
      Object.entries(params).map(([key, value]) => [key, 'data' in value ? { ...value, data: Float32Array.from(value.data) } : value]),
    ) as typeof params;
    const a = multiHeadAttention(x64, params, { heads: 4, keyMask: [1, 1, 1, 1, 1, 0] }).output.data;
    const b = multiHeadAttention(x32, params32, { heads: 4, keyMask: [1, 1, 1, 1, 1, 0] }).output.data;
    expect(b).toBeInstanceOf(Float32Array);
    a.forEach((value, index) => expect(Math.abs(value - b[index]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(value))));
  });

  it('refuses a model dimension that the heads do not divide', () => {
    expect(() => multiHeadAttention(randomMatrix(2, d), params, { heads: 3 })).toThrow(/not divisible/);
  });
});

describe('trace', () => {
  it('pages through every intermediate in order, with the same numbers as the computation, as plain JSON', () => {
    const x = randomMatrix(3, 8);
    const params = randomParams(8);
    const trace = traceMultiHeadAttention(x, params, { heads: 2, tokens: ['a', 'b', 'c'], keyMask: [1, 1, 0], positionalEncoding: true });
    const ids = trace.steps.map((step) => step.id);
    expect(ids.slice(0, 6)).toEqual(['x', 'pe', 'x+pe', 'q', 'k', 'v']);
    expect(ids).toContain('mask');
    expect(ids.filter((id) => id.startsWith('head1.'))).toEqual([
      'head1.q',
      'head1.k',
      'head1.v',
      'head1.scores',
      'head1.scaled',
      'head1.weights',
      'head1.output',
    ]);
    expect(ids.slice(-2)).toEqual(['concat', 'output']);
    const direct = multiHeadAttention(add(x, sinusoidalPositionalEncoding(3, 8)), params, { heads: 2, keyMask: [1, 1, 0] });
    expect(trace.steps.find((step) => step.id === 'output')?.matrix.values).toEqual(Array.from(direct.output.data));
    expect(trace.steps.find((step) => step.id === 'head0.weights')?.matrix.rowLabels).toEqual(['a', 'b', 'c']);
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it('traces each entry of a batch for scaled dot-product attention', () => {
    const q = { count: 2, rows: 3, cols: 4, data: random.randn(2, 3, 4) };
    const trace = traceScaledDotProductAttention(q, q, q);
    expect(trace.steps.filter((step) => step.id.endsWith('.weights')).map((step) => step.batch)).toEqual([0, 1]);
    expect(trace.steps.find((step) => step.id === 'batch1.scaled')?.title).toBe('Q Kᵀ / √4');
  });
});

describe('rollout and flow', () => {
  const attention = randomAttention(3, 4, 7);

  it('rollout rows sum to 1, and one row equals that row of the full matrix', () => {
    const full = rolloutFull(attention);
    for (let layer = 0; layer < 3; layer += 1) {
      expectAllClose(rowSums({ rows: 7, cols: 7, data: full.data.subarray(layer * 49, (layer + 1) * 49) }), 1, 1e-12);
    }
    for (let row = 0; row < 7; row += 1) {
      const single = rolloutRow(attention, row);
      single.forEach((value, col) => expect(value).toBeCloseTo(full.data[2 * 49 + row * 7 + col]!, 12));
    }
    const afterOne = rolloutRow(attention, 3, 1);
    afterOne.forEach((value, col) => expect(value).toBeCloseTo(full.data[3 * 7 + col]!, 12));
  });

  it('one rollout column equals that column of the full matrix, at every depth', () => {
    const full = rolloutFull(attention);
    const rollout = Rollout.of(attention);
    for (let layer = 1; layer <= 3; layer += 1) {
      for (const col of [0, 4, 6]) {
        rollout.column(col, layer).forEach((value, row) => expect(value).toBeCloseTo(full.data[(layer - 1) * 49 + row * 7 + col]!, 12));
      }
    }
  });

  it('flow rows sum to 1; one row equals that row of the full matrix', () => {
    const small = randomAttention(2, 2, 5);
    const full = attentionFlow(small);
    expectAllClose(rowSums(full), 1, 1e-12);
    Array.from(attentionFlowRow(small, 2)).forEach((value, col) => expect(value).toBeCloseTo(full.data[2 * 5 + col]!, 12));
  });

  it('flow through one layer is the capacity of the single edge (no other path exists)', () => {
    // With one layer, the only path from f to t is the edge itself, so the max flow is Â[f][t].
    const single = randomAttention(1, 3, 4);
    const flow = attentionFlow(single);
    const rollout = rolloutFull(single);
    flow.data.forEach((value, index) => expect(value).toBeCloseTo(rollout.data[index]!, 12));
  });
});

describe('statistics', () => {
  it('entropy is 0 for one-hot rows and ln n for uniform rows', () => {
    const n = 4;
    const data = new Float64Array(2 * n * n);
    for (let row = 0; row < n; row += 1) data[row * n + ((row + 1) % n)] = 1;
    data.fill(1 / n, n * n);
    const entropy = attentionEntropy(attentionTensor(1, 2, n, data));
    expect(Array.from(entropy.subarray(0, n))).toEqual([0, 0, 0, 0]);
    Array.from(entropy.subarray(n)).forEach((value) => expect(value).toBeCloseTo(Math.log(n), 14));
  });

  it('recognises previous-token, next-token, [CLS], [SEP] and punctuation heads', () => {
    const tokens = ['[CLS]', 'hello', ',', 'world', '[SEP]'];
    const n = tokens.length;
    const heads = 5;
    const data = new Float64Array(heads * n * n);
    const set = (head: number, row: number, col: number) => (data[head * n * n + row * n + col] = 1);
    for (let row = 0; row < n; row += 1) {
      set(0, row, Math.max(0, row - 1));
      set(1, row, Math.min(n - 1, row + 1));
      set(2, row, 0);
      set(3, row, n - 1);
      set(4, row, 2);
    }
    const stats = headStatistics(attentionTensor(1, heads, n, data), {
      cls: [0],
      sep: [n - 1],
      punctuation: tokens.map((token) => isPunctuationToken(token)),
    });
    expect(stats[0]?.toPrevious).toBe(1);
    expect(stats[1]?.toNext).toBe(1);
    expect(stats[2]).toMatchObject({ toCls: 1, mostAttended: { index: 0, share: 1 } });
    expect(stats[3]).toMatchObject({ toSep: 1, meanEntropy: 0 });
    expect(stats[4]?.toPunctuation).toBe(1);
  });

  it('recognises a decoder’s sink head and an induction head (the token after an earlier copy of the current one)', () => {
    // "A B C A B": at the second A (row 3) an induction head attends to B (col 1), at the second B (row 4) to C (col 2).
    const ids = [7, 8, 9, 7, 8];
    const n = ids.length;
    const data = new Float64Array(2 * n * n);
    for (let row = 0; row < n; row += 1) data[row * n] = 1; // head 0: everything on the first token
    const induction = [0, 0, 1, 1, 2];
    for (let row = 0; row < n; row += 1) data[n * n + row * n + (row === 3 ? 1 : row === 4 ? 2 : induction[row]!)] = 1;
    const stats = headStatistics(attentionTensor(1, 2, n, data), { cls: [], sep: [], punctuation: ids.map(() => false), ids });
    expect(stats[0]).toMatchObject({ toFirst: 1, induction: 0, inductionRows: 2 });
    expect(stats[1]).toMatchObject({ induction: 1, inductionRows: 2 });
    const none = headStatistics(attentionTensor(1, 2, n, data), { cls: [], sep: [], punctuation: ids.map(() => false) });
    expect(none[1]).toMatchObject({ induction: 0, inductionRows: 0 });
  });

  it('ranks the top k, largest first, with exclusions', () => {
    expect(topK([0.1, 0.5, 0.2, 0.5], 3)).toEqual([
      { index: 1, weight: 0.5 },
      { index: 3, weight: 0.5 },
      { index: 2, weight: 0.2 },
    ]);
    expect(topK([0.1, 0.5, 0.2], 2, (index) => index === 1).map((entry) => entry.index)).toEqual([2, 0]);
  });
});

describe('word pieces to words', () => {
  const tokens = [
    { text: '[CLS]', special: true },
    { text: 'ref', special: false },
    { text: '##und', special: false },
    { text: 'now', special: false },
    { text: '[SEP]', special: true },
  ];

  it('groups pieces and merges a map so that rows still sum to 1', () => {
    const groups = groupWordPieces(tokens);
    expect(groups).toEqual([[0], [1, 2], [3], [4]]);
    expect(wordTexts(tokens, groups)).toEqual(['[CLS]', 'refund', 'now', '[SEP]']);
    const map = headMap(randomAttention(1, 1, 5), 0, 0);
    const merged = mergeToWords(map, groups);
    expectAllClose(rowSums(merged), 1, 1e-12);
    // To a word: the sum over its pieces; from a word: the mean over its pieces.
    expect(merged.data[0 * 4 + 1]).toBeCloseTo(map.data[1]! + map.data[2]!, 14);
    expect(merged.data[1 * 4 + 2]).toBeCloseTo((map.data[5 + 3]! + map.data[10 + 3]!) / 2, 14);
  });
});

describe('NumPy random numbers and the exact logarithm', () => {
  it('is reproducible and rejects seeds NumPy rejects', () => {
    expect(Array.from(new NumpyRandom(3).randn(5))).toEqual(Array.from(new NumpyRandom(3).randn(5)));
    expect(() => new NumpyRandom(-1)).toThrow(/between 0 and 2\*\*32 - 1/);
    expect(() => new NumpyRandom(2 ** 32)).toThrow();
  });

  it('exactLog is within half an ulp of the true value where Math.log may not be', () => {
    // ln(0.7111917696952796) = −0.340813167268863764867… : the nearest double is −0.3408131672688638.
    expect(exactLog(0.7111917696952796)).toBe(-0.3408131672688638);
    for (const x of [1, 2, 0.5, 1e-300, 1e300, Math.E]) {
      expect(Math.abs(exactLog(x) - Math.log(x))).toBeLessThanOrEqual(Math.abs(Math.log(x)) * 2.3e-16);
    }
    expect(exactLog(1)).toBe(0);
    expect(Number.isNaN(exactLog(-1))).toBe(true);
  });
});
