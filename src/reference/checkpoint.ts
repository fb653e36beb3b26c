/**
 * Reading a `model.safetensors` checkpoint into the float64 pieces the reference forwards compute with: linear
 * weights go from PyTorch's `[out, in]` to the engine's `X @ W` layout.
 */
import { gelu, layerNorm, linear, multiHeadAttention, transpose, type Matrix, type MultiHeadParams } from '../engine';
import { readSafetensors, type NamedTensor } from './safetensors';

export interface LinearWeights {
  weight: Matrix<Float64Array>;
  bias: Float64Array;
}

export interface NormWeights {
  gamma: Float64Array;
  beta: Float64Array;
}

export class Checkpoint {
  private readonly tensors: Map<string, NamedTensor>;

  constructor(private readonly file: string) {
    this.tensors = readSafetensors(file);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): NamedTensor {
    const found = this.tensors.get(name);
    if (!found) throw new Error(`${this.file} has no tensor ${name}`);
    return found;
  }

  vector(name: string): Float64Array {
    return Float64Array.from(this.get(name).data as Float32Array);
  }

  /** `[rows, cols]` as stored (an embedding table). */
  matrix(name: string): Matrix<Float64Array> {
    const tensor = this.get(name);
    const [rows = 0, cols = 0] = tensor.shape;
    return { rows, cols, data: Float64Array.from(tensor.data as Float32Array) };
  }

  linear(prefix: string): LinearWeights {
    return { weight: transpose(this.matrix(`${prefix}.weight`)), bias: this.vector(`${prefix}.bias`) };
  }

  norm(prefix: string): NormWeights {
    return { gamma: this.vector(`${prefix}.weight`), beta: this.vector(`${prefix}.bias`) };
  }
}

export function addMatrices(a: Matrix<Float64Array>, b: Matrix<Float64Array>): Matrix<Float64Array> {
  return { rows: a.rows, cols: a.cols, data: a.data.map((value, index) => value + b.data[index]!) };
}

/** Row `row` of a matrix, as a one-row matrix. */
export function rowOf(m: Matrix<Float64Array>, row: number): Matrix<Float64Array> {
  return { rows: 1, cols: m.cols, data: m.data.slice(row * m.cols, (row + 1) * m.cols) };
}

export function mapMatrix(m: Matrix<Float64Array>, f: (value: number) => number): Matrix<Float64Array> {
  return { rows: m.rows, cols: m.cols, data: m.data.map(f) };
}

/** What every reference forward returns. */
export interface ReferenceOutput {
  /** The task head's output, flattened: logits `[labels]` or `[n, labels]`, `[n, vocab]`, or the last hidden state. */
  output: Float64Array;
  dims: number[];
  /** `[layers, heads, n, n]` attention probabilities (after the head mask). */
  attentions: Float64Array;
  /** The final hidden states `[n, hidden]`. */
  hidden: Matrix<Float64Array>;
}

/** One post-norm encoder layer (BERT's and DistilBERT's): self-attention, add & norm, GELU feed-forward, add & norm. */
export interface EncoderLayerWeights {
  attention: MultiHeadParams;
  attentionNorm: NormWeights;
  intermediate: LinearWeights;
  output: LinearWeights;
  outputNorm: NormWeights;
}

/**
 * Runs the layers over the embeddings: padding keys masked (`attentionMask[j] = 0`), heads switched off by
 * `headMask` `[layers × heads]` (1 = on, as Hugging Face's `head_mask`). Returns the last hidden states and every
 * layer's attention probabilities `[layers, heads, n, n]`.
 */
export function runEncoderLayers(
  embedded: Matrix<Float64Array>,
  layers: readonly EncoderLayerWeights[],
  heads: number,
  eps: number,
  attentionMask?: ArrayLike<number>,
  headMask?: ArrayLike<number>,
): { hidden: Matrix<Float64Array>; attentions: Float64Array } {
  const n = embedded.rows;
  let hidden = embedded;
  const attentions = new Float64Array(layers.length * heads * n * n);
  layers.forEach((layer, index) => {
    const attention = multiHeadAttention(hidden, layer.attention, {
      heads,
      ...(attentionMask ? { keyMask: attentionMask } : {}),
      ...(headMask ? { headMask: Array.from({ length: heads }, (_, head) => Number(headMask[index * heads + head])) } : {}),
    });
    attentions.set(attention.weights.data, index * heads * n * n);
    const attended = layerNorm(addMatrices(attention.output, hidden), layer.attentionNorm.gamma, layer.attentionNorm.beta, eps);
    const expanded = linear(attended, layer.intermediate.weight, layer.intermediate.bias);
    const projected = linear(
      { rows: expanded.rows, cols: expanded.cols, data: gelu(expanded.data) },
      layer.output.weight,
      layer.output.bias,
    );
    hidden = layerNorm(addMatrices(projected, attended), layer.outputNorm.gamma, layer.outputNorm.beta, eps);
  });
  return { hidden, attentions };
}
