/**
 * The Llama family's forward pass in float64 (transformers' `LlamaForCausalLM`, `Qwen2ForCausalLM`,
 * `Qwen3ForCausalLM`, eager attention), from `model.safetensors`: per layer RMS norm → q/k/v projections (with
 * biases for Qwen2) → Qwen3's per-head RMS norm of queries and keys → rotary positions (rotate-half layout, Llama 3
 * scaling from `rope_scaling`) → causal grouped-query attention ÷ √d → o_proj + residual; RMS norm → SiLU-gated MLP +
 * residual; the final RMS norm and the LM head (tied to the embeddings unless the checkpoint has `lm_head.weight`).
 * The independent reference for both graph styles (unfused and onnxruntime-genai's fused operators).
 */
import { linear, matmulTransposed, transpose, type Matrix } from '../engine';
import { causalAttention } from './causalAttention';
import { Checkpoint } from './checkpoint';
import type { ReferenceOutput } from './checkpoint';
import { ropeInverseFrequencies, rotaryTables, type Llama3RopeScaling } from './rope';

export interface LlamaConfig {
  model_type: string;
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  num_hidden_layers: number;
  vocab_size: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling?: Llama3RopeScaling | null;
}

interface Projection {
  weight: Matrix<Float64Array>;
  bias?: Float64Array;
}

interface LlamaLayer {
  inputNorm: Float64Array;
  q: Projection;
  k: Projection;
  v: Projection;
  o: Projection;
  qNorm?: Float64Array;
  kNorm?: Float64Array;
  postNorm: Float64Array;
  gate: Projection;
  up: Projection;
  down: Projection;
}

/** x · 1/√(mean(x²) + ε) · γ over each group of `width` values. */
function rmsNorm(x: Float64Array, gamma: Float64Array, eps: number): Float64Array {
  const width = gamma.length;
  const out = new Float64Array(x.length);
  for (let start = 0; start < x.length; start += width) {
    let squares = 0;
    for (let index = 0; index < width; index += 1) squares += x[start + index]! ** 2;
    const inverse = 1 / Math.sqrt(squares / width + eps);
    for (let index = 0; index < width; index += 1) out[start + index] = x[start + index]! * inverse * gamma[index]!;
  }
  return out;
}

/** Rotates every head of `x` `[n, heads · headDim]` by its position (rotate-half: (x₁, x₂) → (x₁c − x₂s, x₂c + x₁s)). */
function rotate(x: Float64Array, n: number, heads: number, headDim: number, cos: Float64Array, sin: Float64Array): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(x.length);
  for (let token = 0; token < n; token += 1) {
    for (let head = 0; head < heads; head += 1) {
      const base = (token * heads + head) * headDim;
      for (let index = 0; index < half; index += 1) {
        const [first, second] = [x[base + index]!, x[base + index + half]!];
        const [c1, s1] = [cos[token * headDim + index]!, sin[token * headDim + index]!];
        const [c2, s2] = [cos[token * headDim + index + half]!, sin[token * headDim + index + half]!];
        out[base + index] = first * c1 - second * s1;
        out[base + index + half] = second * c2 + first * s2;
      }
    }
  }
  return out;
}

export class ReferenceLlama {
  private constructor(
    readonly config: LlamaConfig,
    private readonly embeddings: Matrix<Float64Array>,
    private readonly layers: LlamaLayer[],
    private readonly finalNorm: Float64Array,
    private readonly lmHead: Matrix<Float64Array>,
  ) {}

  get headDim(): number {
    return this.config.head_dim ?? this.config.hidden_size / this.config.num_attention_heads;
  }

  static load(safetensorsFile: string, config: LlamaConfig): ReferenceLlama {
    const checkpoint = new Checkpoint(safetensorsFile);
    const projection = (prefix: string): Projection => ({
      weight: transpose(checkpoint.matrix(`${prefix}.weight`)),
      ...(checkpoint.has(`${prefix}.bias`) ? { bias: checkpoint.vector(`${prefix}.bias`) } : {}),
    });
    const layers = Array.from({ length: config.num_hidden_layers }, (_, index): LlamaLayer => {
      const prefix = `model.layers.${index}`;
      return {
        inputNorm: checkpoint.vector(`${prefix}.input_layernorm.weight`),
        q: projection(`${prefix}.self_attn.q_proj`),
        k: projection(`${prefix}.self_attn.k_proj`),
        v: projection(`${prefix}.self_attn.v_proj`),
        o: projection(`${prefix}.self_attn.o_proj`),
        ...(checkpoint.has(`${prefix}.self_attn.q_norm.weight`)
          ? { qNorm: checkpoint.vector(`${prefix}.self_attn.q_norm.weight`), kNorm: checkpoint.vector(`${prefix}.self_attn.k_norm.weight`) }
          : {}),
        postNorm: checkpoint.vector(`${prefix}.post_attention_layernorm.weight`),
        gate: projection(`${prefix}.mlp.gate_proj`),
        up: projection(`${prefix}.mlp.up_proj`),
        down: projection(`${prefix}.mlp.down_proj`),
      };
    });
    const embeddings = checkpoint.matrix('model.embed_tokens.weight');
    const lmHead = checkpoint.has('lm_head.weight') ? checkpoint.matrix('lm_head.weight') : embeddings;
    return new ReferenceLlama(config, embeddings, layers, checkpoint.vector('model.norm.weight'), lmHead);
  }

  /** One sequence from position 0; `headMask` is `[layers × heads]` (1 = on). Logits `[n, vocab]`. */
  forward(inputIds: ArrayLike<number>, headMask?: ArrayLike<number>): ReferenceOutput {
    const { hidden_size: d, num_attention_heads: heads, num_hidden_layers: layerCount, rms_norm_eps: eps } = this.config;
    const kvHeads = this.config.num_key_value_heads ?? heads;
    const headDim = this.headDim;
    const n = inputIds.length;
    const hidden = new Float64Array(n * d);
    for (let token = 0; token < n; token += 1) {
      const id = Number(inputIds[token]);
      if (!(id >= 0 && id < this.embeddings.rows)) throw new RangeError(`token id ${id} outside the vocabulary`);
      hidden.set(this.embeddings.data.subarray(id * d, (id + 1) * d), token * d);
    }
    const inverse = ropeInverseFrequencies(headDim, this.config.rope_theta, this.config.rope_scaling ?? undefined);
    const { cos, sin } = rotaryTables(
      Array.from({ length: n }, (_, position) => position),
      inverse,
    );
    const apply = (x: Float64Array, width: number, p: Projection) => linear({ rows: n, cols: width, data: x }, p.weight, p.bias).data;
    const attentions = new Float64Array(layerCount * heads * n * n);
    let state = hidden;
    this.layers.forEach((layer, index) => {
      const x = rmsNorm(state, layer.inputNorm, eps);
      let q = apply(x, d, layer.q);
      let k = apply(x, d, layer.k);
      const v = apply(x, d, layer.v);
      if (layer.qNorm && layer.kNorm) {
        q = rmsNorm(q, layer.qNorm, eps);
        k = rmsNorm(k, layer.kNorm, eps);
      }
      const { context, probabilities } = causalAttention({
        queries: rotate(q, n, heads, headDim, cos, sin),
        keys: rotate(k, n, kvHeads, headDim, cos, sin),
        values: v,
        n,
        heads,
        kvHeads,
        headDim,
        ...(headMask ? { headMask: Array.from({ length: heads }, (_, head) => Number(headMask[index * heads + head])) } : {}),
      });
      attentions.set(probabilities, index * heads * n * n);
      const attended = apply(context, heads * headDim, layer.o);
      state = state.map((value, at) => value + attended[at]!);
      const y = rmsNorm(state, layer.postNorm, eps);
      const gate = apply(y, d, layer.gate);
      const up = apply(y, d, layer.up);
      const gated = gate.map((value, at) => (value / (1 + Math.exp(-value))) * up[at]!);
      const fed = apply(gated, gate.length / n, layer.down);
      state = state.map((value, at) => value + fed[at]!);
    });
    const final: Matrix<Float64Array> = { rows: n, cols: d, data: rmsNorm(state, this.finalNorm, eps) };
    const logits = matmulTransposed(final, this.lmHead);
    return { output: logits.data, dims: [n, this.lmHead.rows], attentions, hidden: final };
  }
}
