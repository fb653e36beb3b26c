/**
 * Editor insights read the model's attention the way the engine defines it: checked against the engine's word
 * merging and rollout run on the full per-head tensor (the insights only see the graph's head means).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionTensor, groupWordPieces, mergeToWords, Rollout } from '../../src/engine';
import {
  readerImportance,
  mapLens,
  meanLens,
  rolloutLens,
  rolloutOfHeadMeans,
  tokenWeights,
  wordInsight,
} from '../../src/analysis/insights';
import { Analyzer, type AnalysisResult } from '../../src/model/analyzer';
import { ensureTestModel } from '../support/testModels';
import { allLayers, type LayerMaps } from '../../src/model/layerMaps';

let result: AnalysisResult;
let attentions: Float32Array[];
let n: number;
let layers: number;
let heads: number;

/** Mean over heads of one layer, from the full tensor (not from the graph's ReduceMean output). */
function layerMean(layer: number): Float64Array {
  const out = new Float64Array(n * n);
  const data = attentions[layer]!;
  for (let head = 0; head < heads; head += 1)
    for (let index = 0; index < n * n; index += 1) out[index]! += data[head * n * n + index]! / heads;
  return out;
}

beforeAll(async () => {
  const analyzer = new Analyzer();
  const request = {
    source: { kind: 'folder' as const, folder: ensureTestModel('tiny') },
    dtype: 'fp32' as const,
    offline: true,
    storageDir: fs.mkdtempSync(path.join(os.tmpdir(), 'attn-insights-')),
  };
  let attention: LayerMaps;
  ({ result, attention } = await analyzer.analyze(request, 'I absolutely loved this refund, it was fantastic!'));
  attentions = await allLayers(attention);
  n = result.tokens.length;
  layers = result.model.layers;
  heads = result.model.heads;
});

describe('attention lenses', () => {
  it("the mean lens of a layer is the mean over that layer's heads; layer 0 averages every layer", () => {
    const last = meanLens(result.headMeans!, layers, n, layers);
    const all = meanLens(result.headMeans!, layers, n, 0);
    const means = Array.from({ length: layers }, (_, layer) => layerMean(layer));
    for (const i of [0, 3, n - 1]) {
      last.row(i).forEach((value, k) => expect(value).toBeCloseTo(means[layers - 1]![i * n + k]!, 6));
      last.column(i).forEach((value, k) => expect(value).toBeCloseTo(means[layers - 1]![k * n + i]!, 6));
      all.row(i).forEach((value, k) => expect(value).toBeCloseTo(means.reduce((sum, mean) => sum + mean[i * n + k]!, 0) / layers, 6));
    }
  });

  it("rollout from the head means equals the engine's rollout of every head", () => {
    const full = new Float32Array(layers * heads * n * n);
    attentions.forEach((layer, index) => full.set(layer, index * heads * n * n));
    const reference = Rollout.of(attentionTensor(layers, heads, n, full));
    const lens = rolloutLens(rolloutOfHeadMeans(result.headMeans!, layers, n), 0);
    for (const i of [0, 5]) {
      lens.row(i).forEach((value, k) => expect(value).toBeCloseTo(reference.row(i)[k]!, 6));
      lens.column(i).forEach((value, k) => expect(value).toBeCloseTo(reference.column(i)[k]!, 6));
    }
  });
});

describe('word insights', () => {
  it("a split word attends to and is attended by words exactly as the engine's merged map says", () => {
    const groups = groupWordPieces(result.tokens);
    const refund = groups.find((group) => group.length > 1)!;
    expect(refund.map((index) => result.tokens[index]!.text).join(' ')).toMatch(/##/);
    const lens = meanLens(result.headMeans!, layers, n, layers);
    const insight = wordInsight(result.tokens, lens, refund, 3);
    expect(insight.pieces.length).toBe(refund.length);

    const merged = mergeToWords({ rows: n, cols: n, data: layerMean(layers - 1) }, groups).data;
    const w = groups.length;
    const self = groups.indexOf(refund);
    const normal = groups
      .map((group, index) => ({ group, index }))
      .filter(({ group }) => !group.every((token) => result.tokens[token]!.special));
    const expectedTo = normal
      .map(({ index }) => merged[self * w + index]!)
      .sort((a, b) => b - a)
      .slice(0, 3);
    const expectedBy = normal
      .map(({ index }) => merged[index * w + self]!)
      .sort((a, b) => b - a)
      .slice(0, 3);
    insight.attendsTo.forEach((entry, rank) => expect(entry.weight).toBeCloseTo(expectedTo[rank]!, 6));
    insight.attendedBy.forEach((entry, rank) => expect(entry.weight).toBeCloseTo(expectedBy[rank]!, 6));
    // Everything the word attends to is in the list or in the special tokens' share: the row sums to 1.
    const all = wordInsight(result.tokens, lens, refund, groups.length);
    expect(all.attendsTo.reduce((sum, entry) => sum + entry.weight, 0) + all.toSpecial).toBeCloseTo(1, 5);
  });

  it("reads a single head through its map; token weights leave special tokens out; importance is [CLS]'s rollout row", () => {
    const head = attentions[1]!.subarray(2 * n * n, 3 * n * n);
    const weights = tokenWeights(result.tokens, mapLens(head, n), [3]);
    weights.forEach((value, k) => expect(value).toBeCloseTo(result.tokens[k]!.special ? 0 : head[3 * n + k]!, 7));
    const rollout = rolloutOfHeadMeans(result.headMeans!, layers, n);
    const importance = readerImportance(result.tokens, result.prediction, rollout);
    const row = rollout.row(0);
    importance.forEach((value, k) => expect(value).toBe(result.tokens[k]!.special ? 0 : row[k]));
  });
});
