/**
 * Fidelity of maps on demand: for every family and graph style (fp32, q8/q4), the maps computed from the analysis run's queries
 * and keys equal the instrumented graph's own Softmax outputs for the same input (≤ 1e-6), layer by layer, head by
 * head and as head means; and the analysis graph returns no maps at all (a graph output is held for the whole run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionSession } from '../../src/model/attentionSession';
import { DecoderSession } from '../../src/model/decoderSession';
import { FAMILY_MODULES } from '../../src/model/families';
import { instrumentedModelFor } from '../../src/model/instrumentedCache';
import { OnDemandMaps, poolingIndices, releaseScoreSessions, scoresGraphBytes } from '../../src/model/onDemandMaps';
import { onnx } from '../../src/model/onnx/graph';
import { probabilitiesOutput } from '../../src/model/onnx/instrument';
import { instrumentDecoderModel } from '../../src/model/onnx/instrumentDecoder';
import { ENCODER_FAMILIES } from '../../src/shared/analysis';
import { GridBuilder } from '../../src/shared/attentionViews';
import { maxAbsDiff } from '../support/numeric';
import { DECODER_VARIANTS, ensureTestModel } from '../support/testModels';

const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-on-demand-'));
afterAll(async () => {
  await releaseScoreSessions();
  fs.rmSync(storageDir, { recursive: true, force: true });
});

const IDS = [2, 17, 33, 5, 61, 42, 8, 19, 77, 3, 25, 11, 3];

describe('the scores graph', () => {
  it('refuses a step it cannot replay', () => {
    expect(() => scoresGraphBytes({ steps: [{ op: 'Div', value: Number.NaN }], causal: false, reduce: 'none' })).toThrow(RangeError);
    expect(() => scoresGraphBytes({ steps: [{ op: 'Pow' as 'Div', value: 2 }], causal: false, reduce: 'none' })).toThrow(/cannot replay/);
  });

  it('masks the future of a causal model and repeats shared key heads', async () => {
    // 2 query heads sharing 1 key head, n = 3, d = 2: hand-computed softmax rows.
    const query = Float32Array.from([1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 1, -1]);
    const keyTransposed = Float32Array.from([1, 0, 1, 0, 1, 1]); // keys (1,0), (0,1), (1,1) as [d, n]
    const maps = new OnDemandMaps([{ query, keyTransposed }], 2, 3, [], true);
    const layer = await maps.layer(0);
    const expected: number[] = [];
    for (let head = 0; head < 2; head += 1) {
      for (let row = 0; row < 3; row += 1) {
        const q = [query[(head * 3 + row) * 2]!, query[(head * 3 + row) * 2 + 1]!];
        const scores = [0, 1, 2].map((col) => (col > row ? -Infinity : q[0]! * keyTransposed[col]! + q[1]! * keyTransposed[3 + col]!));
        const top = Math.max(...scores);
        const exps = scores.map((score) => Math.exp(score - top));
        const sum = exps.reduce((a, b) => a + b, 0);
        expected.push(...exps.map((value) => value / sum));
      }
    }
    expect(maxAbsDiff(layer, expected)).toBeLessThanOrEqual(1e-6);
    expect(layer[1]).toBe(0);
    expect(Array.from(await maps.head(0, 1))).toEqual(Array.from(layer.subarray(9)));
  });

  it("pools a grid's thumbnails in onnxruntime to exactly the maxima the page pools", async () => {
    // 4 query heads on 2 key heads, n = 150: blocks of uneven widths for most sizes; special tokens at both ends and
    // in the middle make the kept rows non-contiguous.
    const n = 150;
    const heads = 4;
    const d = 8;
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 4;
    const operands = [0, 1].map(() => ({
      query: Float32Array.from({ length: heads * n * d }, random),
      keyTransposed: Float32Array.from({ length: 2 * d * n }, random),
    }));
    const tokens = Array.from({ length: n }, (_, index) => ({
      id: index,
      text: `t${index}`,
      start: index,
      end: index + 1,
      special: index === 0 || index === 70 || index === n - 1,
    }));
    const layers: Promise<Float32Array>[] = [];
    for (const causal of [false, true]) {
      const maps = new OnDemandMaps(operands, heads, n, [{ op: 'Mul', value: 0.35 }], causal);
      for (const hideSpecial of [false, true]) {
        for (const size of [7, 64, 146]) {
          const options = { hideSpecial, mergeWords: false };
          const onPage = new GridBuilder(tokens, 2, heads, n, size, options);
          const inOnnxruntime = new GridBuilder(tokens, 2, heads, n, size, options);
          const { pooling } = inOnnxruntime;
          expect(pooling?.size).toBe(size);
          for (const layer of [0, 1]) {
            onPage.addLayer(layer, await maps.layer(layer));
            inOnnxruntime.addPooled(layer, await maps.pooledLayer(layer, pooling!.keep, pooling!.size));
          }
          expect(inOnnxruntime.thumbnails).toEqual(onPage.thumbnails);
          expect(inOnnxruntime.thumbnails.reduce((a, b) => Math.max(a, b), 0)).toBeGreaterThan(0.05);
        }
      }
      layers.push(maps.layer(1));
    }
    // The causal maps differ from the bidirectional ones (a mask left out would not pass unnoticed).
    const [bidirectional, causal] = await Promise.all(layers);
    expect(maxAbsDiff(bidirectional!, causal!)).toBeGreaterThan(0.1);
    expect(() => poolingIndices(Int32Array.from([0, 1]), 3)).toThrow(RangeError);
  });
});

for (const family of ENCODER_FAMILIES) {
  for (const dtype of ['fp32', 'q8'] as const) {
    describe(`${family} ${dtype}`, () => {
      it("every map on demand equals the graph's own Softmax output (≤ 1e-6)", async () => {
        const folder = ensureTestModel('tiny', 42, [dtype], { family, task: 'text-classification' });
        const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, number>;
        const layers = config.n_layers ?? config.num_hidden_layers!;
        const heads = config.n_heads ?? config.num_attention_heads!;
        const pattern = FAMILY_MODULES.find((module) => module.id === family)!.pattern;
        const file = path.join(folder, 'onnx', dtype === 'fp32' ? 'model.onnx' : 'model_quantized.onnx');
        const shape = { layers, heads, inputs: pattern.inputs, output: 'logits' };
        const withMaps = instrumentedModelFor(file, { layers, heads }, pattern, storageDir, { headMask: false, outputs: 'maps' });
        const withOperands = instrumentedModelFor(file, { layers, heads }, pattern, storageDir, { headMask: false, outputs: 'operands' });
        expect(withOperands.scoreSteps, 'the analysis graph of this family returns queries and keys').toBeDefined();
        const reference = await AttentionSession.load(withMaps.path, shape);
        const analysis = await AttentionSession.load(withOperands.path, shape);
        try {
          expect(analysis.outputNames.some((name) => name.startsWith('attention_probs') || name.startsWith('attention_scores'))).toBe(
            false,
          );
          const ids = family === 'roberta' ? [0, ...IDS.slice(1, -1), 2] : [101, ...IDS.slice(1, -1), 102];
          const expected = await reference.run({ inputIds: [ids] }, { attentions: true, headMeans: true });
          const run = await analysis.run({ inputIds: [ids] }, { operands: true, headMeans: true });
          expect(maxAbsDiff(run.output, expected.output)).toBeLessThanOrEqual(1e-6);
          const maps = new OnDemandMaps(run.layerOperands!, heads, ids.length, withOperands.scoreSteps!, false);
          const n = ids.length;
          let worst = 0;
          for (let layer = 0; layer < layers; layer += 1) {
            const own = expected.attentions![layer]!;
            worst = Math.max(worst, maxAbsDiff(await maps.layer(layer), own));
            for (let head = 0; head < heads; head += 1) {
              worst = Math.max(worst, maxAbsDiff(await maps.head(layer, head), own.subarray(head * n * n, (head + 1) * n * n)));
            }
            worst = Math.max(worst, maxAbsDiff(await maps.headMean(layer), expected.headMeans![layer]!));
            worst = Math.max(worst, maxAbsDiff(run.headMeans![layer]!, expected.headMeans![layer]!));
          }
          expect(worst).toBeLessThanOrEqual(1e-6);
          // The maps are a model's, not zeros: rows sum to 1 and differ between heads.
          const first = await maps.layer(0);
          expect(first.subarray(0, n).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          expect(maxAbsDiff(first.subarray(0, n * n), first.subarray(n * n, 2 * n * n))).toBeGreaterThan(1e-3);
          expect(maps.heldBytes).toBeLessThan(layers * heads * n * n * 4 * 2);
        } finally {
          await reference.release();
          await analysis.release();
        }
      });
    });
  }
}

// GroupQueryAttention: queries rotated outside the kernel by the same rotary kernel, keys from its present cache;
// GPT-2's If-merged decoder: taps in both branches, passed out by the If.

for (const variant of DECODER_VARIANTS) {
  for (const dtype of ['fp32', 'q4'] as const) {
    const name = `${variant.family} ${variant.merged ? 'merged' : variant.attention} ${dtype}`;
    it(`${name}: every map on demand (fresh text and a generation step) equals the graph's own`, async () => {
      const folder = ensureTestModel('tiny', 42, [dtype], variant);
      const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, number>;
      const layers = config.n_layer ?? config.num_hidden_layers!;
      const heads = config.n_head ?? config.num_attention_heads!;
      const pattern = FAMILY_MODULES.find((module) => module.id === variant.family)!.pattern;
      const stem = variant.merged ? 'decoder_model_merged' : 'model';
      const file = path.join(folder, 'onnx', dtype === 'fp32' ? `${stem}.onnx` : `${stem}_q4.onnx`);
      const shape = { layers, heads, inputs: pattern.inputs };
      const withMaps = instrumentedModelFor(file, { layers, heads }, pattern, storageDir, { headMask: false, outputs: 'maps' });
      const withOperands = instrumentedModelFor(file, { layers, heads }, pattern, storageDir, { headMask: false, outputs: 'operands' });
      const reference = await DecoderSession.load(withMaps.path, shape);
      const analysis = await DecoderSession.load(withOperands.path, shape);
      try {
        expect(analysis.returnsOperands).toBe(true);
        expect(withOperands.scoreSteps).toBeDefined();
        expect(analysis.outputNames.some((output) => output.startsWith('attention_probs'))).toBe(false);
        const ids = IDS.map((id) => id + 4);
        const n = ids.length;
        const expected = await reference.run({ inputIds: [ids] }, { attentions: true, headMeans: true, cache: true });
        const run = await analysis.run({ inputIds: [ids] }, { operands: true, headMeans: true, cache: true });
        // Two graphs onnxruntime optimises differently: the logits agree to float rounding, the maps closer.
        expect(maxAbsDiff(run.logits, expected.logits)).toBeLessThanOrEqual(1e-4);
        const maps = new OnDemandMaps(run.layerOperands!, heads, n, withOperands.scoreSteps!, true);
        let worst = 0;
        for (let layer = 0; layer < layers; layer += 1) {
          const own = expected.attentions![layer]!;
          worst = Math.max(worst, maxAbsDiff(await maps.layer(layer), own));
          worst = Math.max(worst, maxAbsDiff(await maps.head(layer, heads - 1), own.subarray((heads - 1) * n * n)));
          worst = Math.max(worst, maxAbsDiff(await maps.headMean(layer), expected.headMeans![layer]!));
        }
        expect(worst).toBeLessThanOrEqual(1e-6);
        // The future is masked: the first row attends to the first token only.
        expect((await maps.head(0, 0))[0]).toBe(1);
        // One step after the cache: its row from its query and every key.
        const next = await reference.run({ inputIds: [[7]], past: expected.cache! }, { attentions: true });
        const step = await analysis.run({ inputIds: [[7]], past: run.cache! }, { operands: true });
        const rows = new OnDemandMaps(step.layerOperands!, heads, 1, withOperands.scoreSteps!, true, n + 1);
        const stacked = await rows.everyLayer();
        for (let layer = 0; layer < layers; layer += 1) {
          expect(maxAbsDiff(await rows.layer(layer), next.attentions![layer]!)).toBeLessThanOrEqual(1e-6);
          expect(maxAbsDiff(stacked[layer]!, next.attentions![layer]!)).toBeLessThanOrEqual(1e-6);
        }
      } finally {
        await reference.release();
        await analysis.release();
      }
    });
  }
}

it('an unreadable scaling leaves the graph returning its maps', async () => {
  const folder = ensureTestModel('tiny', 42, ['fp32'], { family: 'distilbert', task: 'text-classification' });
  const pattern = FAMILY_MODULES.find((module) => module.id === 'distilbert')!.pattern;
  const file = path.join(folder, 'onnx', 'model.onnx');
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, number>;
  const expected = { layers: config.n_layers!, heads: config.n_heads! };
  const withHeadMask = instrumentedModelFor(file, expected, pattern, storageDir, { headMask: true, outputs: 'operands' });
  expect(withHeadMask.scoreSteps).toBeUndefined();
  const session = await ort.InferenceSession.create(withHeadMask.path);
  expect(session.outputNames).toContain(probabilitiesOutput(0));
  await session.release();
});

it('GroupQueryAttention whose scores the small graph cannot replay (soft-capped, windowed) keeps returning its maps', () => {
  const variant = { family: 'qwen2' as const, attention: 'fused' as const };
  const folder = ensureTestModel('tiny', 42, ['fp32'], variant);
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, number>;
  const expected = { layers: config.num_hidden_layers!, heads: config.num_attention_heads! };
  const pattern = FAMILY_MODULES.find((module) => module.id === variant.family)!.pattern;
  const source = onnx.ModelProto.decode(fs.readFileSync(path.join(folder, 'onnx', 'model.onnx')));
  const changed = (name: string, value: onnx.IAttributeProto): Uint8Array => {
    const model = onnx.ModelProto.decode(onnx.ModelProto.encode(source).finish());
    const site = model.graph!.node!.filter((candidate) => candidate.opType === 'GroupQueryAttention')[1]!;
    site.attribute = [...site.attribute!.filter((attribute) => attribute.name !== name), value] as onnx.AttributeProto[];
    return onnx.ModelProto.encode(model).finish();
  };
  const operands = { headMask: false, outputs: 'operands' } as const;
  expect(instrumentDecoderModel(onnx.ModelProto.encode(source).finish(), expected, pattern, operands).scoreSteps).toEqual([
    { op: 'Mul', value: expect.closeTo(1 / Math.sqrt(config.hidden_size! / expected.heads), 6) as number },
  ]);
  for (const [name, value] of [
    ['softcap', { name: 'softcap', type: onnx.AttributeProto.AttributeType.FLOAT, f: 30 }],
    ['local_window_size', { name: 'local_window_size', type: onnx.AttributeProto.AttributeType.INT, i: 4 }],
  ] as const) {
    const result = instrumentDecoderModel(changed(name, value), expected, pattern, operands);
    expect(result.scoreSteps, name).toBeUndefined();
    const outputs = onnx.ModelProto.decode(result.bytes).graph!.output!.map((output) => output.name);
    expect(outputs, name).toContain(probabilitiesOutput(0));
  }
});
