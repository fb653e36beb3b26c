/**
 * Interventions on a project-built tiny DistilBERT: the per-layer chain against the monolithic instrumented graph and
 * the stock graph, every single-head ablation against the independent TypeScript forward with that head zeroed, and
 * batched occlusion against separate single runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { normaliseHeadImportance } from '../../src/engine';
import { AttentionSession } from '../../src/model/attentionSession';
import {
  ablate,
  headImportance,
  maskOnly,
  maskWithout,
  occludedIds,
  occlusion,
  occlusionUnits,
  singleHeadAblationOutputs,
  type InterventionOptions,
  type OccludedUnit,
} from '../../src/model/explanations';
import { distilbert } from '../../src/model/families/distilbert';
import { instrumentedModelFor } from '../../src/model/instrumentedCache';
import { LayerChain } from '../../src/model/layerChain';
import type { ModelDtype } from '../../src/model/modelSource';
import { encodeModel, decodeModel } from '../../src/model/onnx/graph';
import { instrumentModel } from '../../src/model/onnx/instrument';
import { splitIntoLayerSegments } from '../../src/model/onnx/segments';
import { probabilitiesOf } from '../../src/model/tasks/textClassification';
import { OffsetTokenizer } from '../../src/model/tokenizer';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import { ensureTestModel } from '../support/testModels';
import { MODEL_SESSION_OPTIONS } from '../../src/model/sessionOptions';

const TEXT = 'The plot was dull, but the acting was wonderful.';
let folder: string;
let config: DistilBertConfig & { n_layers: number; n_heads: number; dim: number; hidden_dim: number };
let reference: ReferenceDistilBert;
let tokenizer: OffsetTokenizer;
const chains = new Map<ModelDtype, LayerChain>();
const sessions = new Map<ModelDtype, AttentionSession>();
const onnxFile = (dtype: ModelDtype) => path.join(folder, 'onnx', dtype === 'fp32' ? 'model.onnx' : 'model_quantized.onnx');
const toProbabilities = (logits: ArrayLike<number>) => probabilitiesOf(logits, false);
const pattern = distilbert.pattern;
/** Explaining the classifier's label, as the analyzer does for a text classification model. */
const classify: InterventionOptions = {
  target: { position: 0, explain: () => ({ labels: ['NEGATIVE', 'POSITIVE'], score: (output) => toProbabilities(output) }) },
  perToken: false,
};
const chainShape = (quantized: boolean) => ({
  layers: config.n_layers,
  heads: config.n_heads,
  width: config.dim,
  intermediate: config.hidden_dim,
  inputs: pattern.inputs,
  quantized,
});
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let index = 0; index < a.length; index += 1) worst = Math.max(worst, Math.abs(Number(a[index]) - Number(b[index])));
  return worst;
};

beforeAll(async () => {
  folder = ensureTestModel('tiny');
  config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8'));
  reference = ReferenceDistilBert.load(path.join(folder, 'model.safetensors'), config);
  tokenizer = await OffsetTokenizer.load({ kind: 'folder', folder });
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-explain-'));
  const shape = { layers: config.n_layers, heads: config.n_heads };
  for (const dtype of ['fp32', 'q8'] as const) {
    const instrumented = instrumentedModelFor(onnxFile(dtype), shape, pattern, storageDir, { headMask: true });
    sessions.set(dtype, await AttentionSession.load(instrumented.path, { ...shape, inputs: pattern.inputs, output: 'logits' }));
    chains.set(
      dtype,
      await LayerChain.load(instrumented.path, chainShape(instrumented.quantized), {
        pattern,
        output: 'logits',
        lastLayer: dtype === 'fp32' ? 'first-token' : 'all',
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all([...chains.values(), ...sessions.values()].map((owner) => owner.release()));
});

const idsOf = (text: string) => tokenizer.tokenize(text).tokens.map((token) => token.id);

describe('the per-layer chain', () => {
  it("cuts the graph into one segment per layer, each with only its own layer's weights", () => {
    const instrumented = instrumentModel(fs.readFileSync(onnxFile('fp32')), { layers: config.n_layers, heads: config.n_heads }, pattern);
    const segments = splitIntoLayerSegments(instrumented.bytes, config.n_layers, { pattern, output: 'logits', lastLayer: 'first-token' });
    // The last layer computes its query and feed-forward for [CLS] only.
    expect(
      decodeModel(segments[1]!.bytes)
        .graph!.node!.filter((node) => node.opType === 'Slice')
        .map((node) => node.input![0]),
    ).toContain('hidden.1');
    expect(
      decodeModel(
        splitIntoLayerSegments(instrumented.bytes, config.n_layers, { pattern, output: 'logits', lastLayer: 'all' })[1]!.bytes,
      ).graph!.node!.some((node) => node.name === 'attention_explorer/first_token'),
    ).toBe(false);
    expect(segments.map((segment) => [segment.input, segment.output])).toEqual([
      [undefined, 'hidden.1'],
      ['hidden.1', 'logits'],
    ]);
    const weightsOf = (bytes: Uint8Array) =>
      (decodeModel(bytes).graph!.initializer ?? [])
        .map((initializer) => initializer.name ?? '')
        .filter((name) => name.startsWith('distilbert.transformer.layer.'));
    expect(new Set(weightsOf(segments[0]!.bytes).map((name) => name.split('.')[3]))).toEqual(new Set(['0']));
    expect(new Set(weightsOf(segments[1]!.bytes).map((name) => name.split('.')[3]))).toEqual(new Set(['1']));
    // The embeddings live in segment 0 only, the classifier in the last one only.
    const names = (bytes: Uint8Array) => (decodeModel(bytes).graph!.initializer ?? []).map((initializer) => initializer.name ?? '');
    expect(names(segments[0]!.bytes)).toContain('distilbert.embeddings.word_embeddings.weight');
    expect(names(segments[1]!.bytes)).not.toContain('distilbert.embeddings.word_embeddings.weight');
    expect(names(segments[1]!.bytes)).toContain('classifier.bias');
  });

  it('refuses a graph whose layers it cannot find, saying why', () => {
    const instrumented = instrumentModel(fs.readFileSync(onnxFile('fp32')), { layers: config.n_layers, heads: config.n_heads }, pattern);
    const model = decodeModel(instrumented.bytes);
    // Make layer 1's key projection read something other than the query's input.
    const keyMatMul = model.graph!.node!.find((node) => node.name === '/distilbert/transformer/layer.1/attention/k_lin/MatMul')!;
    const layerNormOut = model.graph!.node!.find((node) => node.name === '/distilbert/embeddings/LayerNorm/Add_1')!.output![0]!;
    keyMatMul.input = [layerNormOut, keyMatMul.input![1]!];
    expect(() => splitIntoLayerSegments(encodeModel(model), config.n_layers, { pattern, output: 'logits', lastLayer: 'all' })).toThrow(
      /input of layer 1/,
    );
  });

  for (const dtype of ['fp32', 'q8'] as const) {
    it(`${dtype}: with every head on, gives the monolithic graph's logits (and the instrumented graph the stock graph's, exactly)`, async () => {
      const ids = idsOf(TEXT);
      // With the options every model graph is opened with: prepacked weights would round the products differently.
      const stock = await ort.InferenceSession.create(onnxFile(dtype), MODEL_SESSION_OPTIONS);
      const feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      };
      const stockLogits = (await stock.run(feeds)).logits!.data as Float32Array;
      await stock.release();
      const monolithic = await sessions
        .get(dtype)!
        .run({ inputIds: [ids], headMask: new Float32Array(config.n_layers * config.n_heads).fill(1) });
      expect(Array.from(monolithic.output)).toEqual(Array.from(stockLogits));
      const [chained] = (await chains.get(dtype)!.outputs([{ ids }])) as [Float32Array];
      if (dtype === 'q8') {
        // The same kernels on the same numbers: the chain of per-layer graphs is bit-identical.
        expect(Array.from(chained)).toEqual(Array.from(stockLogits));
      } else {
        // fp32 trims the last layer to [CLS]: products over fewer rows may round differently, in the last bits.
        expect(maxAbsDiff(chained, stockLogits)).toBeLessThanOrEqual(1e-5);
        const untrimmed = await LayerChain.load(
          instrumentedModelFor(
            onnxFile(dtype),
            { layers: config.n_layers, heads: config.n_heads },
            pattern,
            fs.mkdtempSync(path.join(os.tmpdir(), 'attn-explain-')),
            { headMask: true },
          ).path,
          chainShape(false),
          { pattern, output: 'logits', lastLayer: 'all' },
        );
        expect(Array.from((await untrimmed.outputs([{ ids }]))[0]!)).toEqual(Array.from(stockLogits));
        await untrimmed.release();
      }
    });
  }
});

describe('head ablation', () => {
  it("fp32: each single-head ablation's logits equal the TypeScript reference forward with that head zeroed (≤ 1e-4)", async () => {
    const ids = idsOf(TEXT);
    const { layers, heads } = { layers: config.n_layers, heads: config.n_heads };
    const { original, ablated } = await singleHeadAblationOutputs(chains.get('fp32')!, ids);
    expect(maxAbsDiff(original, reference.forward(ids).output)).toBeLessThanOrEqual(1e-4);
    let moved = 0;
    for (let layer = 0; layer < layers; layer += 1) {
      for (let head = 0; head < heads; head += 1) {
        const expected = reference.forward(ids, undefined, maskWithout(layers, heads, [{ layer, head }])).output;
        const got = ablated[layer * heads + head]!;
        expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-4);
        if (maxAbsDiff(got, original) > 1e-3) moved += 1;
      }
    }
    // Random weights: ablating a head must visibly move the logits (else the test would prove nothing).
    expect(moved).toBe(layers * heads);
  });

  it('q8: batching rows would change their quantization, so the quantized chain runs one row per run', () => {
    expect(chains.get('q8')!.rowsPerRun(16)).toBe(1);
    expect(chains.get('fp32')!.rowsPerRun(16)).toBeGreaterThan(72);
  });

  for (const dtype of ['fp32', 'q8'] as const) {
    it(`${dtype}: the batched sweep (lower layers reused) agrees with separate unbatched runs of the monolithic graph`, async () => {
      const ids = idsOf(TEXT);
      const { layers, heads } = { layers: config.n_layers, heads: config.n_heads };
      const { ablated } = await singleHeadAblationOutputs(chains.get(dtype)!, ids);
      for (let index = 0; index < layers * heads; index += 1) {
        const mask = maskWithout(layers, heads, [{ layer: Math.floor(index / heads), head: index % heads }]);
        const single = await sessions.get(dtype)!.run({ inputIds: [ids], headMask: mask });
        // q8 chains run a row at a time (a batch would share one quantization scale), so both agree as closely.
        expect(maxAbsDiff(ablated[index]!, single.output)).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  it('reports Δ of the predicted label per head, and the Michel-normalised drops', async () => {
    const ids = idsOf(TEXT);
    const result = await headImportance(chains.get('fp32')!, ids, classify);
    const base = toProbabilities(reference.forward(ids).output);
    expect(result.label).toBe(base.indexOf(Math.max(...base)));
    const { n_layers: layers, n_heads: heads } = config;
    for (let layer = 0; layer < layers; layer += 1) {
      for (let head = 0; head < heads; head += 1) {
        const after = toProbabilities(reference.forward(ids, undefined, maskWithout(layers, heads, [{ layer, head }])).output);
        expect(Math.abs(result.deltas[layer]![head]! - (after[result.label]! - base[result.label]!))).toBeLessThanOrEqual(1e-5);
      }
    }
    expect(result.normalised).toEqual(normaliseHeadImportance(result.deltas.map((row) => row.map((delta) => -delta))));
    expect(Math.min(...result.normalised.flat())).toBe(0);
    expect(Math.max(...result.normalised.flat())).toBe(1);
  });

  it('ablates a set of heads, or all but a set, as the reference does', async () => {
    const ids = idsOf(TEXT);
    const { n_layers: layers, n_heads: heads } = config;
    const chosen = [
      { layer: 0, head: 1 },
      { layer: 1, head: 3 },
    ];
    for (const mask of [maskWithout(layers, heads, chosen), maskOnly(layers, heads, chosen)]) {
      const result = await ablate(chains.get('fp32')!, ids, mask, classify);
      const expected = toProbabilities(reference.forward(ids, undefined, mask).output);
      expect(maxAbsDiff(result.probabilities, expected)).toBeLessThanOrEqual(1e-5);
      expect(result.delta).toBeCloseTo(expected[result.original.label]! - result.original.probabilities[result.original.label]!, 6);
    }
  });
});

describe('Michel et al. normalisation', () => {
  it('divides each layer by its L2 norm, then scales all to [0, 1]', () => {
    // Layer 0 norm 5 → [0.6, 0.8]; layer 1 norm 2 → [1, 0, 0, 0] shape-wise [1, 0]… min 0, max 1.
    expect(
      normaliseHeadImportance([
        [3, 4],
        [0, 2],
      ]),
    ).toEqual([
      [0.6, 0.8],
      [0, 1],
    ]);
    expect(
      normaliseHeadImportance([
        [0, 0],
        [0, 0],
      ]),
    ).toEqual([
      [0, 0],
      [0, 0],
    ]);
    const negative = normaliseHeadImportance([
      [-3, 4],
      [1, 0],
    ]);
    expect(negative[0]![0]).toBe(0);
    expect(negative[1]![0]).toBe(1);
  });
});

describe('occlusion', () => {
  for (const [mode, unit] of [
    ['mask', 'token'],
    ['remove', 'token'],
    ['mask', 'word'],
    ['remove', 'word'],
  ] as const) {
    it(`${mode} × ${unit}: batched results equal separate single runs of the monolithic graph`, async () => {
      const tokens = tokenizer.tokenize('Unbelievably tedious, yet strangely charming.').tokens;
      const maskId = tokenizer.maskTokenId!;
      expect(maskId).toBe(103);
      const result = await occlusion(chains.get('fp32')!, tokens, { ...classify, mode, unit, maskId });
      const units = occlusionUnits(tokens, unit);
      expect(result.units.map((entry) => entry.indices)).toEqual(units);
      if (unit === 'word') expect(units.some((group) => group.length > 1)).toBe(true);
      else expect(units.length).toBe(tokens.length - 2);
      const ids = tokens.map((token) => token.id);
      const base = toProbabilities((await sessions.get('fp32')!.run({ inputIds: [ids] })).output);
      for (const entry of result.units) {
        const single = toProbabilities(
          (await sessions.get('fp32')!.run({ inputIds: [occludedIds(ids, entry.indices, mode, maskId)] })).output,
        );
        expect(maxAbsDiff(entry.probabilities, single)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(entry.delta - (single[result.label]! - base[result.label]!))).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  for (const mode of ['mask', 'remove'] as const) {
    it(`${mode}: each unit is reported with the progress as soon as its run is done, as the final result says`, async () => {
      const tokens = tokenizer.tokenize('Unbelievably tedious, yet strangely charming.').tokens;
      const reports: Array<{ done: number; occluded: OccludedUnit[] }> = [];
      // The q8 chain runs one row at a time: one report per unit.
      const result = await occlusion(
        chains.get('q8')!,
        tokens,
        { ...classify, mode, unit: 'token', maskId: tokenizer.maskTokenId! },
        { onProgress: (done, _total, occluded) => reports.push({ done, occluded: occluded ?? [] }) },
      );
      const streamed = reports.flatMap((report) => report.occluded);
      expect(streamed.map((unit) => unit.indices)).toEqual(result.units.map((unit) => unit.indices));
      streamed.forEach((unit, index) => expect(unit.delta).toBe(result.units[index]!.delta));
      // Before the end: the first unit came with the second run's report, while most runs were still to go.
      const first = reports.findIndex((report) => report.occluded.length > 0);
      expect(reports[first]!.done).toBeLessThan(reports.at(-1)!.done / 2);
    });
  }

  it("masks with [MASK] or removes the unit's tokens, keeping the special tokens", () => {
    expect(occludedIds([101, 7, 8, 9, 102], [2, 3], 'mask', 103)).toEqual([101, 7, 103, 103, 102]);
    expect(occludedIds([101, 7, 8, 9, 102], [2, 3], 'remove', 103)).toEqual([101, 7, 102]);
  });
});

describe('aligning two token sequences, and the head report', () => {
  it('pairs equal tokens in order, as many as possible', async () => {
    const { alignSequences } = await import('../../src/engine');
    expect(alignSequences(['[CLS]', 'i', 'loved', 'it', '[SEP]'], ['[CLS]', 'i', 'hated', 'it', '!', '[SEP]'])).toEqual([
      [0, 0],
      [1, 1],
      [3, 3],
      [4, 5],
    ]);
    expect(alignSequences([], ['a'])).toEqual([]);
    expect(alignSequences(['a', 'b', 'a'], ['a', 'a'])).toEqual([
      [0, 0],
      [2, 1],
    ]);
  });

  it('names heads above the threshold for each pattern, strongest first; broad heads by entropy against ln n', async () => {
    const { headReport } = await import('../../src/engine');
    const stat = (
      layer: number,
      head: number,
      values: Partial<Record<'toCls' | 'toSep' | 'toPunctuation' | 'toPrevious' | 'toNext' | 'meanEntropy', number>>,
    ) => ({
      layer,
      head,
      toCls: 0,
      toSep: 0,
      toPunctuation: 0,
      toPrevious: 0,
      toNext: 0,
      toFirst: 0,
      induction: 0,
      inductionRows: 0,
      meanEntropy: 0,
      mostAttended: { index: 0, share: 0 },
      ...values,
    });
    const report = headReport(
      [stat(0, 0, { toPrevious: 0.6 }), stat(0, 1, { toPrevious: 0.9, toSep: 0.5 }), stat(1, 0, { meanEntropy: Math.log(10) * 0.85 })],
      10,
    );
    expect(report.toPrevious.map((entry) => [entry.layer, entry.head])).toEqual([
      [0, 1],
      [0, 0],
    ]);
    expect(report.toSep).toEqual([]);
    expect(report.broad.map((entry) => [entry.layer, entry.head, Number(entry.value.toFixed(2))])).toEqual([[1, 0, 0.85]]);
  });
});
