/**
 * DistilBERT's forward pass in plain TypeScript, from the engine's pieces and a `model.safetensors` checkpoint: the
 * independent reference that onnxruntime's logits and every attention map are checked against. It shares nothing
 * with the ONNX path but the tokenizer's ids: different weights file, different arithmetic (float64), different code.
 *
 * Follows Hugging Face's `DistilBertForSequenceClassification` (transformers 4.x): embeddings (word + position) →
 * LayerNorm → per layer: multi-head self-attention with the padding mask and an optional head mask, residual +
 * `sa_layer_norm`, FFN (lin1 → exact GELU → lin2), residual + `output_layer_norm` → the [CLS] state →
 * `pre_classifier` → ReLU → `classifier`.
 */
import { gelu, layerNorm, linear, multiHeadAttention, transpose, type Matrix, type MultiHeadParams } from '../engine';
import { readSafetensors, type NamedTensor } from './safetensors';

export interface DistilBertConfig {
  dim: number;
  hidden_dim: number;
  n_heads: number;
  n_layers: number;
  vocab_size: number;
  max_position_embeddings: number;
  id2label?: Record<string, string>;
}

const LAYER_NORM_EPS = 1e-12;

interface LayerWeights {
  attention: MultiHeadParams;
  saNorm: { gamma: Float64Array; beta: Float64Array };
  lin1: { weight: Matrix<Float64Array>; bias: Float64Array };
  lin2: { weight: Matrix<Float64Array>; bias: Float64Array };
  outputNorm: { gamma: Float64Array; beta: Float64Array };
}

export interface ReferenceOutput {
  logits: Float64Array;
  /** `[layers, heads, n, n]` attention probabilities (after the head mask). */
  attentions: Float64Array;
  /** The final hidden states `[n, dim]`. */
  hidden: Matrix<Float64Array>;
}

export class ReferenceDistilBert {
  private constructor(
    readonly config: DistilBertConfig,
    private readonly wordEmbeddings: Float64Array,
    private readonly positionEmbeddings: Float64Array,
    private readonly embeddingNorm: { gamma: Float64Array; beta: Float64Array },
    private readonly layers: LayerWeights[],
    private readonly preClassifier: { weight: Matrix<Float64Array>; bias: Float64Array },
    private readonly classifier: { weight: Matrix<Float64Array>; bias: Float64Array },
  ) {}

  /** Loads the checkpoint; linear weights go from PyTorch's `[out, in]` to the engine's `X @ W` layout. */
  static load(safetensorsFile: string, config: DistilBertConfig): ReferenceDistilBert {
    const tensors = readSafetensors(safetensorsFile);
    const get = (name: string): NamedTensor => {
      const found = tensors.get(name);
      if (!found) throw new Error(`${safetensorsFile} has no tensor ${name}`);
      return found;
    };
    const vector = (name: string) => Float64Array.from(get(name).data as Float32Array);
    const linearWeights = (prefix: string) => {
      const weight = get(`${prefix}.weight`);
      const [out = 0, input = 0] = weight.shape;
      return {
        weight: transpose({ rows: out, cols: input, data: Float64Array.from(weight.data as Float32Array) }),
        bias: vector(`${prefix}.bias`),
      };
    };
    const norm = (prefix: string) => ({ gamma: vector(`${prefix}.weight`), beta: vector(`${prefix}.bias`) });
    const layers = Array.from({ length: config.n_layers }, (_, index): LayerWeights => {
      const prefix = `distilbert.transformer.layer.${index}`;
      const q = linearWeights(`${prefix}.attention.q_lin`);
      const k = linearWeights(`${prefix}.attention.k_lin`);
      const v = linearWeights(`${prefix}.attention.v_lin`);
      const o = linearWeights(`${prefix}.attention.out_lin`);
      return {
        attention: { wq: q.weight, bq: q.bias, wk: k.weight, bk: k.bias, wv: v.weight, bv: v.bias, wo: o.weight, bo: o.bias },
        saNorm: norm(`${prefix}.sa_layer_norm`),
        lin1: linearWeights(`${prefix}.ffn.lin1`),
        lin2: linearWeights(`${prefix}.ffn.lin2`),
        outputNorm: norm(`${prefix}.output_layer_norm`),
      };
    });
    return new ReferenceDistilBert(
      config,
      vector('distilbert.embeddings.word_embeddings.weight'),
      vector('distilbert.embeddings.position_embeddings.weight'),
      norm('distilbert.embeddings.LayerNorm'),
      layers,
      linearWeights('pre_classifier'),
      linearWeights('classifier'),
    );
  }

  /**
   * One sequence. `attentionMask[j] = 0` marks padding keys; `headMask` is `[layers × heads]` (1 = on), as Hugging
   * Face's `head_mask`.
   */
  forward(inputIds: ArrayLike<number>, attentionMask?: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput {
    const { dim, n_heads: heads, n_layers: layerCount } = this.config;
    const n = inputIds.length;
    if (n > this.config.max_position_embeddings) {
      throw new RangeError(`${n} tokens exceed ${this.config.max_position_embeddings} positions`);
    }
    const embedded = new Float64Array(n * dim);
    for (let position = 0; position < n; position += 1) {
      const id = Number(inputIds[position]);
      if (!(id >= 0 && id < this.config.vocab_size)) throw new RangeError(`token id ${id} outside the vocabulary`);
      for (let feature = 0; feature < dim; feature += 1) {
        embedded[position * dim + feature] = this.wordEmbeddings[id * dim + feature]! + this.positionEmbeddings[position * dim + feature]!;
      }
    }
    let hidden: Matrix<Float64Array> = layerNorm(
      { rows: n, cols: dim, data: embedded },
      this.embeddingNorm.gamma,
      this.embeddingNorm.beta,
      LAYER_NORM_EPS,
    );
    const attentions = new Float64Array(layerCount * heads * n * n);
    this.layers.forEach((layer, index) => {
      const attention = multiHeadAttention(hidden, layer.attention, {
        heads,
        ...(attentionMask ? { keyMask: attentionMask } : {}),
        ...(headMask ? { headMask: Array.from({ length: heads }, (_, head) => Number(headMask[index * heads + head])) } : {}),
      });
      attentions.set(attention.weights.data, index * heads * n * n);
      const sa = layerNorm(addMatrices(attention.output, hidden), layer.saNorm.gamma, layer.saNorm.beta, LAYER_NORM_EPS);
      const expanded = linear(sa, layer.lin1.weight, layer.lin1.bias);
      const activated = { rows: expanded.rows, cols: expanded.cols, data: gelu(expanded.data) };
      const projected = linear(activated, layer.lin2.weight, layer.lin2.bias);
      hidden = layerNorm(addMatrices(projected, sa), layer.outputNorm.gamma, layer.outputNorm.beta, LAYER_NORM_EPS);
    });
    const cls = { rows: 1, cols: dim, data: hidden.data.slice(0, dim) };
    const pre = linear(cls, this.preClassifier.weight, this.preClassifier.bias);
    pre.data.forEach((value, index) => (pre.data[index] = Math.max(0, value)));
    const logits = linear(pre, this.classifier.weight, this.classifier.bias).data;
    return { logits, attentions, hidden };
  }
}

function addMatrices(a: Matrix<Float64Array>, b: Matrix<Float64Array>): Matrix<Float64Array> {
  return { rows: a.rows, cols: a.cols, data: a.data.map((value, index) => value + b.data[index]!) };
}
