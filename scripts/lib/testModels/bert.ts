/**
 * BERT and RoBERTa test models, shaped as the transformers.js (optimum, eager attention) exports on the hub:
 *
 * - embeddings: word + token type + position, then layer norm. BERT's positions are 0…n−1 and its token types an
 *   input; RoBERTa's positions are computed from the ids (`cumsum(ids ≠ pad) · (ids ≠ pad) + pad`) and its single
 *   token type is segment 0;
 * - the extended mask built once, `(1 − mask) · float32.min`, added to every layer's scores;
 * - per layer: Q·Kᵀ, divided by √d after the product, + mask, Softmax, ×V; dense + residual + layer norm;
 *   intermediate dense, exact GELU, output dense + residual + layer norm;
 * - the task head: BERT's pooler (tanh) and classifier, or RoBERTa's classifier (dense, tanh, out_proj) on the first
 *   token; a classifier on every token; the masked-LM head tied to the word embeddings; or the last hidden state.
 *
 * Hugging Face's parameter names: `bert.` / `roberta.` prefixes for task models, none for a base model (as a
 * sentence-transformers checkpoint has them); the tied decoder is not stored.
 */
import { DataType, valueInfo, type onnx } from '../../../src/model/onnx/graph';
import type { NamedTensor } from '../../../src/reference/safetensors';
import type { EncoderSizes, HeadSpec } from './encoderShapes';
import { GraphBuilder, type TestModelDtype } from './graphBuilder';
import { WeightWriter } from './weights';

/** What differs between the two families' graphs and checkpoints. */
export interface BertStyle {
  family: 'bert' | 'roberta';
  /** Position embeddings in the checkpoint (RoBERTa: 512 tokens + the padding index + 1). */
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
}

export const BERT_STYLE: BertStyle = { family: 'bert', maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0 };
export const ROBERTA_STYLE: BertStyle = { family: 'roberta', maxPositions: 514, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1 };

function prefixOf(style: BertStyle, head: HeadSpec): string {
  return head.task === 'feature-extraction' ? '' : `${style.family}.`;
}

export function bertWeights(
  style: BertStyle,
  sizes: EncoderSizes,
  vocabSize: number,
  head: HeadSpec,
  seed: number,
): Array<[string, NamedTensor]> {
  const { hidden, intermediate, layers, weightStd } = sizes;
  const writer = new WeightWriter(seed, weightStd);
  const base = prefixOf(style, head);
  writer.embedding(`${base}embeddings.word_embeddings.weight`, vocabSize, hidden);
  writer.embedding(`${base}embeddings.position_embeddings.weight`, style.maxPositions, hidden);
  writer.embedding(`${base}embeddings.token_type_embeddings.weight`, style.typeVocabSize, hidden);
  writer.norm(`${base}embeddings.LayerNorm`, hidden);
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `${base}encoder.layer.${layer}`;
    for (const projection of ['query', 'key', 'value']) writer.linear(`${prefix}.attention.self.${projection}`, hidden, hidden);
    writer.linear(`${prefix}.attention.output.dense`, hidden, hidden);
    writer.norm(`${prefix}.attention.output.LayerNorm`, hidden);
    writer.linear(`${prefix}.intermediate.dense`, intermediate, hidden);
    writer.linear(`${prefix}.output.dense`, hidden, intermediate);
    writer.norm(`${prefix}.output.LayerNorm`, hidden);
  }
  switch (head.task) {
    case 'text-classification':
      if (style.family === 'bert') {
        writer.linear(`${base}pooler.dense`, hidden, hidden);
        writer.linear('classifier', head.labels, hidden);
      } else {
        writer.linear('classifier.dense', hidden, hidden);
        writer.linear('classifier.out_proj', head.labels, hidden);
      }
      break;
    case 'token-classification':
      writer.linear('classifier', head.labels, hidden);
      break;
    case 'fill-mask':
      if (style.family === 'bert') {
        writer.linear('cls.predictions.transform.dense', hidden, hidden);
        writer.norm('cls.predictions.transform.LayerNorm', hidden);
        writer.bias('cls.predictions.bias', vocabSize);
      } else {
        writer.linear('lm_head.dense', hidden, hidden);
        writer.norm('lm_head.layer_norm', hidden);
        writer.bias('lm_head.bias', vocabSize);
      }
      break;
    case 'feature-extraction':
      break;
  }
  return writer.entries;
}

export function bertGraph(
  style: BertStyle,
  sizes: EncoderSizes,
  weights: Map<string, NamedTensor>,
  head: HeadSpec,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  const g = new GraphBuilder(weights, dtype);
  const { hidden: width, heads, layers } = sizes;
  const headDim = width / heads;
  const base = prefixOf(style, head);
  const scopeBase = head.task === 'feature-extraction' ? '' : `/${style.family}`;
  const eps = style.layerNormEps;
  g.keepByName(
    [...weights.keys()].filter(
      (name) => name.endsWith('.bias') || name.includes('LayerNorm') || name.includes('layer_norm') || name.includes('embeddings'),
    ),
  );

  const zero = g.int64('/Constant_zero', [0], []);
  const one = g.int64('/Constant_one', [1], []);
  const axis0 = g.int64('/Constant_axes0', [0]);
  const axis1 = g.int64('/Constant_axes1', [1]);
  const maskAxes = g.int64('/Constant_mask_axes', [1, 2]);
  const splitShape = g.int64('/Constant_split_shape', [0, 0, heads, headDim]);
  const mergeShape = g.int64('/Constant_merge_shape', [0, 0, width]);
  const oneFloat = g.float('/Constant_one_f', 1);
  const floatMin = g.float('/Constant_float_min', -3.4028234663852886e38);
  const scoreScale = g.float('/Constant_sqrt_head_dim', Math.sqrt(headDim));

  // Embeddings.
  const words = g.one(
    'Gather',
    [`${base}embeddings.word_embeddings.weight`, 'input_ids'],
    `${scopeBase}/embeddings/word_embeddings/Gather`,
  );
  let positions: string;
  let types: string;
  if (style.family === 'bert') {
    const positionIds = g.int64(
      `${base}embeddings.position_ids`,
      Array.from({ length: style.maxPositions }, (_, index) => index),
      [1, style.maxPositions],
    );
    const sequenceLength = g.one(
      'Gather',
      [g.one('Shape', ['input_ids'], `${scopeBase}/embeddings/Shape`), one],
      `${scopeBase}/embeddings/Gather`,
      { axis: 0 },
    );
    const end = g.one('Unsqueeze', [sequenceLength, axis0], `${scopeBase}/embeddings/Unsqueeze`);
    positions = g.one('Slice', [positionIds, g.int64('/Constant_start0', [0]), end, axis1], `${scopeBase}/embeddings/Slice`);
    types = g.one(
      'Gather',
      [`${base}embeddings.token_type_embeddings.weight`, 'token_type_ids'],
      `${scopeBase}/embeddings/token_type_embeddings/Gather`,
    );
  } else {
    // create_position_ids_from_input_ids: real tokens get padding_idx + 1, + 2, …; padding keeps padding_idx.
    const pad = g.int64('/Constant_pad', [style.padTokenId], []);
    const real = g.one(
      'Cast',
      [g.one('Not', [g.one('Equal', ['input_ids', pad], `${scopeBase}/embeddings/Equal`)], `${scopeBase}/embeddings/Not`)],
      `${scopeBase}/embeddings/Cast`,
      { to: DataType.INT64 },
    );
    const counted = g.one('CumSum', [real, g.int64('/Constant_cumsum_axis', [1], [])], `${scopeBase}/embeddings/CumSum`);
    positions = g.one('Add', [g.one('Mul', [counted, real], `${scopeBase}/embeddings/Mul`), pad], `${scopeBase}/embeddings/Add`);
    // The single token type: segment 0's embedding, broadcast to every token.
    types = g.one(
      'Gather',
      [`${base}embeddings.token_type_embeddings.weight`, zero],
      `${scopeBase}/embeddings/token_type_embeddings/Gather`,
    );
  }
  const positional = g.one(
    'Gather',
    [`${base}embeddings.position_embeddings.weight`, positions],
    `${scopeBase}/embeddings/position_embeddings/Gather`,
  );
  const summed = g.one('Add', [g.one('Add', [words, types], `${scopeBase}/embeddings/Add_1`), positional], `${scopeBase}/embeddings/Add_2`);
  let hidden = g.layerNorm(summed, `${base}embeddings.LayerNorm`, `${scopeBase}/embeddings/LayerNorm`, eps);

  // get_extended_attention_mask: (1 − mask[:, None, None, :]) · float32.min, once for every layer.
  const expanded = g.one('Cast', [g.one('Unsqueeze', ['attention_mask', maskAxes], `${scopeBase}/Unsqueeze`)], `${scopeBase}/Cast`, {
    to: DataType.FLOAT,
  });
  const extendedMask = g.one('Mul', [g.one('Sub', [oneFloat, expanded], `${scopeBase}/Sub`), floatMin], `${scopeBase}/Mul`);

  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `${base}encoder.layer.${layer}`;
    const scope = `${scopeBase}/encoder/layer.${layer}/attention/self`;
    const toHeads = (x: string, name: string, perm: number[]) =>
      g.one('Transpose', [g.one('Reshape', [x, splitShape], `${scope}/Reshape${name}`)], `${scope}/Transpose${name}`, { perm });
    const q = toHeads(g.linear(hidden, `${prefix}.attention.self.query`, `${scope}/query`), '', [0, 2, 1, 3]);
    const kT = toHeads(g.linear(hidden, `${prefix}.attention.self.key`, `${scope}/key`), '_1', [0, 2, 3, 1]);
    const v = toHeads(g.linear(hidden, `${prefix}.attention.self.value`, `${scope}/value`), '_2', [0, 2, 1, 3]);
    const scores = g.one('Div', [g.one('MatMul', [q, kT], `${scope}/MatMul`), scoreScale], `${scope}/Div`);
    const probabilities = g.one('Softmax', [g.one('Add', [scores, extendedMask], `${scope}/Add`)], `${scope}/Softmax`, { axis: -1 });
    const context = g.one('MatMul', [probabilities, v], `${scope}/MatMul_1`);
    const merged = g.one(
      'Reshape',
      [g.one('Transpose', [context], `${scope}/Transpose_3`, { perm: [0, 2, 1, 3] }), mergeShape],
      `${scope}/Reshape_3`,
    );
    const layerScope = `${scopeBase}/encoder/layer.${layer}`;
    const attended = g.linear(merged, `${prefix}.attention.output.dense`, `${layerScope}/attention/output/dense`);
    const attentionOut = g.layerNorm(
      g.one('Add', [attended, hidden], `${layerScope}/attention/output/Add`),
      `${prefix}.attention.output.LayerNorm`,
      `${layerScope}/attention/output/LayerNorm`,
      eps,
    );
    const intermediate = g.gelu(
      g.linear(attentionOut, `${prefix}.intermediate.dense`, `${layerScope}/intermediate/dense`),
      `${layerScope}/intermediate/intermediate_act_fn`,
    );
    const output = g.linear(intermediate, `${prefix}.output.dense`, `${layerScope}/output/dense`);
    hidden = g.layerNorm(
      g.one('Add', [output, attentionOut], `${layerScope}/output/Add`),
      `${prefix}.output.LayerNorm`,
      `${layerScope}/output/LayerNorm`,
      eps,
    );
  }

  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']),
  ];
  if (style.family === 'bert') inputs.push(valueInfo('token_type_ids', DataType.INT64, ['batch_size', 'sequence_length']));
  const vocab = weights.get(`${base}embeddings.word_embeddings.weight`)!.shape[0]!;
  switch (head.task) {
    case 'text-classification': {
      const first = g.one('Gather', [hidden, zero], `${scopeBase}/Gather`, { axis: 1 });
      const logits =
        style.family === 'bert'
          ? g.linear(
              g.one('Tanh', [g.linear(first, `${base}pooler.dense`, `${scopeBase}/pooler/dense`)], `${scopeBase}/pooler/activation/Tanh`),
              'classifier',
              '/classifier',
            )
          : g.linear(
              g.one('Tanh', [g.linear(first, 'classifier.dense', '/classifier/dense')], '/classifier/Tanh'),
              'classifier.out_proj',
              '/classifier/out_proj',
            );
      return g.model(inputs, { tensor: logits, name: 'logits', shape: ['batch_size', head.labels] }, version);
    }
    case 'token-classification':
      return g.model(
        inputs,
        { tensor: g.linear(hidden, 'classifier', '/classifier'), name: 'logits', shape: ['batch_size', 'sequence_length', head.labels] },
        version,
      );
    case 'fill-mask': {
      const [dense, norm, bias, scope] =
        style.family === 'bert'
          ? ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm', 'cls.predictions.bias', '/cls/predictions']
          : ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias', '/lm_head'];
      const transformed = g.layerNorm(g.gelu(g.linear(hidden, dense, `${scope}/dense`), `${scope}/gelu`), norm, `${scope}/layer_norm`, eps);
      // The decoder is tied to the word embeddings: the export multiplies by their transpose, stored once.
      const tied = g.one('Transpose', [`${base}embeddings.word_embeddings.weight`], `${scope}/decoder/Transpose`, { perm: [1, 0] });
      const logits = g.one('Add', [g.one('MatMul', [transformed, tied], `${scope}/decoder/MatMul`), bias], `${scope}/decoder/Add`);
      return g.model(inputs, { tensor: logits, name: 'logits', shape: ['batch_size', 'sequence_length', vocab] }, version);
    }
    case 'feature-extraction':
      return g.model(inputs, { tensor: hidden, name: 'last_hidden_state', shape: ['batch_size', 'sequence_length', width] }, version);
  }
}
