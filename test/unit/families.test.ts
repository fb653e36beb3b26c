/**
 * Every family × task on project-built tiny models (random weights, real tokenizers of the family's kind), against
 * independent references: the float64 TypeScript forward of the family (src/reference) reading model.safetensors,
 * and transformers.js's own pipeline for the task on the stock graph. Checked: the head's output and every attention
 * map (≤ 1e-4), attention rows summing to 1, offsets that slice the text, the prediction the task makes of the output,
 * head importance against the reference with that head zeroed (≤ 1e-4), and both the fp32 and the q8 graph loading.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { env, pipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analyzer } from '../../src/model/analyzer';
import { headImportance, maskWithout } from '../../src/model/explanations';
import { modelRequestKey, type ModelDtype, type ModelRequest } from '../../src/model/modelSource';
import { ReferenceBert, type BertConfig } from '../../src/reference/bert';
import type { ReferenceOutput } from '../../src/reference/checkpoint';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import { ENCODER_FAMILIES, ENCODER_TASKS, type EncoderFamilyId, type EncoderTaskId, type Prediction } from '../../src/shared/analysis';
import { argmax, maxAbsDiff, softmax } from '../support/numeric';
import { copyTestModel, ensureTestModel } from '../support/testModels';
import { allLayers } from '../../src/model/layerMaps';

const TEXTS: Record<EncoderTaskId, (mask: string) => string> = {
  'text-classification': () => 'The plot was dull, but the acting was wonderful.',
  'token-classification': () => 'Ada Lovelace met Charles Babbage in London in 1833.',
  'fill-mask': (mask) => `Paris is the ${mask} of France, and Rome is the ${mask} of Italy.`,
  'feature-extraction': () => 'A sentence to embed, with some words.',
};
const MASK: Record<EncoderFamilyId, string> = { distilbert: '[MASK]', bert: '[MASK]', roberta: '<mask>' };

interface Reference {
  forward(ids: ArrayLike<number>, attentionMask?: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput;
}

function referenceOf(folder: string, family: EncoderFamilyId): Reference {
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as DistilBertConfig & BertConfig;
  const weights = path.join(folder, 'model.safetensors');
  return family === 'distilbert' ? ReferenceDistilBert.load(weights, config) : ReferenceBert.load(weights, config);
}

const rowAt = (output: ArrayLike<number>, width: number, position: number) =>
  Array.from(output).slice(position * width, (position + 1) * width);

/** The probability the explanation watches, from a reference output: the label or top token at the target. */
function watched(task: EncoderTaskId, output: ReferenceOutput, position: number, label: number): number {
  if (task === 'text-classification') return softmax(output.output)[label]!;
  return softmax(rowAt(output.output, output.dims[1]!, position))[label]!;
}

const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-families-'));
const analyzer = new Analyzer();
afterAll(() => analyzer.dispose());

for (const family of ENCODER_FAMILIES) {
  for (const task of ENCODER_TASKS) {
    describe(`${family} × ${task}`, () => {
      let folder: string;
      let reference: Reference;
      const text = TEXTS[task](MASK[family]);
      const request = (dtype: ModelDtype): ModelRequest => ({ source: { kind: 'folder', folder }, dtype, offline: true, storageDir });

      beforeAll(() => {
        folder = ensureTestModel('tiny', 42, ['fp32', 'q8'], { family, task });
        reference = referenceOf(folder, family);
      });

      it('fp32: the head output and every attention map equal the reference (≤ 1e-4); rows sum to 1; offsets slice the text', async () => {
        const { result, attention, output } = await analyzer.analyze(request('fp32'), text);
        const attentions = await allLayers(attention);
        expect(result.model).toMatchObject({ family, task, isTestModel: true, quantized: false });
        const ids = result.tokens.map((token) => token.id);
        const expected = reference.forward(ids);
        expect(maxAbsDiff(output, expected.output)).toBeLessThanOrEqual(1e-4);
        const n = ids.length;
        const { layers, heads } = result.model;
        expect(attentions).toHaveLength(layers);
        const all = new Float32Array(layers * heads * n * n);
        attentions.forEach((layer, index) => all.set(layer, index * heads * n * n));
        expect(maxAbsDiff(all, expected.attentions)).toBeLessThanOrEqual(1e-4);
        for (let row = 0; row < layers * heads * n; row += 1) {
          expect(Math.abs(all.subarray(row * n, (row + 1) * n).reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-5);
        }
        let previousEnd = 0;
        for (const token of result.tokens.filter((candidate) => !candidate.special)) {
          expect(token.start).toBeGreaterThanOrEqual(previousEnd);
          expect(token.end).toBeGreaterThan(token.start);
          expect(token.end).toBeLessThanOrEqual(text.length);
          const slice = text.slice(token.start, token.end);
          // The token's text, as its tokenizer writes it: lower-cased word pieces, or byte-level with Ġ for a space.
          const written = family === 'roberta' ? token.text.replace(/^Ġ/, '') : token.text.replace(/^##/, '');
          // Added tokens ([MASK], <mask>) are matched as written.
          expect(family === 'roberta' || slice === written ? slice : slice.toLowerCase()).toBe(written);
          previousEnd = token.end;
        }
        expect(result.tokens[0]!.special && result.tokens.at(-1)!.special).toBe(true);
        expectPrediction(
          result.prediction,
          expected,
          result.tokens.map((token) => token.special),
        );
      });

      it("the prediction is the one transformers.js's pipeline for the task makes of the stock graph", async () => {
        env.allowRemoteModels = false;
        env.allowLocalModels = true;
        env.localModelPath = path.dirname(folder) + path.sep;
        const { result } = await analyzer.analyze(request('fp32'), text);
        const prediction = result.prediction;
        const model = path.basename(folder);
        switch (prediction.task) {
          case 'text-classification': {
            const classifier = await pipeline('text-classification', model, { dtype: 'fp32' });
            const scores = (await classifier(text, { top_k: null })) as Array<{ label: string; score: number }>;
            expect(scores).toHaveLength(prediction.labels.length);
            for (const { label, score } of scores)
              expect(Math.abs(prediction.probabilities[prediction.labels.indexOf(label)]! - score)).toBeLessThanOrEqual(1e-5);
            await classifier.dispose();
            break;
          }
          case 'token-classification': {
            const tagger = await pipeline('token-classification', model, { dtype: 'fp32' });
            const tokens = (await tagger(text, { ignore_labels: [] })) as Array<{ entity: string; score: number; index: number }>;
            for (const entry of tokens) {
              expect(prediction.labels[prediction.tokens[entry.index]!.label]).toBe(entry.entity);
              expect(Math.abs(prediction.tokens[entry.index]!.probability - entry.score)).toBeLessThanOrEqual(1e-5);
            }
            const groups = (await tagger(text, { aggregation_strategy: 'simple' } as never)) as unknown as Array<{
              entity_group: string;
              score: number;
              word: string;
            }>;
            expect(prediction.entities.map((entity) => entity.label)).toEqual(groups.map((group) => group.entity_group));
            expect(prediction.entities.map((entity) => entity.word)).toEqual(groups.map((group) => group.word));
            prediction.entities.forEach((entity, index) => expect(Math.abs(entity.score - groups[index]!.score)).toBeLessThanOrEqual(1e-5));
            await tagger.dispose();
            break;
          }
          case 'fill-mask': {
            const unmasker = await pipeline('fill-mask', model, { dtype: 'fp32' });
            // transformers.js fills the first mask only; ours fills every mask.
            const top = (await unmasker(text, { top_k: 5 })) as Array<{ score: number; token: number; token_str: string }>;
            expect(prediction.masks).toHaveLength(2);
            expect(prediction.masks[0]!.top.map((candidate) => candidate.id)).toEqual(top.map((entry) => entry.token));
            expect(prediction.masks[0]!.top.map((candidate) => candidate.token)).toEqual(top.map((entry) => entry.token_str));
            prediction.masks[0]!.top.forEach((candidate, index) =>
              expect(Math.abs(candidate.probability - top[index]!.score)).toBeLessThanOrEqual(1e-5),
            );
            await unmasker.dispose();
            break;
          }
          case 'feature-extraction': {
            const extractor = await pipeline('feature-extraction', model, { dtype: 'fp32' });
            const pooled = (await extractor(text, { pooling: 'mean' })) as unknown as { data: Float32Array };
            expect(prediction.dimensions).toBe(pooled.data.length);
            expect(Math.abs(prediction.norm - Math.hypot(...pooled.data))).toBeLessThanOrEqual(1e-4);
            await extractor.dispose();
            break;
          }
        }
      });

      it('q8: the quantized graph loads and is instrumented; rows sum to 1; its output is close to fp32', async () => {
        const { result, attention, output } = await analyzer.analyze(request('q8'), text);
        const attentions = await allLayers(attention);
        expect(result.model.quantized).toBe(true);
        const n = result.tokens.length;
        for (const layer of attentions) {
          for (let row = 0; row < layer.length / n; row += 1)
            expect(Math.abs(layer.subarray(row * n, (row + 1) * n).reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(1e-5);
        }
        const { output: fp32 } = await analyzer.analyze(request('fp32'), text);
        const scale = fp32.reduce((max, value) => Math.max(max, Math.abs(value)), 0);
        expect(maxAbsDiff(output, fp32) / scale).toBeLessThan(0.1);
      });

      if (task !== 'feature-extraction') {
        it('head importance: Δ of the explained probability with each head off equals the reference with that head zeroed (≤ 1e-4)', async () => {
          const { result } = await analyzer.analyze(request('fp32'), text);
          const explainer = await analyzer.explainer(modelRequestKey(request('fp32')));
          // Token classification: the second text token (the user's pick); fill-mask: the second mask.
          const position =
            task === 'token-classification'
              ? 2
              : task === 'fill-mask' && result.prediction.task === 'fill-mask'
                ? result.prediction.masks[1]!.index
                : undefined;
          const ids = result.tokens.map((token) => token.id);
          const options = explainer.options(result.tokens, position);
          const importance = await headImportance(explainer.chain, ids, options);
          expect(importance.position).toBe(position ?? 0);
          const base = reference.forward(ids);
          // The label (or, for fill-mask, the vocabulary id) the explanation watches.
          const label =
            task === 'fill-mask' && result.prediction.task === 'fill-mask'
              ? result.prediction.masks[1]!.top[importance.label]!.id
              : importance.label;
          const before = watched(task, base, importance.position, label);
          expect(Math.abs(importance.probabilities[importance.label]! - before)).toBeLessThanOrEqual(1e-5);
          const { layers, heads } = result.model;
          let moved = 0;
          for (let layer = 0; layer < layers; layer += 1) {
            for (let head = 0; head < heads; head += 1) {
              const after = watched(
                task,
                reference.forward(ids, undefined, maskWithout(layers, heads, [{ layer, head }])),
                importance.position,
                label,
              );
              expect(Math.abs(importance.deltas[layer]![head]! - (after - before))).toBeLessThanOrEqual(1e-4);
              if (Math.abs(after - before) > 1e-4) moved += 1;
            }
          }
          expect(moved, 'switching heads off moves the explained probability').toBeGreaterThan(0);
        });
      }
    });
  }
}

/** The task's post-processing, recomputed from the reference's output. */
function expectPrediction(prediction: Prediction, expected: ReferenceOutput, special: boolean[]): void {
  switch (prediction.task) {
    case 'text-classification':
      expect(maxAbsDiff(prediction.logits, expected.output)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(prediction.probabilities, softmax(expected.output))).toBeLessThanOrEqual(1e-5);
      break;
    case 'token-classification': {
      const width = expected.dims[1]!;
      prediction.tokens.forEach((entry, index) => {
        if (special[index]) return expect(entry.label).toBe(-1);
        const probabilities = softmax(rowAt(expected.output, width, index));
        expect(entry.label).toBe(argmax(probabilities));
        expect(Math.abs(entry.probability - probabilities[entry.label]!)).toBeLessThanOrEqual(1e-5);
      });
      break;
    }
    case 'fill-mask': {
      const width = expected.dims[1]!;
      for (const mask of prediction.masks) {
        const probabilities = softmax(rowAt(expected.output, width, mask.index));
        const top = probabilities
          .map((probability, id) => ({ id, probability }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, 5);
        expect(mask.top.map((candidate) => candidate.id)).toEqual(top.map((candidate) => candidate.id));
        mask.top.forEach((candidate, index) => expect(Math.abs(candidate.probability - top[index]!.probability)).toBeLessThanOrEqual(1e-5));
      }
      break;
    }
    case 'feature-extraction': {
      const [n, width] = expected.dims as [number, number];
      const pooled = Array.from(
        { length: width },
        (_, feature) => Array.from({ length: n }, (_, token) => expected.output[token * width + feature]!).reduce((a, b) => a + b, 0) / n,
      );
      expect(prediction.dimensions).toBe(width);
      expect(Math.abs(prediction.norm - Math.hypot(...pooled))).toBeLessThanOrEqual(1e-4);
      break;
    }
  }
}

describe('models the families do not read', () => {
  const refusal = async (config: Record<string, unknown>, onnxFrom?: string) => {
    const folder = copyTestModel(
      ensureTestModel('tiny', 42, ['fp32'], { family: 'bert', task: 'text-classification' }),
      fs.mkdtempSync(path.join(os.tmpdir(), 'attn-refused-')),
      { editConfig: (base) => ({ ...base, ...config }), ...(onnxFrom ? { onnxFrom } : {}) },
    );
    const fresh = new Analyzer();
    try {
      await fresh.analyze({ source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir }, 'Some text.');
      return undefined;
    } catch (error) {
      return error as { code: string; message: string };
    } finally {
      await fresh.dispose();
    }
  };

  it('a seq2seq (or any other) config is refused naming its model_type and architectures', async () => {
    const error = await refusal({ model_type: 't5', architectures: ['T5ForConditionalGeneration'] });
    expect(error?.code).toBe('invalid-model');
    expect(error?.message).toMatch(/model_type "t5" with architectures T5ForConditionalGeneration/);
    expect(error?.message).toMatch(/distilbert, bert, electra, roberta, xlm-roberta, camembert, gpt2, llama, qwen2, qwen3/);
  });

  it('an encoder architecture without a supported head is refused naming its architectures', async () => {
    const error = await refusal({ architectures: ['BertForQuestionAnswering'] });
    expect(error?.message).toMatch(/BertForQuestionAnswering/);
  });

  it('a graph that does not match its config is refused, saying what was found', async () => {
    const error = await refusal({ num_hidden_layers: 6 });
    expect(error?.code).toBe('invalid-model');
    expect(error?.message).toMatch(/Found 2 Softmax node\(s\) where a BERT export with 6 layers/);
  });
});

describe('a multi-label text classifier (problem_type multi_label_classification)', () => {
  it('scores each label by its own sigmoid, as the reference and transformers.js do', async () => {
    const folder = ensureTestModel('tiny', 42, ['fp32'], { family: 'roberta', task: 'text-classification', multiLabel: true });
    const text = 'Great acting, awful plot.';
    const { result } = await analyzer.analyze({ source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir }, text);
    if (result.prediction.task !== 'text-classification') throw new Error('expected a text classification');
    expect(result.prediction.multiLabel).toBe(true);
    const expected = referenceOf(folder, 'roberta').forward(result.tokens.map((token) => token.id)).output;
    const sigmoid = Array.from(expected, (logit) => 1 / (1 + Math.exp(-logit)));
    expect(maxAbsDiff(result.prediction.probabilities, sigmoid)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(result.prediction.probabilities.reduce((a, b) => a + b, 0) - 1)).toBeGreaterThan(1e-3);
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(folder) + path.sep;
    const classifier = await pipeline('text-classification', path.basename(folder), { dtype: 'fp32' });
    const scores = (await classifier(text, { top_k: null })) as Array<{ label: string; score: number }>;
    for (const { label, score } of scores)
      expect(Math.abs(result.prediction.probabilities[result.prediction.labels.indexOf(label)]! - score)).toBeLessThanOrEqual(1e-5);
    await classifier.dispose();
  });
});
