/**
 * The task heads of the encoder references, after Hugging Face's modules: a classifier on the first token or on
 * every token, the masked-LM head (its decoder tied to the word embeddings), or none (the base model).
 */
import { gelu, layerNorm, linear, matmulTransposed, type Matrix } from '../engine';
import { mapMatrix, rowOf, type LinearWeights, type NormWeights } from './checkpoint';

export type ReferenceTask = 'text-classification' | 'token-classification' | 'fill-mask' | 'feature-extraction';

/** The task of a Hugging Face architecture class name (`BertForMaskedLM` → fill-mask). */
export function referenceTaskOf(architecture: string | undefined): ReferenceTask {
  if (!architecture || architecture.endsWith('Model')) return 'feature-extraction';
  if (architecture.endsWith('ForSequenceClassification')) return 'text-classification';
  if (architecture.endsWith('ForTokenClassification')) return 'token-classification';
  if (architecture.endsWith('ForMaskedLM')) return 'fill-mask';
  throw new Error(`the reference has no head for ${architecture}`);
}

/** How a sequence classifier reads the first token's state before its last linear layer. */
export interface SequenceClassifier {
  /** BERT's pooler and RoBERTa's classifier.dense use tanh; DistilBERT's pre_classifier ReLU. */
  pre: LinearWeights & { activation: 'tanh' | 'relu' };
  out: LinearWeights;
}

export interface MaskedLmHead {
  dense: LinearWeights;
  norm: NormWeights;
  eps: number;
  /** The word embeddings `[vocab, hidden]` the decoder is tied to. */
  wordEmbeddings: Matrix<Float64Array>;
  bias: Float64Array;
}

export type ReferenceHead =
  | { task: 'text-classification'; classifier: SequenceClassifier }
  | { task: 'token-classification'; classifier: LinearWeights }
  | { task: 'fill-mask'; lm: MaskedLmHead }
  | { task: 'feature-extraction' };

/** The head's output for the final hidden states, with its dimensions. */
export function runHead(head: ReferenceHead, hidden: Matrix<Float64Array>): { output: Float64Array; dims: number[] } {
  switch (head.task) {
    case 'text-classification': {
      const { pre, out } = head.classifier;
      const activation = pre.activation === 'tanh' ? Math.tanh : (value: number) => Math.max(0, value);
      const pooled = mapMatrix(linear(rowOf(hidden, 0), pre.weight, pre.bias), activation);
      const logits = linear(pooled, out.weight, out.bias);
      return { output: logits.data, dims: [logits.cols] };
    }
    case 'token-classification': {
      const logits = linear(hidden, head.classifier.weight, head.classifier.bias);
      return { output: logits.data, dims: [logits.rows, logits.cols] };
    }
    case 'fill-mask': {
      const { dense, norm, eps, wordEmbeddings, bias } = head.lm;
      const projected = linear(hidden, dense.weight, dense.bias);
      const transformed = layerNorm({ rows: projected.rows, cols: projected.cols, data: gelu(projected.data) }, norm.gamma, norm.beta, eps);
      const logits = matmulTransposed(transformed, wordEmbeddings);
      logits.data.forEach((value, index) => (logits.data[index] = value + bias[index % logits.cols]!));
      return { output: logits.data, dims: [logits.rows, logits.cols] };
    }
    case 'feature-extraction':
      return { output: hidden.data.slice(), dims: [hidden.rows, hidden.cols] };
  }
}
