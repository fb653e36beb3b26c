/**
 * BERT's and RoBERTa's forward pass in plain TypeScript (float64), from a `model.safetensors` checkpoint: the
 * independent reference for those families, sharing nothing with the ONNX path but the tokenizer's ids.
 *
 * Follows Hugging Face's `BertModel` / `RobertaModel` (transformers 4.x, eager attention): embeddings (word + token
 * type 0 + position; RoBERTa's positions are `padding_idx + 1 + i` for real tokens) → LayerNorm → per layer:
 * self-attention (scores / √d, padding keys masked, optional head mask), `attention.output.dense` + residual +
 * LayerNorm, `intermediate.dense` → exact GELU → `output.dense` + residual + LayerNorm → the head of
 * `architectures[0]`: BERT's pooler (tanh) + classifier or RoBERTa's classifier (dense, tanh, out_proj) on the first
 * token, a classifier on every token, the masked-LM head tied to the word embeddings, or the hidden states.
 */
import { layerNorm } from '../engine';
import { Checkpoint, runEncoderLayers, type EncoderLayerWeights, type NormWeights, type ReferenceOutput } from './checkpoint';
import { referenceTaskOf, runHead, type ReferenceHead } from './heads';

export type { ReferenceOutput } from './checkpoint';

/** The config.json keys the reference reads (Hugging Face's names). */
export interface BertConfig {
  model_type: string;
  hidden_size: number;
  num_attention_heads: number;
  num_hidden_layers: number;
  intermediate_size: number;
  vocab_size: number;
  max_position_embeddings: number;
  layer_norm_eps?: number;
  pad_token_id?: number;
  architectures?: string[];
}

function headOf(checkpoint: Checkpoint, config: BertConfig, base: string, eps: number): ReferenceHead {
  const task = referenceTaskOf(config.architectures?.[0]);
  const roberta = config.model_type !== 'bert';
  switch (task) {
    case 'text-classification':
      return {
        task,
        classifier: roberta
          ? { pre: { ...checkpoint.linear('classifier.dense'), activation: 'tanh' }, out: checkpoint.linear('classifier.out_proj') }
          : { pre: { ...checkpoint.linear(`${base}pooler.dense`), activation: 'tanh' }, out: checkpoint.linear('classifier') },
      };
    case 'token-classification':
      return { task, classifier: checkpoint.linear('classifier') };
    case 'fill-mask': {
      const [dense, norm, bias] = roberta
        ? ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias']
        : ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm', 'cls.predictions.bias'];
      return {
        task,
        lm: {
          dense: checkpoint.linear(dense),
          norm: checkpoint.norm(norm),
          eps,
          wordEmbeddings: checkpoint.matrix(`${base}embeddings.word_embeddings.weight`),
          bias: checkpoint.vector(bias),
        },
      };
    }
    case 'feature-extraction':
      return { task };
  }
}

export class ReferenceBert {
  private constructor(
    readonly config: BertConfig,
    private readonly wordEmbeddings: Float64Array,
    private readonly positionEmbeddings: Float64Array,
    private readonly tokenTypeZero: Float64Array,
    private readonly embeddingNorm: NormWeights,
    private readonly layers: EncoderLayerWeights[],
    private readonly head: ReferenceHead,
  ) {}

  static load(safetensorsFile: string, config: BertConfig): ReferenceBert {
    const checkpoint = new Checkpoint(safetensorsFile);
    const prefix = config.model_type === 'bert' ? 'bert.' : 'roberta.';
    // A base model (sentence-transformers) has no prefix.
    const base = checkpoint.has(`${prefix}embeddings.word_embeddings.weight`) ? prefix : '';
    const eps = config.layer_norm_eps ?? 1e-12;
    const layers = Array.from({ length: config.num_hidden_layers }, (_, index): EncoderLayerWeights => {
      const layer = `${base}encoder.layer.${index}`;
      const q = checkpoint.linear(`${layer}.attention.self.query`);
      const k = checkpoint.linear(`${layer}.attention.self.key`);
      const v = checkpoint.linear(`${layer}.attention.self.value`);
      const o = checkpoint.linear(`${layer}.attention.output.dense`);
      return {
        attention: { wq: q.weight, bq: q.bias, wk: k.weight, bk: k.bias, wv: v.weight, bv: v.bias, wo: o.weight, bo: o.bias },
        attentionNorm: checkpoint.norm(`${layer}.attention.output.LayerNorm`),
        intermediate: checkpoint.linear(`${layer}.intermediate.dense`),
        output: checkpoint.linear(`${layer}.output.dense`),
        outputNorm: checkpoint.norm(`${layer}.output.LayerNorm`),
      };
    });
    const tokenTypes = checkpoint.matrix(`${base}embeddings.token_type_embeddings.weight`);
    return new ReferenceBert(
      config,
      checkpoint.vector(`${base}embeddings.word_embeddings.weight`),
      checkpoint.vector(`${base}embeddings.position_embeddings.weight`),
      tokenTypes.data.slice(0, tokenTypes.cols),
      checkpoint.norm(`${base}embeddings.LayerNorm`),
      layers,
      headOf(checkpoint, config, base, eps),
    );
  }

  /** Position ids: 0…n−1 for BERT; for RoBERTa `padding_idx + 1 + i` for real tokens, `padding_idx` for padding. */
  private positionsOf(inputIds: ArrayLike<number>): number[] {
    if (this.config.model_type === 'bert') return Array.from({ length: inputIds.length }, (_, index) => index);
    const pad = this.config.pad_token_id ?? 1;
    let count = 0;
    return Array.from(inputIds, (id) => (Number(id) === pad ? pad : pad + ++count));
  }

  /** One sequence (segment 0). `attentionMask[j] = 0` marks padding keys; `headMask` is `[layers × heads]` (1 = on). */
  forward(inputIds: ArrayLike<number>, attentionMask?: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput {
    const { hidden_size: width, num_attention_heads: heads } = this.config;
    const eps = this.config.layer_norm_eps ?? 1e-12;
    const n = inputIds.length;
    const positions = this.positionsOf(inputIds);
    const embedded = new Float64Array(n * width);
    for (let token = 0; token < n; token += 1) {
      const id = Number(inputIds[token]);
      const position = positions[token]!;
      if (!(id >= 0 && id < this.config.vocab_size)) throw new RangeError(`token id ${id} outside the vocabulary`);
      if (position >= this.config.max_position_embeddings) throw new RangeError(`${n} tokens exceed the position embeddings`);
      for (let feature = 0; feature < width; feature += 1) {
        embedded[token * width + feature] =
          this.wordEmbeddings[id * width + feature]! + this.tokenTypeZero[feature]! + this.positionEmbeddings[position * width + feature]!;
      }
    }
    const embeddings = layerNorm({ rows: n, cols: width, data: embedded }, this.embeddingNorm.gamma, this.embeddingNorm.beta, eps);
    const { hidden, attentions } = runEncoderLayers(embeddings, this.layers, heads, eps, attentionMask, headMask);
    return { ...runHead(this.head, hidden), attentions, hidden };
  }
}
