/**
 * Every case of every golden file, from `$ATTN_GOLDENS_DIR` or `../shared/goldens`. Cases are discovered, never
 * counted in advance: another golden set with the same schema runs unchanged. float64 paths must agree within 1e-9
 * relative, float32 paths within 1e-5 (see compare.ts); NumPy's random numbers must agree bit for bit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  attentionEntropy,
  attentionFlow,
  attentionTensor,
  batchedAttention,
  fromRows,
  gelu,
  layerNorm,
  maskFromRows,
  multiHeadAttention,
  NumpyRandom,
  rolloutFull,
  scaledDotProductAttention,
  sinusoidalPositionalEncoding,
  type Matrix,
} from '../../src/engine';
import { sharedDir } from '../support/paths';
import { compare, flatten, FLOAT32, FLOAT64, shapeOf, type Tolerance } from './compare';

const goldensDir = process.env.ATTN_GOLDENS_DIR ?? path.join(sharedDir, 'goldens');
const files = fs.existsSync(goldensDir)
  ? fs
      .readdirSync(goldensDir)
      .filter((name) => name.endsWith('.json'))
      .sort()
  : [];
const checked = new Map<string, number>();

type Json = Record<string, unknown>;
const load = (file: string) => JSON.parse(fs.readFileSync(path.join(goldensDir, file), 'utf8')) as Json;
const casesOf = (golden: Json) => (Array.isArray(golden.cases) ? (golden.cases as Json[]) : [golden]);
const kinds = ['float64', 'float32'] as const;
const toleranceOf = (kind: (typeof kinds)[number]): Tolerance => (kind === 'float64' ? FLOAT64 : FLOAT32);

function matrixOf(value: unknown, kind: 'float64' | 'float32' = 'float64'): Matrix {
  return fromRows(value as number[][], kind);
}

function expectClose(label: string, actual: ArrayLike<number>, expected: unknown, tolerance: Tolerance): void {
  const problem = compare(actual, expected, tolerance);
  expect(problem, `${label}: ${problem}`).toBeUndefined();
}

function count(file: string): void {
  checked.set(file, (checked.get(file) ?? 0) + 1);
}

const checkers: Record<string, (file: string, golden: Json) => void> = {
  'numpy-random.json': (file, golden) => {
    casesOf(golden).forEach((testCase) => {
      it(`seed ${String(testCase.seed)}: randn and rand are bit-identical`, () => {
        const random = new NumpyRandom(Number(testCase.seed));
        expect(Array.from(random.randn((testCase.randn as number[]).length))).toEqual(testCase.randn);
        random.seed(Number(testCase.seed));
        expect(Array.from(random.rand((testCase.rand as number[]).length))).toEqual(testCase.rand);
        count(file);
      });
    });
  },

  'seed-article-example.json': (file, golden) => {
    casesOf(golden).forEach((testCase) => {
      it(`seed ${String(testCase.seed)}: Q, K, V = randn${JSON.stringify(testCase.shape)} and their attention as NumPy prints it`, () => {
        const shape = testCase.shape as number[];
        const random = new NumpyRandom(Number(testCase.seed));
        const [batch = 1, rows = 0, cols = 0] = shape;
        const draws = ['Q', 'K', 'V'].map((name) => {
          const values = random.randn(...shape);
          expect(Array.from(values), `${name} drawn with seed ${String(testCase.seed)}`).toEqual(flatten(testCase[name]));
          return { count: batch, rows, cols, data: values };
        });
        const [q, k, v] = draws as [(typeof draws)[0], (typeof draws)[0], (typeof draws)[0]];
        const exact = { rtol: 1e-12, atol: 1e-14 };
        const result = batchedAttention(q, k, v);
        expectClose('weights', result.weights.data, testCase.weights, exact);
        expectClose('output', result.output.data, testCase.output, exact);
        const scaled = Array.from({ length: batch }, (_, entry) =>
          Array.from(
            scaledDotProductAttention(
              { rows, cols, data: q.data.subarray(entry * rows * cols, (entry + 1) * rows * cols) },
              { rows, cols, data: k.data.subarray(entry * rows * cols, (entry + 1) * rows * cols) },
              { rows, cols, data: v.data.subarray(entry * rows * cols, (entry + 1) * rows * cols) },
            ).scaled.data,
          ),
        ).flat();
        expectClose('scores_scaled', scaled, testCase.scores_scaled, exact);
        const f32 = batchedAttention(
          { ...q, data: Float32Array.from(q.data) },
          { ...k, data: Float32Array.from(k.data) },
          { ...v, data: Float32Array.from(v.data) },
        );
        expectClose('weights (float32)', f32.weights.data, testCase.weights, FLOAT32);
        count(file);
      });
    });
  },

  'sdpa.json': (file, golden) => {
    casesOf(golden).forEach((testCase, index) => {
      const label = `case ${index} (${String(testCase.mask)}${typeof testCase.note === 'string' ? `, ${testCase.note}` : ''}, Q ${JSON.stringify(shapeOf(testCase.Q))})`;
      it(`${label}: weights and output in float64 and float32`, () => {
        const mask = testCase.maskMatrix ? maskFromRows(testCase.maskMatrix as number[][]) : undefined;
        for (const kind of kinds) {
          const result = scaledDotProductAttention(
            matrixOf(testCase.Q, kind),
            matrixOf(testCase.K, kind),
            matrixOf(testCase.V, kind),
            mask ? { mask } : {},
          );
          expectClose(`weights (${kind})`, result.weights.data, testCase.weights, toleranceOf(kind));
          expectClose(`output (${kind})`, result.output.data, testCase.output, toleranceOf(kind));
          expect(result.weights.data.every((value) => Number.isFinite(value))).toBe(true);
          if (mask) {
            // Masked weights are exactly zero, except in rows with nothing left to attend to (uniform, flagged).
            const cols = result.weights.cols;
            mask.forEach((allowed, position) => {
              const row = Math.floor(position / cols);
              if (!allowed && !result.fullyMaskedRows.includes(row)) expect(result.weights.data[position]).toBe(0);
            });
            for (let row = 0; row < result.weights.rows; row += 1) {
              const allMasked = mask.subarray(row * cols, (row + 1) * cols).every((allowed) => !allowed);
              expect(result.fullyMaskedRows.includes(row)).toBe(allMasked);
            }
          }
        }
        count(file);
      });
    });
  },

  'mha.json': (file, golden) => {
    casesOf(golden).forEach((testCase, index) => {
      it(`case ${index} (n ${String(testCase.n)}, d ${String(testCase.d)}, ${String(testCase.heads)} heads): attention, layer norm, GELU, positional encoding`, () => {
        for (const kind of kinds) {
          const tolerance = toleranceOf(kind);
          const x = matrixOf(testCase.X, kind);
          const params = {
            wq: matrixOf(testCase.Wq, kind),
            bq: testCase.bq as number[],
            wk: matrixOf(testCase.Wk, kind),
            bk: testCase.bk as number[],
            wv: matrixOf(testCase.Wv, kind),
            bv: testCase.bv as number[],
            wo: matrixOf(testCase.Wo, kind),
            bo: testCase.bo as number[],
          };
          const result = multiHeadAttention(x, params, {
            heads: Number(testCase.heads),
            ...(testCase.keyMask ? { keyMask: testCase.keyMask as number[] } : {}),
          });
          expectClose(`weights (${kind})`, result.weights.data, testCase.weights, tolerance);
          expectClose(`output (${kind})`, result.output.data, testCase.output, tolerance);
          const norm = testCase.layerNorm as Json | undefined;
          if (norm) {
            expectClose(
              `layer norm (${kind})`,
              layerNorm(x, norm.gamma as number[], norm.beta as number[], Number(norm.eps)).data,
              norm.output,
              tolerance,
            );
          }
          const activation = testCase.gelu as Json | undefined;
          if (activation) {
            expectClose(`GELU (${kind})`, gelu(x.data), activation.output, tolerance);
          }
          if (testCase.sinusoidal) {
            const [n = 0, d = 0] = shapeOf(testCase.sinusoidal);
            expectClose(`sinusoidal (${kind})`, sinusoidalPositionalEncoding(n, d, kind).data, testCase.sinusoidal, tolerance);
          }
        }
        count(file);
      });
    });
  },

  'attention-analysis.json': (file, golden) => {
    casesOf(golden).forEach((testCase, index) => {
      const { layers, heads, n } = { layers: Number(testCase.layers), heads: Number(testCase.heads), n: Number(testCase.n) };
      it(`case ${index} ([${layers}, ${heads}, ${n}, ${n}]): rollout, entropy${testCase.flow ? ', flow' : ''}`, () => {
        for (const kind of kinds) {
          const values = flatten(testCase.attention);
          const attention = attentionTensor(layers, heads, n, kind === 'float64' ? Float64Array.from(values) : Float32Array.from(values));
          const tolerance = toleranceOf(kind);
          expectClose(`rollout (${kind})`, rolloutFull(attention).data, testCase.rollout, tolerance);
          expectClose(`entropy (${kind})`, attentionEntropy(attention), testCase.entropy, tolerance);
          if (testCase.flow && kind === 'float64') {
            expectClose('flow', attentionFlow(attention).data, testCase.flow, FLOAT64);
          }
        }
        count(file);
      });
    });
  },
};

describe(`goldens in ${goldensDir}`, () => {
  it('the folder exists and holds golden files', () => {
    expect(files.length, `no golden files in ${goldensDir} (set ATTN_GOLDENS_DIR)`).toBeGreaterThan(0);
  });
  for (const file of files) {
    describe(file, () => {
      const checker = checkers[file];
      if (!checker) {
        it('has a checker', () => {
          throw new Error(`No checker knows ${file}: add one to test/goldens/goldens.test.ts`);
        });
        return;
      }
      checker(file, load(file));
    });
  }
});

afterAll(() => {
  const lines = files.map((file) => `  ${file.padEnd(28)} ${String(checked.get(file) ?? 0).padStart(3)} case(s) checked`);
  console.log(
    `[goldens] ${goldensDir}\n${lines.join('\n')}\n  tolerances: float64 rtol ${FLOAT64.rtol} atol ${FLOAT64.atol}; float32 rtol ${FLOAT32.rtol} atol ${FLOAT32.atol}; RNG bit-identical; article example rtol 1e-12`,
  );
});
