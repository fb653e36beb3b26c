/**
 * Decoder language models (GPT-2, Llama, Qwen2, Qwen3) in both graph styles (optimum's unfused export, GPT-2's
 * If-merged decoder, onnxruntime-genai's fused GroupQueryAttention), on project-built tiny models with the families'
 * real tokenizers, against the independent float64 references in src/reference reading model.safetensors: the
 * next-token logits (≤ 1e-3 relative), every attention map (≤ 1e-4) with its upper triangle exactly 0, each token's
 * probability, greedy generation with the key/value cache (every token and each step's attention row against a full
 * reference forward of the longer text), seeded sampling that repeats, and head importance against the reference
 * with that head zeroed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analyzer } from '../../src/model/analyzer';
import { decodeModel, encodeModel } from '../../src/model/onnx/graph';
import { headImportance } from '../../src/model/explanations';
import { modelRequestKey, type ModelDtype, type ModelRequest } from '../../src/model/modelSource';
import type { ReferenceOutput } from '../../src/reference/checkpoint';
import { ReferenceGpt2, type Gpt2Config } from '../../src/reference/gpt2';
import { ReferenceLlama, type LlamaConfig } from '../../src/reference/llama';
import type { DecoderFamilyId } from '../../src/shared/analysis';
import { argmax, maxAbsDiff, softmax } from '../support/numeric';
import { DECODER_VARIANTS, ensureTestModel } from '../support/testModels';
import { allLayers } from '../../src/model/layerMaps';

const TEXT = 'def área(r):\n    return 3.14 * r ** 2  # π r² 🙂';

interface Reference {
  forward(ids: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput;
}

function referenceOf(folder: string, family: DecoderFamilyId): Reference {
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Gpt2Config & LlamaConfig;
  const weights = path.join(folder, 'model.safetensors');
  return family === 'gpt2' ? ReferenceGpt2.load(weights, config) : ReferenceLlama.load(weights, config);
}

const maxAbs = (values: ArrayLike<number>) => Array.from(values).reduce((worst, value) => Math.max(worst, Math.abs(value)), 0);
const lastRow = (output: ReferenceOutput) => {
  const vocab = output.dims.at(-1)!;
  return output.output.subarray(output.output.length - vocab);
};
const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-decoders-'));
const analyzer = new Analyzer();
afterAll(() => analyzer.dispose());

for (const variant of DECODER_VARIANTS) {
  const name = `${variant.family} ${variant.merged ? 'merged' : variant.attention}`;
  describe(name, () => {
    let folder: string;
    let reference: Reference;
    const request = (dtype: ModelDtype = 'fp32'): ModelRequest => ({
      source: { kind: 'folder', folder },
      dtype,
      offline: true,
      storageDir,
    });

    beforeAll(() => {
      folder = ensureTestModel('tiny', 42, ['fp32', 'q4'], variant);
      reference = referenceOf(folder, variant.family);
    });

    it('next-token logits, every causal attention map and each token’s probability equal the reference; offsets slice the text', async () => {
      const { result, attention, output } = await analyzer.analyze(request(), TEXT);
      const attentions = await allLayers(attention);
      expect(result.model).toMatchObject({ family: variant.family, task: 'text-generation', causal: true, isTestModel: true });
      const ids = result.tokens.map((token) => token.id);
      const n = ids.length;
      const expected = reference.forward(ids);
      const expectedLast = lastRow(expected);
      expect(maxAbsDiff(output, expectedLast) / maxAbs(expectedLast)).toBeLessThanOrEqual(1e-3);
      const { layers, heads, kvHeads } = result.model;
      expect(heads % kvHeads).toBe(0);
      const all = new Float32Array(layers * heads * n * n);
      attentions.forEach((layer, index) => all.set(layer, index * heads * n * n));
      expect(maxAbsDiff(all, expected.attentions)).toBeLessThanOrEqual(1e-4);
      for (let row = 0; row < layers * heads * n; row += 1) {
        const query = row % n;
        const values = all.subarray(row * n, (row + 1) * n);
        // The future is exactly 0, not a small number: the maps' upper triangle is empty.
        for (let key = query + 1; key < n; key += 1) expect(values[key]).toBe(0);
        expect(Math.abs(values.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-5);
      }
      const prediction = result.prediction;
      if (prediction.task !== 'text-generation') throw new Error('expected a text-generation prediction');
      const probabilities = softmax(expectedLast);
      expect(prediction.next).toHaveLength(10);
      expect(prediction.next[0]!.id).toBe(argmax(expectedLast));
      for (const candidate of prediction.next)
        expect(Math.abs(candidate.probability - probabilities[candidate.id]!)).toBeLessThanOrEqual(1e-5);
      const vocab = expected.dims.at(-1)!;
      for (let index = 1; index < n; index += 1) {
        const row = softmax(expected.output.subarray((index - 1) * vocab, index * vocab));
        expect(Math.abs(prediction.tokenProbabilities[index]! - row[ids[index]!]!)).toBeLessThanOrEqual(1e-5);
        expect(prediction.expected[index]!.id).toBe(argmax(row));
      }
      expect(prediction.tokenProbabilities[0]).toBe(-1);
      // Byte-level offsets: in order, inside the text, together covering every character.
      const covered = new Uint8Array(TEXT.length);
      let previousStart = 0;
      for (const token of result.tokens.filter((candidate) => !candidate.special)) {
        expect(token.start).toBeGreaterThanOrEqual(previousStart);
        expect(token.end).toBeGreaterThan(token.start);
        expect(token.end).toBeLessThanOrEqual(TEXT.length);
        covered.fill(1, token.start, token.end);
        previousStart = token.start;
      }
      expect(Array.from(covered).every((flag) => flag === 1)).toBe(true);
      expect(result.exactOffsets).toBe(true);
    });

    it('greedy generation with the cache: each token and its attention row equal a full reference forward of the longer text', async () => {
      const { result } = await analyzer.analyze(request(), TEXT);
      const ids = result.tokens.map((token) => token.id);
      const generation = await analyzer.generate(modelRequestKey(request()), ids, { temperature: 0, seed: 0 });
      const { layers, heads } = result.model;
      const sequence = [...ids];
      for (let step = 0; step < 3; step += 1) {
        const generated = await generation.step();
        expect(generated).toBeDefined();
        const expected = reference.forward(sequence);
        const last = lastRow(expected);
        expect(generated!.id).toBe(argmax(last));
        expect(Math.abs(generated!.probability - softmax(last)[generated!.id]!)).toBeLessThanOrEqual(1e-5);
        const positions = sequence.length;
        expect(generated!.attention).toHaveLength(layers);
        for (let layer = 0; layer < layers; layer += 1) {
          expect(generated!.attention[layer]).toHaveLength(heads * positions);
          for (let head = 0; head < heads; head += 1) {
            const offset = ((layer * heads + head) * positions + positions - 1) * positions;
            const expectedRow = expected.attentions.subarray(offset, offset + positions);
            expect(
              maxAbsDiff(generated!.attention[layer]!.subarray(head * positions, (head + 1) * positions), expectedRow),
            ).toBeLessThanOrEqual(1e-4);
          }
        }
        sequence.push(generated!.id);
      }
      expect(generation.ids).toEqual(sequence.slice(ids.length));
    });

    it('sampling with a seed repeats exactly; another seed may differ', async () => {
      const { result } = await analyzer.analyze(request(), TEXT);
      const ids = result.tokens.map((token) => token.id);
      const run = async (seed: number) => {
        const generation = await analyzer.generate(modelRequestKey(request()), ids, { temperature: 1.5, seed });
        for (let step = 0; step < 4; step += 1) await generation.step();
        return generation.ids;
      };
      const first = await run(7);
      expect(await run(7)).toEqual(first);
      expect(first).toHaveLength(4);
    });

    it('head importance for the next token equals the reference with that head zeroed (≤ 1e-4)', async () => {
      const { result } = await analyzer.analyze(request(), TEXT);
      const ids = result.tokens.map((token) => token.id);
      const explainer = await analyzer.explainer(modelRequestKey(request()));
      const importance = await headImportance(explainer.chain, ids, explainer.options(result.tokens, undefined));
      const { layers, heads } = result.model;
      const plain = softmax(lastRow(reference.forward(ids)));
      const top = argmax(plain);
      expect(importance.labels[importance.label]).toBe(
        result.prediction.task === 'text-generation' ? result.prediction.next[0]!.token : '',
      );
      for (let layer = 0; layer < layers; layer += 1) {
        for (let head = 0; head < heads; head += 1) {
          const mask = new Float64Array(layers * heads).fill(1);
          mask[layer * heads + head] = 0;
          const ablated = softmax(lastRow(reference.forward(ids, mask)));
          expect(Math.abs(importance.deltas[layer]![head]! - (ablated[top]! - plain[top]!))).toBeLessThanOrEqual(1e-4);
        }
      }
    });

    for (const dtype of ['q4', 'q8'] as const) {
      it(`the ${dtype} graph (${dtype === 'q4' ? 'MatMulNBits' : 'MatMulInteger'}) runs: causal rows that sum to 1, close to fp32; its head sweep matches row by row`, async () => {
        if (dtype === 'q8') ensureTestModel('tiny', 42, ['q8'], variant);
        const { result, attention, output } = await analyzer.analyze(request(dtype), TEXT);
        const attentions = await allLayers(attention);
        expect(result.model.quantized).toBe(true);
        const n = result.tokens.length;
        for (const layer of attentions) {
          for (let row = 0; row < layer.length / n; row += 1) {
            const values = layer.subarray(row * n, (row + 1) * n);
            for (let key = (row % n) + 1; key < n; key += 1) expect(values[key]).toBe(0);
            expect(Math.abs(values.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-4);
          }
        }
        // Quantized weights move the logits (tiny random models quantize badly): a sanity bound, not a precision claim.
        const expected = lastRow(reference.forward(result.tokens.map((token) => token.id)));
        expect(maxAbsDiff(output, expected) / maxAbs(expected)).toBeLessThanOrEqual(0.5);
        // A batched sweep equals single runs with the same mask (8-bit graphs run their rows one by one).
        const key = modelRequestKey(request(dtype));
        const explainer = await analyzer.explainer(key);
        const ids = result.tokens.map((token) => token.id);
        const importance = await headImportance(explainer.chain, ids, explainer.options(result.tokens, undefined));
        const { layers, heads } = result.model;
        const mask = new Float32Array(layers * heads).fill(1);
        mask[heads + 1] = 0;
        const [plain, single] = await explainer.chain.outputs([{ ids }, { ids, headMask: mask }]);
        const [alone] = await explainer.chain.outputs([{ ids, headMask: mask }]);
        expect(maxAbsDiff(single!, alone!)).toBeLessThanOrEqual(1e-5);
        const top = argmax(plain!);
        expect(Math.abs(importance.deltas[1]![1]! - (softmax(alone!)[top]! - softmax(plain!)[top]!))).toBeLessThanOrEqual(1e-5);
      });
    }
  });
}

describe('decoder refusals', () => {
  it('a fused attention operator whose probabilities cannot be read is refused by name', async () => {
    const fused = ensureTestModel('tiny', 42, ['fp32'], { family: 'llama', attention: 'fused' });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-mha-'));
    for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      fs.copyFileSync(path.join(fused, file), path.join(folder, file));
    const model = decodeModel(fs.readFileSync(path.join(fused, 'onnx', 'model.onnx')));
    for (const node of model.graph!.node!) if (node.opType === 'GroupQueryAttention') node.opType = 'MultiHeadAttention';
    fs.mkdirSync(path.join(folder, 'onnx'));
    fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), encodeModel(model));
    const error = await analyzer
      .analyze({ source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir }, 'x')
      .catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/fused com\.microsoft\.MultiHeadAttention node.*GroupQueryAttention.*unfused/);
  });

  it('a float16 dtype is refused with the dtypes that work', async () => {
    const folder = ensureTestModel('tiny', 42, ['fp32'], { family: 'qwen3' });
    const error = await analyzer
      .analyze({ source: { kind: 'folder', folder }, dtype: 'fp16', offline: true, storageDir }, 'x')
      .catch((caught: unknown) => caught);
    expect(String(error)).toMatch(/fp16.*float16.*fp32, q8, int8, uint8, q4 or bnb4/);
  });
});
