/**
 * GPT-2's forward pass in float64 (transformers' `GPT2LMHeadModel`, eager attention), from `model.safetensors`: word +
 * position embeddings, then per layer layer norm → Conv1D `c_attn` (weights `[in, out]`) → causal attention ÷ √d →
 * `c_proj` + residual; layer norm → `c_fc` → GELU (tanh approximation, `gelu_new`) → `c_proj` + residual; the final
 * layer norm and the LM head tied to the word embeddings. The independent reference for the GPT-2 graphs.
 */
import { layerNorm, linear, matmulTransposed, type Matrix } from '../engine';
import { causalAttention } from './causalAttention';
import { Checkpoint, type NormWeights } from './checkpoint';
import type { ReferenceOutput } from './checkpoint';

export interface Gpt2Config {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab_size: number;
  layer_norm_epsilon?: number;
}

interface Conv1D {
  weight: Matrix<Float64Array>;
  bias: Float64Array;
}

interface Gpt2Layer {
  ln1: NormWeights;
  attention: Conv1D;
  projection: Conv1D;
  ln2: NormWeights;
  fc: Conv1D;
  out: Conv1D;
}

function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export class ReferenceGpt2 {
  private constructor(
    readonly config: Gpt2Config,
    private readonly wte: Matrix<Float64Array>,
    private readonly wpe: Matrix<Float64Array>,
    private readonly layers: Gpt2Layer[],
    private readonly finalNorm: NormWeights,
  ) {}

  static load(safetensorsFile: string, config: Gpt2Config): ReferenceGpt2 {
    const checkpoint = new Checkpoint(safetensorsFile);
    const conv1d = (prefix: string): Conv1D => ({
      weight: checkpoint.matrix(`${prefix}.weight`),
      bias: checkpoint.vector(`${prefix}.bias`),
    });
    const layers = Array.from({ length: config.n_layer }, (_, index): Gpt2Layer => {
      const prefix = `transformer.h.${index}`;
      return {
        ln1: checkpoint.norm(`${prefix}.ln_1`),
        attention: conv1d(`${prefix}.attn.c_attn`),
        projection: conv1d(`${prefix}.attn.c_proj`),
        ln2: checkpoint.norm(`${prefix}.ln_2`),
        fc: conv1d(`${prefix}.mlp.c_fc`),
        out: conv1d(`${prefix}.mlp.c_proj`),
      };
    });
    return new ReferenceGpt2(
      config,
      checkpoint.matrix('transformer.wte.weight'),
      checkpoint.matrix('transformer.wpe.weight'),
      layers,
      checkpoint.norm('transformer.ln_f'),
    );
  }

  /** One sequence from position 0; `headMask` is `[layers × heads]` (1 = on). Logits `[n, vocab]`. */
  forward(inputIds: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput {
    const { n_embd: d, n_head: heads, n_layer: layerCount } = this.config;
    const eps = this.config.layer_norm_epsilon ?? 1e-5;
    const n = inputIds.length;
    if (n > this.config.n_positions) throw new RangeError(`${n} tokens exceed ${this.config.n_positions} positions`);
    const data = new Float64Array(n * d);
    for (let token = 0; token < n; token += 1) {
      const id = Number(inputIds[token]);
      if (!(id >= 0 && id < this.wte.rows)) throw new RangeError(`token id ${id} outside the vocabulary`);
      for (let feature = 0; feature < d; feature += 1)
        data[token * d + feature] = this.wte.data[id * d + feature]! + this.wpe.data[token * d + feature]!;
    }
    let hidden: Matrix<Float64Array> = { rows: n, cols: d, data };
    const headDim = d / heads;
    const attentions = new Float64Array(layerCount * heads * n * n);
    this.layers.forEach((layer, index) => {
      const x = layerNorm(hidden, layer.ln1.gamma, layer.ln1.beta, eps);
      const qkv = linear(x, layer.attention.weight, layer.attention.bias);
      const part = (offset: number) => {
        const out = new Float64Array(n * d);
        for (let token = 0; token < n; token += 1)
          out.set(qkv.data.subarray(token * 3 * d + offset, token * 3 * d + offset + d), token * d);
        return out;
      };
      const { context, probabilities } = causalAttention({
        queries: part(0),
        keys: part(d),
        values: part(2 * d),
        n,
        heads,
        kvHeads: heads,
        headDim,
        ...(headMask ? { headMask: Array.from({ length: heads }, (_, head) => Number(headMask[index * heads + head])) } : {}),
      });
      attentions.set(probabilities, index * heads * n * n);
      const attended = linear({ rows: n, cols: d, data: context }, layer.projection.weight, layer.projection.bias);
      hidden = { rows: n, cols: d, data: hidden.data.map((value, at) => value + attended.data[at]!) };
      const y = layerNorm(hidden, layer.ln2.gamma, layer.ln2.beta, eps);
      const expanded = linear(y, layer.fc.weight, layer.fc.bias);
      const fed = linear({ rows: n, cols: expanded.cols, data: expanded.data.map(geluTanh) }, layer.out.weight, layer.out.bias);
      hidden = { rows: n, cols: d, data: hidden.data.map((value, at) => value + fed.data[at]!) };
    });
    const final = layerNorm(hidden, this.finalNorm.gamma, this.finalNorm.beta, eps);
    const logits = matmulTransposed(final, this.wte);
    return { output: logits.data, dims: [n, this.wte.rows], attentions, hidden: final };
  }
}
