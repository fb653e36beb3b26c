/**
 * DistilBERT's forward pass in plain TypeScript, from the engine's pieces and a `model.safetensors` checkpoint: the
 * independent reference that onnxruntime's outputs and every attention map are checked against. It shares nothing
 * with the ONNX path but the tokenizer's ids: different weights file, different arithmetic (float64), different code.
 *
 * Follows Hugging Face's DistilBERT modules (transformers 4.x): embeddings (word + position) → LayerNorm → per layer:
 * multi-head self-attention with the padding mask and an optional head mask, residual + `sa_layer_norm`, FFN (lin1 →
 * exact GELU → lin2), residual + `output_layer_norm` → the head of `architectures[0]`: `pre_classifier` → ReLU →
 * `classifier` on [CLS] (sequence classification), `classifier` on every token, `vocab_transform` → GELU →
 * `vocab_layer_norm` → the tied `vocab_projector` (masked LM), or the hidden states (`DistilBertModel`).
 */
import { layerNorm } from '../engine';
import { Checkpoint, runEncoderLayers, type EncoderLayerWeights, type NormWeights, type ReferenceOutput } from './checkpoint';
import { referenceTaskOf, runHead, type ReferenceHead } from './heads';

export type { ReferenceOutput } from './checkpoint';

export interface DistilBertConfig {
  dim: number;
  hidden_dim: number;
  n_heads: number;
  n_layers: number;
  vocab_size: number;
  max_position_embeddings: number;
  architectures?: string[];
  id2label?: Record<string, string>;
}

const LAYER_NORM_EPS = 1e-12;

function headOf(checkpoint: Checkpoint, architecture: string | undefined, base: string): ReferenceHead {
  const task = referenceTaskOf(architecture ?? 'DistilBertForSequenceClassification');
  switch (task) {
    case 'text-classification':
      return {
        task,
        classifier: { pre: { ...checkpoint.linear('pre_classifier'), activation: 'relu' }, out: checkpoint.linear('classifier') },
      };
    case 'token-classification':
      return { task, classifier: checkpoint.linear('classifier') };
    case 'fill-mask':
      return {
        task,
        lm: {
          dense: checkpoint.linear('vocab_transform'),
          norm: checkpoint.norm('vocab_layer_norm'),
          eps: LAYER_NORM_EPS,
          wordEmbeddings: checkpoint.matrix(`${base}embeddings.word_embeddings.weight`),
          bias: checkpoint.vector('vocab_projector.bias'),
        },
      };
    case 'feature-extraction':
      return { task };
  }
}

export class ReferenceDistilBert {
  private constructor(
    readonly config: DistilBertConfig,
    private readonly wordEmbeddings: Float64Array,
    private readonly positionEmbeddings: Float64Array,
    private readonly embeddingNorm: NormWeights,
    private readonly layers: EncoderLayerWeights[],
    private readonly head: ReferenceHead,
  ) {}

  static load(safetensorsFile: string, config: DistilBertConfig): ReferenceDistilBert {
    const checkpoint = new Checkpoint(safetensorsFile);
    // A base model's checkpoint has no `distilbert.` prefix.
    const base = checkpoint.has('distilbert.embeddings.word_embeddings.weight') ? 'distilbert.' : '';
    const layers = Array.from({ length: config.n_layers }, (_, index): EncoderLayerWeights => {
      const prefix = `${base}transformer.layer.${index}`;
      const q = checkpoint.linear(`${prefix}.attention.q_lin`);
      const k = checkpoint.linear(`${prefix}.attention.k_lin`);
      const v = checkpoint.linear(`${prefix}.attention.v_lin`);
      const o = checkpoint.linear(`${prefix}.attention.out_lin`);
      return {
        attention: { wq: q.weight, bq: q.bias, wk: k.weight, bk: k.bias, wv: v.weight, bv: v.bias, wo: o.weight, bo: o.bias },
        attentionNorm: checkpoint.norm(`${prefix}.sa_layer_norm`),
        intermediate: checkpoint.linear(`${prefix}.ffn.lin1`),
        output: checkpoint.linear(`${prefix}.ffn.lin2`),
        outputNorm: checkpoint.norm(`${prefix}.output_layer_norm`),
      };
    });
    return new ReferenceDistilBert(
      config,
      checkpoint.vector(`${base}embeddings.word_embeddings.weight`),
      checkpoint.vector(`${base}embeddings.position_embeddings.weight`),
      checkpoint.norm(`${base}embeddings.LayerNorm`),
      layers,
      headOf(checkpoint, config.architectures?.[0], base),
    );
  }

  /**
   * One sequence. `attentionMask[j] = 0` marks padding keys; `headMask` is `[layers × heads]` (1 = on), as Hugging
   * Face's `head_mask`.
   */
  forward(inputIds: ArrayLike<number>, attentionMask?: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput {
    const { dim, n_heads: heads } = this.config;
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
    const embeddings = layerNorm({ rows: n, cols: dim, data: embedded }, this.embeddingNorm.gamma, this.embeddingNorm.beta, LAYER_NORM_EPS);
    const { hidden, attentions } = runEncoderLayers(embeddings, this.layers, heads, LAYER_NORM_EPS, attentionMask, headMask);
    return { ...runHead(this.head, hidden), attentions, hidden };
  }
}
