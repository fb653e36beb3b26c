/**
 * DistilBERT test models: `DistilBertForSequenceClassification` (and the other tasks' heads on the same encoder),
 * shaped as the transformers.js export of the real model: the query divided by √d before the scores product, the
 * padding mask as a Where, GELU and layer norm decomposed.
 */
import { DataType, valueInfo, type onnx } from '../../../src/model/onnx/graph';
import type { NamedTensor } from '../../../src/reference/safetensors';
import { GraphBuilder, type TestModelDtype } from './graphBuilder';
import type { EncoderSizes, HeadSpec } from './encoderShapes';
import { WeightWriter } from './weights';

export const DISTILBERT_MAX_POSITIONS = 512;
export const DISTILBERT_LAYER_NORM_EPS = 1e-12;

/** Weights in PyTorch layout, in checkpoint order (as the first test models had them: the seed gives the same values). */
export function distilbertWeights(sizes: EncoderSizes, vocabSize: number, head: HeadSpec, seed: number): Array<[string, NamedTensor]> {
  const { hidden: dim, intermediate, layers, weightStd } = sizes;
  const writer = new WeightWriter(seed, weightStd);
  const base = head.task === 'feature-extraction' ? '' : 'distilbert.';
  writer.embedding(`${base}embeddings.word_embeddings.weight`, vocabSize, dim);
  writer.embedding(`${base}embeddings.position_embeddings.weight`, DISTILBERT_MAX_POSITIONS, dim);
  writer.norm(`${base}embeddings.LayerNorm`, dim);
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `${base}transformer.layer.${layer}`;
    for (const projection of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) writer.linear(`${prefix}.attention.${projection}`, dim, dim);
    writer.norm(`${prefix}.sa_layer_norm`, dim);
    writer.linear(`${prefix}.ffn.lin1`, intermediate, dim);
    writer.linear(`${prefix}.ffn.lin2`, dim, intermediate);
    writer.norm(`${prefix}.output_layer_norm`, dim);
  }
  switch (head.task) {
    case 'text-classification':
      writer.linear('pre_classifier', dim, dim);
      writer.linear('classifier', head.labels, dim);
      break;
    case 'token-classification':
      writer.linear('classifier', head.labels, dim);
      break;
    case 'fill-mask':
      writer.linear('vocab_transform', dim, dim);
      writer.norm('vocab_layer_norm', dim);
      writer.bias('vocab_projector.bias', vocabSize);
      break;
    case 'feature-extraction':
      break;
  }
  return writer.entries;
}

/** The ONNX graph of the model from its weights. */
export function distilbertGraph(
  sizes: EncoderSizes,
  weights: Map<string, NamedTensor>,
  head: HeadSpec,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  const g = new GraphBuilder(weights, dtype);
  const { hidden: dim, heads, layers } = sizes;
  const headDim = dim / heads;
  const base = head.task === 'feature-extraction' ? '' : 'distilbert.';
  const scopeBase = head.task === 'feature-extraction' ? '' : '/distilbert';
  const eps = DISTILBERT_LAYER_NORM_EPS;

  g.keepByName(
    [...weights.keys()].filter(
      (name) => name.endsWith('.bias') || name.includes('LayerNorm') || name.includes('layer_norm') || name.includes('embeddings'),
    ),
  );
  const positionIds = g.int64(
    `${base}embeddings.position_ids`,
    Array.from({ length: DISTILBERT_MAX_POSITIONS }, (_, index) => index),
    [1, DISTILBERT_MAX_POSITIONS],
  );
  const zero = g.int64('/Constant_zero', [0], []);
  const one64 = g.int64('/Constant_one', [1], []);
  const axis0 = g.int64('/Constant_axes0', [0]);
  const axis1 = g.int64('/Constant_axes1', [1]);
  const start0 = g.int64('/Constant_start0', [0]);
  const minusOne = g.int64('/Constant_minus_one', [-1]);
  const headShape = g.int64('/Constant_head_shape', [heads, headDim]);
  const dimShape = g.int64('/Constant_dim_shape', [dim]);
  const oneOne = g.int64('/Constant_one_one', [1, 1]);
  const maskedValue = g.float('/Constant_masked', -3.4028234663852886e38);
  const scoreScale = g.float('/Constant_sqrt_head_dim', Math.sqrt(headDim));
  const sqrtTwo = g.float('/Constant_sqrt2', Math.SQRT2);
  const oneFloat = g.float('/Constant_one_f', 1);
  const half = g.float('/Constant_half', 0.5);
  const gelu = (x: string, scope: string) => {
    const erf = g.one('Erf', [g.one('Div', [x, sqrtTwo], `${scope}/Div`)], `${scope}/Erf`);
    return g.one('Mul', [g.one('Mul', [x, g.one('Add', [erf, oneFloat], `${scope}/Add`)], `${scope}/Mul`), half], `${scope}/Mul_1`);
  };

  // Embeddings: word + position, then layer norm.
  const inputShape = g.one('Shape', ['input_ids'], `${scopeBase}/embeddings/Shape`);
  const sequenceLength = g.one('Gather', [inputShape, one64], `${scopeBase}/embeddings/Gather`, { axis: 0 });
  const sequenceEnd = g.one('Unsqueeze', [sequenceLength, axis0], `${scopeBase}/embeddings/Unsqueeze`);
  const positions = g.one('Slice', [positionIds, start0, sequenceEnd, axis1], `${scopeBase}/embeddings/Slice`);
  const words = g.one(
    'Gather',
    [`${base}embeddings.word_embeddings.weight`, 'input_ids'],
    `${scopeBase}/embeddings/word_embeddings/Gather`,
  );
  const positional = g.one(
    'Gather',
    [`${base}embeddings.position_embeddings.weight`, positions],
    `${scopeBase}/embeddings/position_embeddings/Gather`,
  );
  const embedded = g.one('Add', [words, positional], `${scopeBase}/embeddings/Add`);
  let hidden = g.layerNorm(embedded, `${base}embeddings.LayerNorm`, `${scopeBase}/embeddings/LayerNorm`, eps);

  // The mask, as DistilBERT builds it: (mask == 0).view(bs, 1, 1, k_len).expand_as(scores).
  const batch = g.one(
    'Unsqueeze',
    [g.one('Gather', [g.one('Shape', ['attention_mask'], `${scopeBase}/Shape`), zero], `${scopeBase}/Gather`, { axis: 0 }), axis0],
    `${scopeBase}/Unsqueeze`,
  );
  const keyLength = g.one(
    'Unsqueeze',
    [g.one('Gather', [g.one('Shape', ['attention_mask'], `${scopeBase}/Shape_1`), one64], `${scopeBase}/Gather_1`, { axis: 0 }), axis0],
    `${scopeBase}/Unsqueeze_1`,
  );
  const maskShape = g.one('Concat', [batch, oneOne, keyLength], `${scopeBase}/Concat`, { axis: 0 });
  const isPadding = g.one('Equal', ['attention_mask', zero], `${scopeBase}/Equal`);
  const paddingView = g.one('Reshape', [isPadding, maskShape], `${scopeBase}/Reshape`);
  const splitShape = g.one('Concat', [batch, minusOne, headShape], `${scopeBase}/Concat_1`, { axis: 0 });
  const mergeShape = g.one('Concat', [batch, minusOne, dimShape], `${scopeBase}/Concat_2`, { axis: 0 });

  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `${base}transformer.layer.${layer}`;
    const scope = `${scopeBase}/transformer/layer.${layer}/attention`;
    const toHeads = (x: string, name: string) =>
      g.one('Transpose', [g.one('Reshape', [x, splitShape], `${scope}/Reshape${name}`)], `${scope}/Transpose${name}`, {
        perm: [0, 2, 1, 3],
      });
    const q = toHeads(g.linear(hidden, `${prefix}.attention.q_lin`, `${scope}/q_lin`), '');
    const k = toHeads(g.linear(hidden, `${prefix}.attention.k_lin`, `${scope}/k_lin`), '_1');
    const v = toHeads(g.linear(hidden, `${prefix}.attention.v_lin`, `${scope}/v_lin`), '_2');
    const qScaled = g.one('Div', [q, scoreScale], `${scope}/Div`);
    const kT = g.one('Transpose', [k], `${scope}/Transpose_3`, { perm: [0, 1, 3, 2] });
    const scores = g.one('MatMul', [qScaled, kT], `${scope}/MatMul`);
    const expandedMask = g.one('Expand', [paddingView, g.one('Shape', [scores], `${scope}/Shape`)], `${scope}/Expand`);
    const filled = g.one('Where', [expandedMask, maskedValue, scores], `${scope}/Where`);
    const probabilities = g.one('Softmax', [filled], `${scope}/Softmax`, { axis: -1 });
    const context = g.one('MatMul', [probabilities, v], `${scope}/MatMul_1`);
    const merged = g.one(
      'Reshape',
      [g.one('Transpose', [context], `${scope}/Transpose_4`, { perm: [0, 2, 1, 3] }), mergeShape],
      `${scope}/Reshape_3`,
    );
    const attended = g.linear(merged, `${prefix}.attention.out_lin`, `${scope}/out_lin`);
    const layerScope = `${scopeBase}/transformer/layer.${layer}`;
    const sa = g.layerNorm(
      g.one('Add', [attended, hidden], `${layerScope}/Add`),
      `${prefix}.sa_layer_norm`,
      `${layerScope}/sa_layer_norm`,
      eps,
    );
    const expanded = g.linear(sa, `${prefix}.ffn.lin1`, `${layerScope}/ffn/lin1`);
    const projected = g.linear(gelu(expanded, `${layerScope}/ffn/activation`), `${prefix}.ffn.lin2`, `${layerScope}/ffn/lin2`);
    hidden = g.layerNorm(
      g.one('Add', [projected, sa], `${layerScope}/Add_1`),
      `${prefix}.output_layer_norm`,
      `${layerScope}/output_layer_norm`,
      eps,
    );
  }

  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']),
  ];
  switch (head.task) {
    case 'text-classification': {
      // Classifier head on [CLS]: pre_classifier → ReLU → classifier.
      const cls = g.one('Gather', [hidden, zero], '/Gather', { axis: 1 });
      const pre = g.one('Relu', [g.linear(cls, 'pre_classifier', '/pre_classifier')], '/Relu');
      return g.model(
        inputs,
        { tensor: g.linear(pre, 'classifier', '/classifier'), name: 'logits', shape: ['batch_size', head.labels] },
        version,
      );
    }
    case 'token-classification':
      return g.model(
        inputs,
        { tensor: g.linear(hidden, 'classifier', '/classifier'), name: 'logits', shape: ['batch_size', 'sequence_length', head.labels] },
        version,
      );
    case 'fill-mask': {
      const transformed = g.layerNorm(
        gelu(g.linear(hidden, 'vocab_transform', '/vocab_transform'), '/activation'),
        'vocab_layer_norm',
        '/vocab_layer_norm',
        eps,
      );
      // The projector is tied to the word embeddings: the export multiplies by their transpose.
      const tied = g.one('Transpose', [`${base}embeddings.word_embeddings.weight`], '/vocab_projector/Transpose', { perm: [1, 0] });
      const logits = g.one(
        'Add',
        [g.one('MatMul', [transformed, tied], '/vocab_projector/MatMul'), 'vocab_projector.bias'],
        '/vocab_projector/Add',
      );
      return g.model(
        inputs,
        { tensor: logits, name: 'logits', shape: ['batch_size', 'sequence_length', weights.get('vocab_projector.bias')!.shape[0]!] },
        version,
      );
    }
    case 'feature-extraction':
      return g.model(inputs, { tensor: hidden, name: 'last_hidden_state', shape: ['batch_size', 'sequence_length', dim] }, version);
  }
}
