/**
 * The model's own attention, proved on a project-built tiny DistilBERT (random weights, the real tokenizer):
 * the instrumented graph against the stock graph run by transformers.js's pipeline, and against an independent
 * TypeScript forward pass that reads model.safetensors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env, pipeline } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { softmaxRows } from '../../src/engine';
import { Analyzer } from '../../src/model/analyzer';
import { AttentionSession } from '../../src/model/attentionSession';
import { instrumentedModelFor } from '../../src/model/instrumentedCache';
import { encodeModel, decodeModel } from '../../src/model/onnx/graph';
import { INSTRUMENTATION_VERSION, InstrumentationError, instrumentModel } from '../../src/model/onnx/instrument';
import type { ModelDtype, ModelRequest } from '../../src/model/modelSource';
import { distilbert } from '../../src/model/families/distilbert';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';
import { allLayers } from '../../src/model/layerMaps';

const TEXT = 'I absolutely loved this movie, it was fantastic!';
let folder: string;
let config: DistilBertConfig & { n_layers: number; n_heads: number };
let reference: ReferenceDistilBert;
let storageDir: string;
const sessions = new Map<ModelDtype, AttentionSession>();
let ids: number[];

const pattern = distilbert.pattern;
const sessionShape = (layers: number, heads: number) => ({ layers, heads, inputs: pattern.inputs, output: 'logits' });
const onnxFile = (dtype: ModelDtype) => path.join(folder, 'onnx', dtype === 'fp32' ? 'model.onnx' : 'model_quantized.onnx');
/** Layer `layer` of the per-layer arrays a run returns. */
const layerOf = (layers: Float32Array[], layer: number, _count: number) => layers[layer]!;
const concatenate = (layers: Float32Array[]) => {
  const all = new Float32Array(layers.reduce((sum, layer) => sum + layer.length, 0));
  layers.reduce((offset, layer) => (all.set(layer, offset), offset + layer.length), 0);
  return all;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let index = 0; index < a.length; index += 1) worst = Math.max(worst, Math.abs(a[index]! - b[index]!));
  return worst;
};

beforeAll(async () => {
  folder = ensureTestModel('tiny');
  config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8'));
  reference = ReferenceDistilBert.load(path.join(folder, 'model.safetensors'), config);
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-storage-'));
  for (const dtype of ['fp32', 'q8'] as const) {
    const instrumented = instrumentedModelFor(onnxFile(dtype), { layers: config.n_layers, heads: config.n_heads }, pattern, storageDir, {
      headMask: true,
    });
    sessions.set(dtype, await AttentionSession.load(instrumented.path, sessionShape(config.n_layers, config.n_heads)));
  }
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(folder) + path.sep;
  const tokenizer = await AutoTokenizer.from_pretrained(path.basename(folder));
  ids = Array.from(tokenizer(TEXT).input_ids.data as BigInt64Array, Number);
});

describe('instrumented ONNX on the tiny fp32 model', () => {
  it("gives the same logits as the unmodified model in transformers.js, and its pipeline's probabilities", async () => {
    const stock = await AutoModelForSequenceClassification.from_pretrained(path.basename(folder), { dtype: 'fp32' });
    const tokenizer = await AutoTokenizer.from_pretrained(path.basename(folder));
    const expected = ((await stock(tokenizer(TEXT))) as { logits: { data: Float32Array } }).logits.data;
    const ours = await sessions.get('fp32')!.run({ inputIds: [ids] });
    expect(maxAbsDiff(ours.output, expected)).toBeLessThanOrEqual(1e-5);

    const classifier = await pipeline('text-classification', path.basename(folder), { dtype: 'fp32' });
    const scores = (await classifier(TEXT, { top_k: null })) as Array<{ label: string; score: number }>;
    const analyzer = new Analyzer();
    const { result } = await analyzer.analyze(request('fp32'), TEXT);
    if (result.prediction.task !== 'text-classification') throw new Error('expected a text classification');
    const prediction = result.prediction;
    for (const { label, score } of scores) {
      expect(Math.abs(prediction.probabilities[prediction.labels.indexOf(label)]! - score)).toBeLessThanOrEqual(1e-6);
    }
    await Promise.all([analyzer.dispose(), classifier.dispose(), stock.dispose()]);
  });

  it("exposes attention rows that sum to 1, and the engine's softmax of the exposed scores gives the exposed probabilities", async () => {
    const out = await sessions.get('fp32')!.run({ inputIds: [ids] }, { attentions: true, scores: true, headMeans: true });
    const n = ids.length;
    for (let layer = 0; layer < config.n_layers; layer += 1) {
      const probabilities = layerOf(out.attentions!, layer, config.n_layers);
      expect(probabilities.length).toBe(config.n_heads * n * n);
      for (let row = 0; row < config.n_heads * n; row += 1) {
        const sum = probabilities.subarray(row * n, (row + 1) * n).reduce((total, value) => total + value, 0);
        expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-5);
      }
      const engine = softmaxRows(Float64Array.from(layerOf(out.scores!, layer, config.n_layers)), config.n_heads * n, n).weights;
      expect(maxAbsDiff(engine, probabilities)).toBeLessThanOrEqual(1e-6);
      // The head means the graph computes are the mean of the exposed heads.
      const means = layerOf(out.headMeans!, layer, config.n_layers);
      for (let index = 0; index < n * n; index += 1) {
        let sum = 0;
        for (let head = 0; head < config.n_heads; head += 1) sum += probabilities[head * n * n + index]!;
        expect(Math.abs(means[index]! - sum / config.n_heads)).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('matches the independent TypeScript forward pass: logits and every attention map within 1e-4', async () => {
    const out = await sessions.get('fp32')!.run({ inputIds: [ids] }, { attentions: true });
    const expected = reference.forward(ids);
    expect(maxAbsDiff(out.output, expected.output)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(concatenate(out.attentions!), expected.attentions)).toBeLessThanOrEqual(1e-4);
  });

  it('keeps padding columns at exactly 0 and padded rows equal to the unpadded run', async () => {
    const short = ids.slice(0, 6);
    const padded = [...short, 0, 0, 0];
    const out = await sessions.get('fp32')!.run(
      {
        inputIds: [padded, padded.map((_, i) => ids[i] ?? 0)],
        attentionMask: [padded.map((_, i) => (i < 6 ? 1 : 0)), padded.map((_, i) => (i < ids.length ? 1 : 0))],
      },
      { attentions: true },
    );
    const n = padded.length;
    const alone = await sessions.get('fp32')!.run({ inputIds: [short] }, { attentions: true });
    for (let layer = 0; layer < config.n_layers; layer += 1) {
      const maps = layerOf(out.attentions!, layer, config.n_layers);
      for (let head = 0; head < config.n_heads; head += 1) {
        for (let row = 0; row < n; row += 1) {
          for (let col = 6; col < n; col += 1) expect(maps[(head * n + row) * n + col]).toBe(0);
        }
        for (let row = 0; row < 6; row += 1) {
          for (let col = 0; col < 6; col += 1) {
            expect(
              Math.abs(maps[(head * n + row) * n + col]! - layerOf(alone.attentions!, layer, config.n_layers)[(head * 6 + row) * 6 + col]!),
            ).toBeLessThanOrEqual(1e-5);
          }
        }
      }
    }
    expect(maxAbsDiff(out.output.subarray(0, 2), alone.output)).toBeLessThanOrEqual(1e-5);
  });

  it('a head mask of ones changes nothing; each zeroed head moves the logits exactly as the TypeScript forward with that head zeroed', async () => {
    const session = sessions.get('fp32')!;
    const { n_layers: layers, n_heads: heads } = config;
    const plain = await session.run({ inputIds: [ids] });
    const ones = await session.run({ inputIds: [ids], headMask: new Float32Array(layers * heads).fill(1) });
    expect(Array.from(ones.output)).toEqual(Array.from(plain.output));
    // All single-head ablations as one batch, checked one by one against the reference.
    const masks = new Float32Array(layers * heads * layers * heads).fill(1);
    for (let index = 0; index < layers * heads; index += 1) masks[index * layers * heads + index] = 0;
    const batch = await session.run({ inputIds: Array.from({ length: layers * heads }, () => ids), headMask: masks });
    let moved = 0;
    for (let index = 0; index < layers * heads; index += 1) {
      const expected = reference.forward(ids, undefined, masks.subarray(index * layers * heads, (index + 1) * layers * heads)).output;
      const actual = batch.output.subarray(index * 2, index * 2 + 2);
      expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(1e-4);
      if (maxAbsDiff(actual, plain.output) > 1e-4) moved += 1;
    }
    expect(moved, 'switching heads off changes the prediction for most heads').toBeGreaterThan((layers * heads) / 2);
  });

  it("the analysis graph (no head mask, cached under its own name) gives exactly the masked graph's outputs with every head on", async () => {
    const shape = { layers: config.n_layers, heads: config.n_heads };
    const analysis = instrumentedModelFor(onnxFile('fp32'), shape, pattern, storageDir, { headMask: false });
    const masked = instrumentedModelFor(onnxFile('fp32'), shape, pattern, storageDir, { headMask: true });
    expect(analysis.path).not.toBe(masked.path);
    const session = await AttentionSession.load(analysis.path, sessionShape(config.n_layers, config.n_heads));
    const plain = await session.run({ inputIds: [ids] }, { attentions: true, headMeans: true });
    const withMask = await sessions.get('fp32')!.run({ inputIds: [ids] }, { attentions: true, headMeans: true });
    expect(Array.from(plain.output)).toEqual(Array.from(withMask.output));
    expect(Array.from(concatenate(plain.attentions!))).toEqual(Array.from(concatenate(withMask.attentions!)));
    expect(Array.from(concatenate(plain.headMeans!))).toEqual(Array.from(concatenate(withMask.headMeans!)));
    await expect(session.run({ inputIds: [ids], headMask: new Float32Array(8).fill(1) })).rejects.toThrow(/without a head mask/);
    await session.release();
  });
});

describe('instrumented ONNX on the tiny q8 model (MatMulInteger)', () => {
  it('instruments the quantized graph: same logits as the stock q8 model, attention rows sum to 1', async () => {
    const bytes = fs.readFileSync(onnxFile('q8'));
    const result = instrumentModel(bytes, { layers: config.n_layers, heads: config.n_heads }, pattern);
    expect(result.quantized).toBe(true);
    const stock = await AutoModelForSequenceClassification.from_pretrained(path.basename(folder), { dtype: 'q8' });
    const tokenizer = await AutoTokenizer.from_pretrained(path.basename(folder));
    const expected = ((await stock(tokenizer(TEXT))) as { logits: { data: Float32Array } }).logits.data;
    const out = await sessions.get('q8')!.run({ inputIds: [ids] }, { attentions: true });
    expect(maxAbsDiff(out.output, expected)).toBeLessThanOrEqual(1e-5);
    const n = ids.length;
    for (let index = 0; index < config.n_layers; index += 1) {
      const layer = layerOf(out.attentions!, index, config.n_layers);
      for (let row = 0; row < config.n_heads * n; row += 1) {
        expect(Math.abs(layer.subarray(row * n, (row + 1) * n).reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-5);
      }
    }
    // Quantization error, not an instrumentation error: close to the fp32 model.
    const fp32 = await sessions.get('fp32')!.run({ inputIds: [ids] });
    expect(maxAbsDiff(out.output, fp32.output)).toBeLessThan(0.1);
    await stock.dispose();
  });
});

describe('graphs the instrumentation does not understand', () => {
  it('refuses a graph whose Softmax count does not match the layers, saying what it found', () => {
    expect(() => instrumentModel(fs.readFileSync(onnxFile('fp32')), { layers: 6, heads: 12 }, pattern)).toThrow(
      /Found 2 Softmax node\(s\) where a DistilBERT export with 6 layers/,
    );
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'an ONNX graph the instrumentation does not understand (wrong number of attention Softmax nodes)',
      outcome: 'refused with a reason naming what was found; the user sees it as an invalid model',
    });
  });

  it('refuses a Softmax that does not feed a product with the values', () => {
    const model = decodeModel(fs.readFileSync(onnxFile('fp32')));
    const softmax = model.graph!.node!.find((node) => node.opType === 'Softmax')!;
    const consumer = model.graph!.node!.find((node) => node.input?.includes(softmax.output![0]!))!;
    consumer.opType = 'Relu';
    consumer.input = [softmax.output![0]!];
    expect(() => instrumentModel(encodeModel(model), { layers: 2, heads: 4 }, pattern)).toThrow(/does not feed a matrix product/);
  });

  it('refuses bytes that are not ONNX, and an instrumented graph', () => {
    expect(() => instrumentModel(new TextEncoder().encode('not a model at all'), { layers: 2, heads: 4 }, pattern)).toThrow(
      InstrumentationError,
    );
    const once = instrumentModel(fs.readFileSync(onnxFile('fp32')), { layers: 2, heads: 4 }, pattern).bytes;
    expect(() => instrumentModel(once, { layers: 2, heads: 4 }, pattern)).toThrow(/looks instrumented already/);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'bytes that are not ONNX in the model file; a graph instrumented twice',
      outcome: 'refused with “not a readable ONNX model” / “looks instrumented already”',
    });
  });
});

describe('instrumented model cache', () => {
  it('reuses the instrumented graph beside the original, and rebuilds it when the original changes', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-model-'));
    const original = path.join(copy, 'model.onnx');
    fs.copyFileSync(onnxFile('fp32'), original);
    const first = instrumentedModelFor(original, { layers: 2, heads: 4 }, pattern, storageDir, { headMask: false });
    expect(first.built).toBe(true);
    expect(path.dirname(first.path)).toBe(copy);
    expect(instrumentedModelFor(original, { layers: 2, heads: 4 }, pattern, storageDir, { headMask: false }).built).toBe(false);
    fs.utimesSync(original, new Date(), new Date(Date.now() + 5000));
    expect(instrumentedModelFor(original, { layers: 2, heads: 4 }, pattern, storageDir, { headMask: false }).built).toBe(true);
  });

  it('never writes through a symlink a model folder ships under a temporary name (hostile folder)', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-model-'));
    const original = path.join(copy, 'model.onnx');
    fs.copyFileSync(onnxFile('fp32'), original);
    const victim = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attn-victim-')), 'precious.txt');
    fs.writeFileSync(victim, 'keep me');
    // The names a predictable temporary file would have had (this process's pid, and a few others).
    const base = `model.attention-explorer-v${INSTRUMENTATION_VERSION}.onnx`;
    for (const suffix of [`tmp-${process.pid}`, 'tmp-1', 'tmp-0']) fs.symlinkSync(victim, path.join(copy, `${base}.${suffix}`));
    const result = instrumentedModelFor(original, { layers: 2, heads: 4 }, pattern, storageDir, { headMask: false });
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    expect(fs.lstatSync(result.path).isSymbolicLink()).toBe(false);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: "a model folder shipping symlinks under the instrumented graph's temporary names",
      outcome: 'the link targets are untouched: temporary files are opened exclusively (wx) under random names',
    });
  });

  it('falls back to the storage folder when the model folder is read-only, leaving no temporary file behind', () => {
    if (process.getuid?.() === 0) {
      // root writes through file modes; simulate an unwritable target with a folder where the graph would go.
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-model-'));
      const original = path.join(copy, 'model.onnx');
      fs.copyFileSync(onnxFile('fp32'), original);
      fs.mkdirSync(path.join(copy, `model.attention-explorer-v${INSTRUMENTATION_VERSION}.onnx`, 'occupied'), { recursive: true });
      const result = instrumentedModelFor(original, { layers: 2, heads: 4 }, pattern, storageDir, { headMask: false });
      expect(result.path.startsWith(path.join(storageDir, 'instrumented'))).toBe(true);
      expect(fs.readdirSync(copy).filter((name) => name.includes('.tmp-'))).toEqual([]);
      return;
    }
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-model-'));
    const original = path.join(copy, 'model.onnx');
    fs.copyFileSync(onnxFile('fp32'), original);
    fs.chmodSync(copy, 0o555);
    const result = instrumentedModelFor(original, { layers: 2, heads: 4 }, pattern, storageDir, { headMask: false });
    expect(result.path.startsWith(path.join(storageDir, 'instrumented'))).toBe(true);
  });
});

describe('Analyzer', () => {
  it('returns tokens, labels from id2label, probabilities and [layers, heads, n, n] attention', async () => {
    const analyzer = new Analyzer();
    const { result, attention } = await analyzer.analyze(request('fp32'), TEXT);
    const attentions = await allLayers(attention);
    expect(result.model).toMatchObject({ layers: 2, heads: 4, isTestModel: true, dtype: 'fp32', quantized: false });
    expect(result.model).toMatchObject({ family: 'distilbert', task: 'text-classification' });
    if (result.prediction.task !== 'text-classification') throw new Error('expected a text classification');
    expect(result.prediction.labels).toEqual(['NEGATIVE', 'POSITIVE']);
    expect(result.tokens.map((token) => token.id)).toEqual(ids);
    expect(result.prediction.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const n = ids.length;
    expect(attentions.map((layer) => layer.length)).toEqual([4 * n * n, 4 * n * n]);
    const expected = reference.forward(ids);
    expect(maxAbsDiff(concatenate(attentions), expected.attentions)).toBeLessThanOrEqual(1e-4);
    expect(result.timings.inferenceMs).toBeGreaterThan(0);
    await analyzer.dispose();
  });

  it('analyses 512 tokens of an over-long text (truncated, [SEP] kept)', async () => {
    const analyzer = new Analyzer();
    const { result, attention } = await analyzer.analyze(request('q8'), 'word '.repeat(700));
    const attentions = await allLayers(attention);
    expect(result.tokens).toHaveLength(512);
    expect(result.truncation?.keptTextTokens).toBe(510);
    expect(attentions.map((layer) => layer.length)).toEqual([4 * 512 * 512, 4 * 512 * 512]);
    await analyzer.dispose();
  });

  it('stops with a cancellation error when its signal is aborted', async () => {
    const analyzer = new Analyzer();
    const abort = new AbortController();
    abort.abort();
    await expect(analyzer.analyze(request('fp32'), TEXT, { signal: abort.signal })).rejects.toMatchObject({ code: 'cancelled' });
    await analyzer.dispose();
  });

  it('names what a model folder is missing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-empty-'));
    fs.copyFileSync(path.join(folder, 'config.json'), path.join(empty, 'config.json'));
    const analyzer = new Analyzer();
    await expect(analyzer.analyze({ ...request('fp32'), source: { kind: 'folder', folder: empty } }, TEXT)).rejects.toMatchObject({
      code: 'invalid-model',
      message: expect.stringMatching(/missing tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx/),
    });
  });
});

function request(dtype: ModelDtype): ModelRequest {
  return { source: { kind: 'folder', folder }, dtype, offline: true, storageDir };
}
