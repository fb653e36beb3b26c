/**
 * DistilBERT-architecture models the project builds itself: the real model's weights cannot be fetched here, so
 * tests and benchmarks use these. A folder holds what the hub repository holds, laid out for transformers.js:
 *
 *   config.json              the real config's shape, with the chosen sizes (and a name that says "random weights")
 *   tokenizer.json, tokenizer_config.json   copied from a tokenizer folder (default ../shared/…)
 *   model.safetensors        the weights under Hugging Face's parameter names, PyTorch layout ([out, in])
 *   onnx/model.onnx          fp32 graph shaped as a PyTorch export of DistilBertForSequenceClassification
 *   onnx/model_quantized.onnx  q8: the same weights, MatMuls dynamically quantized (MatMulInteger)
 *
 * Weights are deterministic from the seed (MT19937, uniform with the stated standard deviation).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NumpyRandom } from '../../src/engine/random';
import {
  DataType,
  encodeModel,
  floatTensor,
  int64Tensor,
  node,
  type onnx,
  tensor,
  valueInfo,
  type AttributeValue,
} from '../../src/model/onnx/graph';
import { writeSafetensors, type NamedTensor } from '../../src/reference/safetensors';

export type TestModelSize = 'tiny' | 'full';
export type TestModelDtype = 'fp32' | 'q8';

export interface ModelSizes {
  layers: number;
  heads: number;
  dim: number;
  hidden: number;
  /** Standard deviation of the random linear weights. */
  weightStd: number;
}

export const SIZES: Record<TestModelSize, ModelSizes> = {
  // Small enough to check against a float64 reference; weights large enough for peaked, varied attention.
  tiny: { layers: 2, heads: 4, dim: 32, hidden: 128, weightStd: 0.2 },
  // DistilBERT's own sizes, for benchmarks only.
  full: { layers: 6, heads: 12, dim: 768, hidden: 3072, weightStd: 0.02 },
};

export const MAX_POSITIONS = 512;
export const LAYER_NORM_EPS = 1e-12;
/** Bump when the graph or the weights change: cached builds with another version are rebuilt. */
export const TEST_MODEL_VERSION = 1;

export interface TestModelOptions {
  out: string;
  size: TestModelSize;
  dtype: TestModelDtype;
  seed: number;
  tokenizerDir: string;
}

interface TokenizerConfig {
  vocab_size?: number;
}

/** Weights in PyTorch layout, in checkpoint order. */
export function makeWeights(sizes: ModelSizes, vocabSize: number, labels: number, seed: number): Array<[string, NamedTensor]> {
  const random = new NumpyRandom(seed);
  // Uniform on [−√3σ, √3σ] has standard deviation σ; it is much faster than normals for 66 M parameters.
  const uniform = (count: number, std: number, centre = 0) => {
    const data = new Float32Array(count);
    const half = Math.sqrt(3) * std;
    for (let index = 0; index < count; index += 1) data[index] = centre + (2 * random.nextDouble() - 1) * half;
    return data;
  };
  const f32 = (shape: number[], data: Float32Array): NamedTensor => ({ dtype: 'F32', shape, data });
  const { dim, hidden, layers, weightStd } = sizes;
  const weights: Array<[string, NamedTensor]> = [];
  const linear = (prefix: string, out: number, input: number) => {
    weights.push([`${prefix}.weight`, f32([out, input], uniform(out * input, weightStd))]);
    weights.push([`${prefix}.bias`, f32([out], uniform(out, 0.1 * weightStd))]);
  };
  const norm = (prefix: string) => {
    weights.push([`${prefix}.weight`, f32([dim], uniform(dim, 0.1, 1))]);
    weights.push([`${prefix}.bias`, f32([dim], uniform(dim, 0.1))]);
  };
  weights.push(['distilbert.embeddings.word_embeddings.weight', f32([vocabSize, dim], uniform(vocabSize * dim, 1))]);
  weights.push(['distilbert.embeddings.position_embeddings.weight', f32([MAX_POSITIONS, dim], uniform(MAX_POSITIONS * dim, 1))]);
  norm('distilbert.embeddings.LayerNorm');
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `distilbert.transformer.layer.${layer}`;
    for (const projection of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) linear(`${prefix}.attention.${projection}`, dim, dim);
    norm(`${prefix}.sa_layer_norm`);
    linear(`${prefix}.ffn.lin1`, hidden, dim);
    linear(`${prefix}.ffn.lin2`, dim, hidden);
    norm(`${prefix}.output_layer_norm`);
  }
  linear('pre_classifier', dim, dim);
  linear('classifier', labels, dim);
  return weights;
}

/** `W [out, in]` → `Wᵀ [in, out]`, the constant a PyTorch export feeds to MatMul. */
function transposed(weight: NamedTensor): Float32Array {
  const [out = 0, input = 0] = weight.shape;
  const data = weight.data as Float32Array;
  const result = new Float32Array(out * input);
  for (let o = 0; o < out; o += 1) {
    for (let i = 0; i < input; i += 1) result[i * out + o] = data[o * input + i]!;
  }
  return result;
}

/** Per-tensor asymmetric uint8 quantization, as onnxruntime's `quantize_dynamic` does for weights. */
function quantizeUint8(values: Float32Array): { data: Uint8Array; scale: number; zeroPoint: number } {
  let min = 0;
  let max = 0;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const scale = (max - min) / 255 || 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  const data = new Uint8Array(values.length);
  values.forEach((value, index) => (data[index] = Math.min(255, Math.max(0, Math.round(value / scale) + zeroPoint))));
  return { data, scale: Math.fround(scale), zeroPoint };
}

/** Builds the ONNX graph of DistilBertForSequenceClassification from the weights. */
export function buildGraph(sizes: ModelSizes, weights: Map<string, NamedTensor>, labels: number, dtype: TestModelDtype): onnx.IModelProto {
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let counter = 0;
  const fresh = (hint: string) => `/${hint}_output_${counter++}`;
  const add = (opType: string, inputs: string[], name: string, attributes: Record<string, AttributeValue> = {}, outputs = 1): string[] => {
    const names = Array.from({ length: outputs }, () => fresh(name.replace(/^\//, '')));
    nodes.push(node(opType, inputs, names, name, attributes));
    return names;
  };
  const one = (opType: string, inputs: string[], name: string, attributes: Record<string, AttributeValue> = {}) =>
    add(opType, inputs, name, attributes)[0]!;
  const constantInt64 = (name: string, values: number[], dims?: number[]) => {
    initializers.push(int64Tensor(name, values, dims ?? [values.length]));
    return name;
  };
  const constantFloat = (name: string, value: number) => {
    initializers.push(floatTensor(name, [value], []));
    return name;
  };
  const weight = (name: string) => {
    const found = weights.get(name);
    if (!found) throw new Error(`missing weight ${name}`);
    return found;
  };
  let matmulIndex = 0;
  /** `x @ Wᵀ + b`: MatMul with an `onnx::MatMul_*` constant as the exporter names it (quantized for q8). */
  const linear = (x: string, prefix: string, scope: string) => {
    const w = weight(`${prefix}.weight`);
    const [out = 0, input = 0] = w.shape;
    const constantName = `onnx::MatMul_${1000 + matmulIndex++}`;
    let product: string;
    if (dtype === 'fp32') {
      initializers.push(floatTensor(constantName, transposed(w), [input, out]));
      product = one('MatMul', [x, constantName], `${scope}/MatMul`);
    } else {
      const quantized = quantizeUint8(transposed(w));
      initializers.push(tensor(`${constantName}_quantized`, DataType.UINT8, [input, out], quantized.data));
      initializers.push(floatTensor(`${constantName}_scale`, [quantized.scale], []));
      initializers.push(tensor(`${constantName}_zero_point`, DataType.UINT8, [], Uint8Array.of(quantized.zeroPoint)));
      const [xq, xScale, xZero] = add('DynamicQuantizeLinear', [x], `${scope}/MatMul_quant`, {}, 3) as [string, string, string];
      const integer = one(
        'MatMulInteger',
        [xq, `${constantName}_quantized`, xZero, `${constantName}_zero_point`],
        `${scope}/MatMul_MatMulInteger`,
      );
      const asFloat = one('Cast', [integer], `${scope}/MatMul_output_quantized_cast`, { to: DataType.FLOAT });
      const scale = one('Mul', [xScale, `${constantName}_scale`], `${scope}/MatMul_scales_mul`);
      product = one('Mul', [asFloat, scale], `${scope}/MatMul_output_quantized_mul`);
    }
    return one('Add', [product, `${prefix}.bias`], `${scope}/Add`);
  };
  const layerNorm = (x: string, prefix: string, scope: string) => {
    const mean = one('ReduceMean', [x], `${scope}/ReduceMean`, { axes: [-1] });
    const centred = one('Sub', [x, mean], `${scope}/Sub`);
    const squared = one('Pow', [centred, constantFloat(`${scope}/Constant_2`, 2)], `${scope}/Pow`);
    const variance = one('ReduceMean', [squared], `${scope}/ReduceMean_1`, { axes: [-1] });
    const shifted = one('Add', [variance, constantFloat(`${scope}/Constant_eps`, LAYER_NORM_EPS)], `${scope}/Add`);
    const deviation = one('Sqrt', [shifted], `${scope}/Sqrt`);
    const normalised = one('Div', [centred, deviation], `${scope}/Div`);
    const scaled = one('Mul', [normalised, `${prefix}.weight`], `${scope}/Mul`);
    return one('Add', [scaled, `${prefix}.bias`], `${scope}/Add_1`);
  };

  const { dim, heads, layers } = sizes;
  const headDim = dim / heads;

  // Parameters that the graph uses by name (embeddings, biases, layer norms), as the exporter keeps them.
  for (const [name, value] of weights) {
    if (name.endsWith('.bias') || name.includes('LayerNorm') || name.includes('layer_norm') || name.includes('embeddings')) {
      initializers.push(floatTensor(name, value.data as Float32Array, value.shape));
    }
  }
  const positionIds = constantInt64(
    'distilbert.embeddings.position_ids',
    Array.from({ length: MAX_POSITIONS }, (_, index) => index),
    [1, MAX_POSITIONS],
  );
  const zero = constantInt64('/Constant_zero', [0], []);
  const one64 = constantInt64('/Constant_one', [1], []);
  const axis0 = constantInt64('/Constant_axes0', [0]);
  const axis1 = constantInt64('/Constant_axes1', [1]);
  const start0 = constantInt64('/Constant_start0', [0]);
  const minusOne = constantInt64('/Constant_minus_one', [-1]);
  const headShape = constantInt64('/Constant_head_shape', [heads, headDim]);
  const dimShape = constantInt64('/Constant_dim_shape', [dim]);
  const oneOne = constantInt64('/Constant_one_one', [1, 1]);
  const maskedValue = constantFloat('/Constant_masked', -3.4028234663852886e38);
  const scoreScale = constantFloat('/Constant_sqrt_head_dim', Math.sqrt(headDim));
  const sqrtTwo = constantFloat('/Constant_sqrt2', Math.SQRT2);
  const oneFloat = constantFloat('/Constant_one_f', 1);
  const half = constantFloat('/Constant_half', 0.5);

  // Embeddings: word + position, then layer norm.
  const inputShape = one('Shape', ['input_ids'], '/distilbert/embeddings/Shape');
  const sequenceLength = one('Gather', [inputShape, one64], '/distilbert/embeddings/Gather', { axis: 0 });
  const sequenceEnd = one('Unsqueeze', [sequenceLength, axis0], '/distilbert/embeddings/Unsqueeze');
  const positions = one('Slice', [positionIds, start0, sequenceEnd, axis1], '/distilbert/embeddings/Slice');
  const words = one(
    'Gather',
    ['distilbert.embeddings.word_embeddings.weight', 'input_ids'],
    '/distilbert/embeddings/word_embeddings/Gather',
  );
  const positional = one(
    'Gather',
    ['distilbert.embeddings.position_embeddings.weight', positions],
    '/distilbert/embeddings/position_embeddings/Gather',
  );
  const embedded = one('Add', [words, positional], '/distilbert/embeddings/Add');
  let hidden = layerNorm(embedded, 'distilbert.embeddings.LayerNorm', '/distilbert/embeddings/LayerNorm');

  // The mask, as DistilBERT builds it: (mask == 0).view(bs, 1, 1, k_len).expand_as(scores).
  const batch = one(
    'Unsqueeze',
    [one('Gather', [one('Shape', ['attention_mask'], '/distilbert/Shape'), zero], '/distilbert/Gather', { axis: 0 }), axis0],
    '/distilbert/Unsqueeze',
  );
  const keyLength = one(
    'Unsqueeze',
    [one('Gather', [one('Shape', ['attention_mask'], '/distilbert/Shape_1'), one64], '/distilbert/Gather_1', { axis: 0 }), axis0],
    '/distilbert/Unsqueeze_1',
  );
  const maskShape = one('Concat', [batch, oneOne, keyLength], '/distilbert/Concat', { axis: 0 });
  const isPadding = one('Equal', ['attention_mask', zero], '/distilbert/Equal');
  const paddingView = one('Reshape', [isPadding, maskShape], '/distilbert/Reshape');
  const splitShape = one('Concat', [batch, minusOne, headShape], '/distilbert/Concat_1', { axis: 0 });
  const mergeShape = one('Concat', [batch, minusOne, dimShape], '/distilbert/Concat_2', { axis: 0 });

  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `distilbert.transformer.layer.${layer}`;
    const scope = `/distilbert/transformer/layer.${layer}/attention`;
    const toHeads = (x: string, name: string) =>
      one('Transpose', [one('Reshape', [x, splitShape], `${scope}/Reshape${name}`)], `${scope}/Transpose${name}`, { perm: [0, 2, 1, 3] });
    const q = toHeads(linear(hidden, `${prefix}.attention.q_lin`, `${scope}/q_lin`), '');
    const k = toHeads(linear(hidden, `${prefix}.attention.k_lin`, `${scope}/k_lin`), '_1');
    const v = toHeads(linear(hidden, `${prefix}.attention.v_lin`, `${scope}/v_lin`), '_2');
    const qScaled = one('Div', [q, scoreScale], `${scope}/Div`);
    const kT = one('Transpose', [k], `${scope}/Transpose_3`, { perm: [0, 1, 3, 2] });
    const scores = one('MatMul', [qScaled, kT], `${scope}/MatMul`);
    const expandedMask = one('Expand', [paddingView, one('Shape', [scores], `${scope}/Shape`)], `${scope}/Expand`);
    const filled = one('Where', [expandedMask, maskedValue, scores], `${scope}/Where`);
    const probabilities = one('Softmax', [filled], `${scope}/Softmax`, { axis: -1 });
    const context = one('MatMul', [probabilities, v], `${scope}/MatMul_1`);
    const merged = one(
      'Reshape',
      [one('Transpose', [context], `${scope}/Transpose_4`, { perm: [0, 2, 1, 3] }), mergeShape],
      `${scope}/Reshape_3`,
    );
    const attended = linear(merged, `${prefix}.attention.out_lin`, `${scope}/out_lin`);
    const sa = layerNorm(
      one('Add', [attended, hidden], `/distilbert/transformer/layer.${layer}/Add`),
      `${prefix}.sa_layer_norm`,
      `/distilbert/transformer/layer.${layer}/sa_layer_norm`,
    );
    const ffnScope = `/distilbert/transformer/layer.${layer}/ffn`;
    const expanded = linear(sa, `${prefix}.ffn.lin1`, `${ffnScope}/lin1`);
    // Exact GELU as PyTorch exports it: x · (erf(x / √2) + 1) · 0.5
    const erf = one('Erf', [one('Div', [expanded, sqrtTwo], `${ffnScope}/activation/Div`)], `${ffnScope}/activation/Erf`);
    const gelu = one(
      'Mul',
      [one('Mul', [expanded, one('Add', [erf, oneFloat], `${ffnScope}/activation/Add`)], `${ffnScope}/activation/Mul`), half],
      `${ffnScope}/activation/Mul_1`,
    );
    const projected = linear(gelu, `${prefix}.ffn.lin2`, `${ffnScope}/lin2`);
    hidden = layerNorm(
      one('Add', [projected, sa], `/distilbert/transformer/layer.${layer}/Add_1`),
      `${prefix}.output_layer_norm`,
      `/distilbert/transformer/layer.${layer}/output_layer_norm`,
    );
  }

  // Classifier head on [CLS]: pre_classifier → ReLU → classifier.
  const cls = one('Gather', [hidden, zero], '/Gather', { axis: 1 });
  const pre = one('Relu', [linear(cls, 'pre_classifier', '/pre_classifier')], '/Relu');
  const logits = linear(pre, 'classifier', '/classifier');
  nodes.push(node('Identity', [logits], ['logits'], '/Identity_logits'));

  return {
    irVersion: 8,
    producerName: 'attention-explorer make-test-model',
    producerVersion: String(TEST_MODEL_VERSION),
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'main_graph',
      node: nodes,
      initializer: initializers,
      input: [
        valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
        valueInfo('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']),
      ],
      output: [valueInfo('logits', DataType.FLOAT, ['batch_size', labels])],
    },
  };
}

/** Writes a complete model folder; returns the files written. */
export function makeTestModel(options: TestModelOptions): string[] {
  const sizes = SIZES[options.size];
  const realConfig = JSON.parse(fs.readFileSync(path.join(options.tokenizerDir, 'config.json'), 'utf8')) as Record<string, unknown> & {
    id2label: Record<string, string>;
    vocab_size: number;
  };
  const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(options.tokenizerDir, 'tokenizer_config.json'), 'utf8')) as TokenizerConfig;
  const vocabSize = realConfig.vocab_size ?? tokenizerConfig.vocab_size ?? 30522;
  const labels = Object.keys(realConfig.id2label).length;
  fs.mkdirSync(path.join(options.out, 'onnx'), { recursive: true });
  const config = {
    ...realConfig,
    _name_or_path: `attention-explorer/test-distilbert-${options.size} (random weights, seed ${options.seed})`,
    dim: sizes.dim,
    hidden_dim: sizes.hidden,
    n_heads: sizes.heads,
    n_layers: sizes.layers,
    attention_explorer_test_model: { size: options.size, seed: options.seed, version: TEST_MODEL_VERSION },
  };
  const written: string[] = [];
  const write = (name: string, data: string | Uint8Array) => {
    fs.writeFileSync(path.join(options.out, name), data);
    written.push(name);
  };
  write('config.json', `${JSON.stringify(config, null, 2)}\n`);
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) {
    write(name, fs.readFileSync(path.join(options.tokenizerDir, name)));
  }
  const weights = makeWeights(sizes, vocabSize, labels, options.seed);
  writeSafetensors(path.join(options.out, 'model.safetensors'), weights);
  written.push('model.safetensors');
  const graph = buildGraph(sizes, new Map(weights), labels, options.dtype);
  write(options.dtype === 'fp32' ? 'onnx/model.onnx' : 'onnx/model_quantized.onnx', encodeModel(graph));
  write(
    'README.md',
    `# A random test model\n\nBuilt by \`npm run make-test-model\` (size ${options.size}, seed ${options.seed}). DistilBERT's architecture and the real tokenizer, but **random weights**: its labels and probabilities mean nothing.\n`,
  );
  return written;
}
