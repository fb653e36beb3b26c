/**
 * The panel's views, computed where the tensors live, checked against the engine and the model's own outputs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupWordPieces, mergeToWords, Rollout, softmaxRows } from '../../src/engine';
import { Analyzer } from '../../src/model/analyzer';
import {
  aggregateOf,
  displayAxis,
  FLOW_TOKEN_LIMIT,
  gridOf,
  headMapOf,
  headSummaries,
  layerMapsOf,
  maxPool,
  meanOverLayers,
  type HeldAttention,
} from '../../src/shared/attentionViews';
import { gridMessage, gridOfMessage } from '../../src/shared/analysisViews';
import { fromBfloat16, toBfloat16 } from '../../src/shared/bfloat16';
import { meanLens } from '../../src/analysis/insights';
import { maxAbsDiff } from '../support/numeric';
import { modelRequestKey, type ModelRequest } from '../../src/model/modelSource';
import { exportTensor } from '../../src/model/tensorExport';
import { parseAttentionDocument } from '../../src/shared/attentionFile';
import { ensureTestModel } from '../support/testModels';
import { allLayers } from '../../src/model/layerMaps';
import { storedAnalysis } from '../../src/model/heldAnalysis';

const TEXT = 'I absolutely loved this refund, it was fantastic!';
const plain = { hideSpecial: false, mergeWords: false };
let analyzer: Analyzer;
let request: ModelRequest;
let analysis: HeldAttention;
let headMeans: Float32Array;

async function analyse(text: string, dtype: 'fp32' | 'q8' = 'fp32'): Promise<{ cached: HeldAttention; headMeans: Float32Array }> {
  const req = { ...request, dtype };
  const { result, attention } = await analyzer.analyze(req, text);
  const attentions = await allLayers(attention);
  return {
    cached: {
      layers: attentions,
      heads: result.model.heads,
      n: result.tokens.length,
      tokens: result.tokens,
      modelKey: modelRequestKey(req),
    },
    headMeans: result.headMeans!,
  };
}

beforeAll(async () => {
  analyzer = new Analyzer();
  request = {
    source: { kind: 'folder', folder: ensureTestModel('tiny') },
    dtype: 'fp32',
    offline: true,
    storageDir: fs.mkdtempSync(path.join(os.tmpdir(), 'attn-views-')),
  };
  ({ cached: analysis, headMeans } = await analyse(TEXT));
});

describe('display options', () => {
  it('shows the raw head unchanged, hides special tokens, and merges word pieces as the engine does', () => {
    const n = analysis.n;
    const raw = headMapOf(analysis, 1, 2, plain);
    expect(Array.from(raw.map)).toEqual(Array.from(analysis.layers[1]!.subarray(2 * n * n, 3 * n * n)));
    expect(raw.labels).toEqual(analysis.tokens.map((token) => token.text));

    const hidden = headMapOf(analysis, 1, 2, { hideSpecial: true, mergeWords: false });
    expect(hidden.labels).toEqual(raw.labels.slice(1, -1));
    expect(hidden.map[0]).toBe(raw.map[1 * n + 1]);

    const merged = headMapOf(analysis, 1, 2, { hideSpecial: false, mergeWords: true });
    expect(merged.labels).toContain('refund');
    const groups = groupWordPieces(analysis.tokens);
    const expected = mergeToWords({ rows: n, cols: n, data: Float64Array.from(raw.map) }, groups).data;
    merged.map.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 6));
    const m = merged.labels.length;
    for (let row = 0; row < m; row += 1) {
      expect(merged.map.subarray(row * m, (row + 1) * m).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(displayAxis(analysis.tokens, { hideSpecial: true, mergeWords: true }).labels).toEqual([
      'i',
      'absolutely',
      'loved',
      'this',
      'refund',
      ',',
      'it',
      'was',
      'fantastic',
      '!',
    ]);
  });

  it('gives the head view every head of a layer', () => {
    const n = analysis.n;
    const layer = layerMapsOf(analysis, 0, plain);
    expect(Array.from(layer.maps)).toEqual(Array.from(analysis.layers[0]!));
    expect(layer.maps.length).toBe(analysis.heads * n * n);
  });
});

describe('grid thumbnails', () => {
  it('are the full maps when they fit, and the maximum of each block when downsampled', () => {
    const n = analysis.n;
    const full = gridOf(analysis, 64, plain);
    expect(full.size).toBe(n);
    expect(Array.from(full.thumbnails.subarray(0, n * n))).toEqual(Array.from(analysis.layers[0]!.subarray(0, n * n)));
    const map = Float32Array.from({ length: 100 }, (_, index) => (index === 37 ? 0.9 : 0.01));
    const pooled = maxPool(map, 10, 5);
    expect(pooled.size).toBe(5);
    expect(pooled.data[1 * 5 + 3]).toBeCloseTo(0.9); // row 3, column 7 fall in block (1, 3)
    expect(pooled.data[0]).toBeCloseTo(0.01);
  });

  it('pooled straight from the model maps equal the block maxima of the displayed map, hidden rows skipped', () => {
    // Special tokens in the middle too, so the kept rows are not one contiguous range.
    const n = 13;
    const special = new Set([0, 6, 12]);
    const tokens = Array.from({ length: n }, (_, index) => ({
      id: index,
      text: special.has(index) ? '[SEP]' : `t${index}`,
      start: index,
      end: index + 1,
      special: special.has(index),
    }));
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const synthetic: HeldAttention = {
      tokens,
      heads: 2,
      n,
      modelKey: 'synthetic',
      layers: [Float32Array.from({ length: 2 * n * n }, random)],
    };
    for (const hideSpecial of [false, true]) {
      const kept = Array.from({ length: n }, (_, index) => index).filter((index) => !(hideSpecial && special.has(index)));
      const m = kept.length;
      const size = 4;
      const grid = gridOf(synthetic, size, { hideSpecial, mergeWords: false });
      expect(grid.size).toBe(size);
      for (let head = 0; head < 2; head += 1) {
        const expected = new Array<number>(size * size).fill(0);
        kept.forEach((row, i) =>
          kept.forEach((col, j) => {
            const block = Math.floor((i * size) / m) * size + Math.floor((j * size) / m);
            expected[block] = Math.max(expected[block]!, synthetic.layers[0]![head * n * n + row * n + col]!);
          }),
        );
        expect(Array.from(grid.thumbnails.subarray(head * size * size, (head + 1) * size * size))).toEqual(expected.map(Math.fround));
      }
    }
  });
  it('travel as bfloat16 when pooled (only drawn): the nearest bfloat16 of every float32, ties to even', () => {
    const words = new Uint32Array(4096);
    let seed = 11;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let index = 0; index < words.length; index += 1) {
      const kind = index % 4;
      // Every finite pattern; attention-like weights; exact ties (the dropped half is 0x8000); tiny weights.
      const word = Math.floor(random() * 0x100000000);
      words[index] =
        kind === 0
          ? word
          : kind === 1
            ? new Uint32Array(Float32Array.of(random()).buffer)[0]!
            : kind === 2
              ? (word & 0xffff0000) | 0x8000
              : (word & 0x807fffff) | 0x1a000000;
    }
    const special = [
      0, 0x80000000, 0x3f800000, 0x00000001, 0x007fffff, 0x7f7fffff, 0x7f7f7fff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001,
    ];
    const values = new Float32Array(new Uint32Array([...special, ...words]).buffer);
    const decoded = fromBfloat16(toBfloat16(values));
    // The reference: the two bfloat16 around x (its bits truncated, and one step away from zero; past the largest one,
    // 2¹²⁸ stands for infinity as IEEE rounding has it), whichever is nearer in exact arithmetic, ties to the even one.
    const ofBits = (bits: number) => new Float32Array(Uint32Array.of(bits << 16).buffer)[0]!;
    values.forEach((x, index) => {
      const got = decoded[index]!;
      if (Number.isNaN(x)) return expect(Number.isNaN(got)).toBe(true);
      if (!Number.isFinite(x)) return expect(got).toBe(x);
      const word = new Uint32Array(Float32Array.of(x).buffer)[0]!;
      const low = word >>> 16;
      const high = low + 1;
      const [a, b] = [ofBits(low), (high & 0x7fff) === 0x7f80 ? Math.sign(x) * 2 ** 128 : ofBits(high)];
      const nearer = Math.abs(x - a) < Math.abs(b - x) ? low : Math.abs(x - a) > Math.abs(b - x) ? high : low % 2 === 0 ? low : high;
      expect([index, got]).toEqual([index, ofBits(nearer)]);
      if (Number.isFinite(got) && Math.abs(x) >= 2 ** -126) expect(Math.abs(got - x) / Math.abs(x)).toBeLessThanOrEqual(2 ** -8);
    });
    // A grid pooled to fewer cells than its labels travels as bfloat16; one as large as its labels, as float32.
    const n = analysis.n;
    const pooled = gridMessage(gridOf(analysis, 4, plain));
    const whole = gridMessage(gridOf(analysis, 64, plain));
    expect([pooled.thumbnails.dtype, whole.thumbnails.dtype]).toEqual(['bfloat16', 'float32']);
    expect(gridOfMessage(whole).thumbnails.subarray(0, n * n)).toEqual(analysis.layers[0]!.subarray(0, n * n));
    const exact = gridOf(analysis, 4, plain).thumbnails;
    gridOfMessage(pooled).thumbnails.forEach((weight, index) =>
      expect(Math.abs(weight - exact[index]!)).toBeLessThanOrEqual(exact[index]! * 2 ** -8),
    );
  });
});

describe('aggregates', () => {
  it('the mean over heads equals the head means the graph computes; the max is at least the mean', () => {
    const n = analysis.n;
    for (let layer = 0; layer < 2; layer += 1) {
      const mean = aggregateOf(analysis, 'mean', layer, plain).map;
      const max = aggregateOf(analysis, 'max', layer, plain).map;
      mean.forEach((value, index) => {
        expect(Math.abs(value - headMeans[layer * n * n + index]!)).toBeLessThan(1e-6);
        expect(max[index]!).toBeGreaterThanOrEqual(value - 1e-7);
      });
    }
  });

  it("the mean over every layer (a long input's editor lens, from the worker) equals the editor's own mean lens", () => {
    const n = analysis.n;
    const map = meanOverLayers(headMeans, 2, n);
    const lens = meanLens(headMeans, 2, n, 0);
    for (let row = 0; row < n; row += 1) {
      expect(maxAbsDiff(map.subarray(row * n, (row + 1) * n), Array.from(lens.row(row)))).toBeLessThan(1e-7);
    }
    // Not one layer's mean in disguise: the two layers differ.
    expect(maxAbsDiff(headMeans.subarray(0, n * n), headMeans.subarray(n * n, 2 * n * n))).toBeGreaterThan(1e-3);
  });

  it("rollout up to a layer equals the engine's rollout row by row; flow rows sum to 1", () => {
    const n = analysis.n;
    const size = analysis.heads * n * n;
    const data = new Float32Array(2 * size);
    analysis.layers.forEach((layer, index) => data.set(layer, index * size));
    const rollout = Rollout.of({ layers: 2, heads: analysis.heads, n, data });
    const view = aggregateOf(analysis, 'rollout', 1, plain).map;
    for (let row = 0; row < n; row += 1) {
      rollout.row(row).forEach((value, col) => expect(view[row * n + col]).toBeCloseTo(value, 6));
    }
    const flow = aggregateOf(analysis, 'flow', 1, plain).map;
    for (let row = 0; row < n; row += 1) {
      expect(flow.subarray(row * n, (row + 1) * n).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('refuses flow above its token limit, pointing to rollout', async () => {
    const { cached } = await analyse('word '.repeat(FLOW_TOKEN_LIMIT));
    expect(() => aggregateOf(cached, 'flow', 0, plain)).toThrow(/offered up to 40 tokens.*Rollout/);
  });

  it('per-head statistics cover every head, with entropies between 0 and ln n', () => {
    const stats = headSummaries(analysis);
    expect(stats).toHaveLength(2 * analysis.heads);
    for (const head of stats) {
      expect(head.meanEntropy).toBeGreaterThanOrEqual(0);
      expect(head.meanEntropy).toBeLessThanOrEqual(Math.log(analysis.n) + 1e-9);
      expect(head.toCls + head.toSep).toBeLessThanOrEqual(1 + 1e-6);
    }
  });
});

describe('neuron view', () => {
  it.each(['fp32', 'q8'] as const)("%s: q·k / √d, softmaxed, is the model's own attention row", async (dtype) => {
    const { cached } = await analyse(TEXT, dtype);
    const n = cached.n;
    for (const [layer, head, query] of [
      [0, 0, 3],
      [1, 3, n - 1],
    ] as const) {
      const neuron = await analyzer.neuron(
        cached.modelKey,
        cached.tokens.map((token) => token.id),
        layer,
        head,
        query,
      );
      const d = neuron.query.length;
      expect(neuron.scale).toBeCloseTo(1 / Math.sqrt(d), 12);
      const scores = Float64Array.from({ length: n }, (_, key) => {
        let dot = 0;
        for (let index = 0; index < d; index += 1) dot += neuron.query[index]! * neuron.keys[key * d + index]!;
        return dot * neuron.scale;
      });
      const softmax = softmaxRows(scores, 1, n).weights;
      const row = cached.layers[layer]!.subarray((head * n + query) * n, (head * n + query + 1) * n);
      softmax.forEach((value, key) => expect(Math.abs(value - row[key]!)).toBeLessThan(1e-5));
    }
  });

  it('refuses a model that is no longer loaded', async () => {
    await expect(analyzer.neuron('another-model', [101, 102], 0, 0, 0)).rejects.toMatchObject({ code: 'attention-unavailable' });
  });
});

describe('tensor export', () => {
  it('writes JSON and CSV files whose numbers are the analysis', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-export-'));
    const n = analysis.n;
    await exportTensor(storedAnalysis(analysis), 'json', path.join(folder, 'a.json'));
    const json = parseAttentionDocument(fs.readFileSync(path.join(folder, 'a.json'), 'utf8'));
    expect(json.sequences[0]!.tokens).toHaveLength(n);
    expect(json.attentions[0]!.data[1]![(2 * n + 3) * n + 4]).toBe(analysis.layers[1]![(2 * n + 3) * n + 4]);
    await exportTensor(storedAnalysis(analysis), 'csv', path.join(folder, 'a.csv'));
    const lines = fs.readFileSync(path.join(folder, 'a.csv'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1 + 2 * analysis.heads * n * n);
    const line = lines.find((candidate) => candidate.startsWith(`2,3,3,${analysis.tokens[3]!.text},4,`))!;
    expect(Number(line.split(',').pop())).toBe(analysis.layers[1]![(2 * n + 3) * n + 4]);
    expect(lines.some((candidate) => candidate.includes('","'))).toBe(true); // the comma token is quoted
  });
});
