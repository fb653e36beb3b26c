/**
 * Llama-family test models (Llama 3.x and SmolLM: `llama`; Qwen2/2.5: `qwen2`, with q/k/v biases; Qwen3: `qwen3`,
 * an RMS norm on every query and key head), in the two graph styles the hub has:
 *
 * - `unfused`: optimum's export. Per layer: RMS norm (Pow, ReduceMean, Sqrt, Reciprocal, Mul), the projections, rotary
 *   positions as primitive ops (cos/sin of position_ids × the inverse frequencies, `rotate_half` by Slice/Neg/Concat),
 *   the past concatenated with the new keys and values, grouped-query heads repeated (Unsqueeze, Expand, Reshape),
 *   Q·Kᵀ × 1/√d, the causal and padding mask (Where), Softmax, ×V, o_proj; RMS norm, SiLU-gated MLP; residuals.
 *   Inputs `input_ids`, `attention_mask`, `position_ids`, `past_key_values.{i}.key|value`.
 * - `fused`: onnxruntime-genai's builder for the CPU. `SimplifiedLayerNormalization` and
 *   `SkipSimplifiedLayerNormalization` (whose 4th output is the residual), `GroupQueryAttention` with the rotary
 *   inside (`do_rotary`, the `cos_cache`/`sin_cache` initializers) and its sequence lengths derived from the
 *   attention mask, Qwen3's q/k norms as separate `SimplifiedLayerNormalization` nodes (the CPU kernel does not take
 *   them fused). No `position_ids` input.
 *
 * The LM head is tied to the embeddings (the checkpoint stores `model.embed_tokens.weight` once); q4 writes every
 * projection as MatMulNBits.
 */
import { DataType, valueInfo, type onnx } from '../../../src/model/onnx/graph';
import { ropeInverseFrequencies } from '../../../src/reference/rope';
import type { NamedTensor } from '../../../src/reference/safetensors';
import type { DecoderFamilyId } from '../../../src/shared/analysis';
import type { AttentionStyle, DecoderSizes } from './decoderShapes';
import { GraphBuilder, type TestModelDtype } from './graphBuilder';
import { WeightWriter } from './weights';

export type LlamaFamily = Exclude<DecoderFamilyId, 'gpt2'>;

export function llamaWeights(family: LlamaFamily, sizes: DecoderSizes, vocabSize: number, seed: number): Array<[string, NamedTensor]> {
  const { hidden, heads, kvHeads, headDim, intermediate, layers, weightStd } = sizes;
  const writer = new WeightWriter(seed, weightStd);
  const rms = (name: string, width: number) => writer.tensor(name, [width], writer.uniform(width, 0.1, 1));
  const projection = (prefix: string, out: number, input: number, bias: boolean) => {
    writer.tensor(`${prefix}.weight`, [out, input], writer.uniform(out * input, weightStd));
    if (bias) writer.tensor(`${prefix}.bias`, [out], writer.uniform(out, 0.5 * weightStd));
  };
  writer.embedding('model.embed_tokens.weight', vocabSize, hidden);
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    rms(`${prefix}.input_layernorm.weight`, hidden);
    const bias = family === 'qwen2';
    projection(`${prefix}.self_attn.q_proj`, heads * headDim, hidden, bias);
    projection(`${prefix}.self_attn.k_proj`, kvHeads * headDim, hidden, bias);
    projection(`${prefix}.self_attn.v_proj`, kvHeads * headDim, hidden, bias);
    projection(`${prefix}.self_attn.o_proj`, hidden, heads * headDim, false);
    if (family === 'qwen3') {
      rms(`${prefix}.self_attn.q_norm.weight`, headDim);
      rms(`${prefix}.self_attn.k_norm.weight`, headDim);
    }
    rms(`${prefix}.post_attention_layernorm.weight`, hidden);
    projection(`${prefix}.mlp.gate_proj`, intermediate, hidden, false);
    projection(`${prefix}.mlp.up_proj`, intermediate, hidden, false);
    projection(`${prefix}.mlp.down_proj`, hidden, intermediate, false);
  }
  rms('model.norm.weight', hidden);
  return writer.entries;
}

function pastInputs(sizes: DecoderSizes): onnx.IValueInfoProto[] {
  return Array.from({ length: sizes.layers }, (_, layer) =>
    (['key', 'value'] as const).map((kind) =>
      valueInfo(`past_key_values.${layer}.${kind}`, DataType.FLOAT, ['batch_size', sizes.kvHeads, 'past_sequence_length', sizes.headDim]),
    ),
  ).flat();
}

function outputsOf(sizes: DecoderSizes, vocab: number): onnx.IValueInfoProto[] {
  return [
    valueInfo('logits', DataType.FLOAT, ['batch_size', 'sequence_length', vocab]),
    ...Array.from({ length: sizes.layers }, (_, layer) =>
      (['key', 'value'] as const).map((kind) =>
        valueInfo(`present.${layer}.${kind}`, DataType.FLOAT, ['batch_size', sizes.kvHeads, 'total_sequence_length', sizes.headDim]),
      ),
    ).flat(),
  ];
}

const KEEP = (name: string) => name.includes('norm') || name.startsWith('model.embed_tokens') || name.endsWith('.bias');

function mlp(g: GraphBuilder, x: string, prefix: string, scope: string): string {
  const gate = g.linear(x, `${prefix}.mlp.gate_proj`, `${scope}/mlp/gate_proj`, { bias: false });
  const up = g.linear(x, `${prefix}.mlp.up_proj`, `${scope}/mlp/up_proj`, { bias: false });
  const activated = g.one('Mul', [gate, g.one('Sigmoid', [gate], `${scope}/mlp/act_fn/Sigmoid`)], `${scope}/mlp/act_fn/Mul`);
  return g.linear(g.one('Mul', [activated, up], `${scope}/mlp/Mul`), `${prefix}.mlp.down_proj`, `${scope}/mlp/down_proj`, { bias: false });
}

export function llamaUnfusedGraph(
  family: LlamaFamily,
  sizes: DecoderSizes,
  weights: Map<string, NamedTensor>,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  const g = new GraphBuilder(weights, dtype);
  g.keepByName([...weights.keys()].filter(KEEP));
  const { heads, kvHeads, headDim, layers, normEps: eps } = sizes;
  const half = headDim / 2;
  const bias = family === 'qwen2';

  // Rotary tables from position_ids: [batch, 1, seq, headDim].
  const inverse = g.floats('/model/rotary_emb/inv_freq', ropeInverseFrequencies(headDim, sizes.ropeTheta, sizes.ropeScaling), [1, half]);
  const positions = g.one(
    'Cast',
    [g.one('Unsqueeze', ['position_ids', g.int64('/Constant_axis_last', [2])], '/model/rotary_emb/Unsqueeze')],
    '/model/rotary_emb/Cast',
    { to: DataType.FLOAT },
  );
  const frequencies = g.one('MatMul', [positions, inverse], '/model/rotary_emb/MatMul');
  const angles = g.one('Concat', [frequencies, frequencies], '/model/rotary_emb/Concat', { axis: -1 });
  const headAxis = g.int64('/Constant_axis_heads', [1]);
  const cosTable = g.one('Unsqueeze', [g.one('Cos', [angles], '/model/rotary_emb/Cos'), headAxis], '/model/Unsqueeze_cos');
  const sinTable = g.one('Unsqueeze', [g.one('Sin', [angles], '/model/rotary_emb/Sin'), headAxis], '/model/Unsqueeze_sin');

  // Which keys each query may read: key position ≤ query position, and not padding.
  const total = g.one('Gather', [g.one('Shape', ['attention_mask'], '/model/Shape'), g.int64('/Constant_one', [1], [])], '/model/Gather', {
    axis: 0,
  });
  const keyPositions = g.one('Range', [g.int64('/Constant_zero', [0], []), total, g.int64('/Constant_step', [1], [])], '/model/Range');
  const queryPositions = g.one('Unsqueeze', ['position_ids', g.int64('/Constant_axes13', [1, 3])], '/model/Unsqueeze');
  const causal = g.one('LessOrEqual', [keyPositions, queryPositions], '/model/LessOrEqual');
  const notPadding = g.one(
    'Equal',
    [
      g.one('Unsqueeze', ['attention_mask', g.int64('/Constant_axes12', [1, 2])], '/model/Unsqueeze_1'),
      g.int64('/Constant_one_value', [1], []),
    ],
    '/model/Equal',
  );
  const allowed = g.one('And', [causal, notPadding], '/model/And');
  const minimum = g.float('/Constant_min', -3.4028234663852886e38);
  const scale = g.float('/Constant_scaling', 1 / Math.sqrt(headDim));
  const splitShape = (count: number) => g.int64(`/Constant_split_${count}`, [0, 0, count, headDim]);
  const [queryShape, kvShape] = [splitShape(heads), splitShape(kvHeads)];
  const mergeShape = g.int64('/Constant_merge', [0, 0, heads * headDim]);
  const repeat = g.int64('/Constant_repeat', [1, 1, heads / kvHeads, 1, 1]);
  const repeatedShape = g.int64('/Constant_repeated', [0, heads, -1, headDim]);
  const expandAxis = g.int64('/Constant_axis2', [2]);
  const firstHalf = [g.int64('/Constant_h0', [0]), g.int64('/Constant_h1', [half]), g.int64('/Constant_axis_m1', [-1])] as const;
  const secondHalf = [g.int64('/Constant_h1b', [half]), g.int64('/Constant_h2', [headDim]), firstHalf[2]] as const;
  const rotate = (x: string, scope: string) => {
    const x1 = g.one('Slice', [x, firstHalf[0], firstHalf[1], firstHalf[2]], `${scope}/Slice`);
    const x2 = g.one('Slice', [x, secondHalf[0], secondHalf[1], secondHalf[2]], `${scope}/Slice_1`);
    const rotated = g.one('Concat', [g.one('Neg', [x2], `${scope}/Neg`), x1], `${scope}/Concat`, { axis: -1 });
    return g.one('Add', [g.one('Mul', [x, cosTable], `${scope}/Mul`), g.one('Mul', [rotated, sinTable], `${scope}/Mul_1`)], `${scope}/Add`);
  };

  let hidden = g.one('Gather', ['model.embed_tokens.weight', 'input_ids'], '/model/embed_tokens/Gather');
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    const scope = `/model/layers.${layer}`;
    const x = g.rmsNorm(hidden, `${prefix}.input_layernorm.weight`, `${scope}/input_layernorm`, eps);
    const project = (name: 'q' | 'k' | 'v', shape: string) =>
      g.one(
        'Reshape',
        [g.linear(x, `${prefix}.self_attn.${name}_proj`, `${scope}/self_attn/${name}_proj`, { bias }), shape],
        `${scope}/self_attn/Reshape_${name}`,
      );
    let q = project('q', queryShape);
    let k = project('k', kvShape);
    const v = project('v', kvShape);
    if (family === 'qwen3') {
      q = g.rmsNorm(q, `${prefix}.self_attn.q_norm.weight`, `${scope}/self_attn/q_norm`, eps);
      k = g.rmsNorm(k, `${prefix}.self_attn.k_norm.weight`, `${scope}/self_attn/k_norm`, eps);
    }
    const toHeads = (tensor: string, name: string) =>
      g.one('Transpose', [tensor], `${scope}/self_attn/Transpose_${name}`, { perm: [0, 2, 1, 3] });
    const qRotated = rotate(toHeads(q, 'q'), `${scope}/self_attn/rotary_q`);
    const kRotated = rotate(toHeads(k, 'k'), `${scope}/self_attn/rotary_k`);
    const presentKey = `present.${layer}.key`;
    const presentValue = `present.${layer}.value`;
    g.named('Concat', [`past_key_values.${layer}.key`, kRotated], [presentKey], `${scope}/self_attn/Concat_k`, { axis: 2 });
    g.named('Concat', [`past_key_values.${layer}.value`, toHeads(v, 'v')], [presentValue], `${scope}/self_attn/Concat_v`, { axis: 2 });
    // repeat_kv: every query head reads the key/value head of its group.
    const repeated = (tensor: string, name: string) =>
      kvHeads === heads
        ? tensor
        : g.one(
            'Reshape',
            [
              g.one(
                'Expand',
                [g.one('Unsqueeze', [tensor, expandAxis], `${scope}/self_attn/Unsqueeze_${name}`), repeat],
                `${scope}/self_attn/Expand_${name}`,
              ),
              repeatedShape,
            ],
            `${scope}/self_attn/Reshape_rep_${name}`,
          );
    const keysT = g.one('Transpose', [repeated(presentKey, 'k')], `${scope}/self_attn/Transpose_kT`, { perm: [0, 1, 3, 2] });
    const scores = g.one('Mul', [g.one('MatMul', [qRotated, keysT], `${scope}/self_attn/MatMul`), scale], `${scope}/self_attn/Mul`);
    const probabilities = g.one(
      'Softmax',
      [g.one('Where', [allowed, scores, minimum], `${scope}/self_attn/Where`)],
      `${scope}/self_attn/Softmax`,
      { axis: -1 },
    );
    const context = g.one('MatMul', [probabilities, repeated(presentValue, 'v')], `${scope}/self_attn/MatMul_1`);
    const merged = g.one(
      'Reshape',
      [g.one('Transpose', [context], `${scope}/self_attn/Transpose_ctx`, { perm: [0, 2, 1, 3] }), mergeShape],
      `${scope}/self_attn/Reshape_ctx`,
    );
    hidden = g.one(
      'Add',
      [hidden, g.linear(merged, `${prefix}.self_attn.o_proj`, `${scope}/self_attn/o_proj`, { bias: false })],
      `${scope}/Add`,
    );
    const y = g.rmsNorm(hidden, `${prefix}.post_attention_layernorm.weight`, `${scope}/post_attention_layernorm`, eps);
    hidden = g.one('Add', [hidden, mlp(g, y, prefix, scope)], `${scope}/Add_1`);
  }
  const final = g.rmsNorm(hidden, 'model.norm.weight', '/model/norm', eps);
  return tiedHeadModel(g, final, weights, sizes, version, true);
}

/** The LM head tied to the embeddings, and the graph's inputs (optimum's take position ids; genai's do not) and outputs. */
function tiedHeadModel(
  g: GraphBuilder,
  final: string,
  weights: Map<string, NamedTensor>,
  sizes: DecoderSizes,
  version: number,
  positionIds: boolean,
): ReturnType<GraphBuilder['modelWith']> {
  g.named(
    'MatMul',
    [final, g.one('Transpose', ['model.embed_tokens.weight'], '/lm_head/Transpose', { perm: [1, 0] })],
    ['logits'],
    '/lm_head/MatMul',
  );
  const vocab = weights.get('model.embed_tokens.weight')!.shape[0]!;
  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']),
    ...(positionIds ? [valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length'])] : []),
    ...pastInputs(sizes),
  ];
  return g.modelWith(inputs, outputsOf(sizes, vocab), version);
}

export function llamaFusedGraph(
  family: LlamaFamily,
  sizes: DecoderSizes,
  weights: Map<string, NamedTensor>,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  const g = new GraphBuilder(weights, dtype);
  g.keepByName([...weights.keys()].filter(KEEP));
  const { heads, kvHeads, headDim, layers, maxPositions, normEps: eps } = sizes;
  const half = headDim / 2;
  const bias = family === 'qwen2';
  // The rotary caches genai bakes in: cos/sin of position × frequency for every position, [max, headDim/2].
  const inverse = ropeInverseFrequencies(headDim, sizes.ropeTheta, sizes.ropeScaling);
  const cacheLength = Math.min(maxPositions, 4096);
  const cosCache = new Float32Array(cacheLength * half);
  const sinCache = new Float32Array(cacheLength * half);
  for (let position = 0; position < cacheLength; position += 1) {
    for (let index = 0; index < half; index += 1) {
      cosCache[position * half + index] = Math.cos(position * inverse[index]!);
      sinCache[position * half + index] = Math.sin(position * inverse[index]!);
    }
  }
  g.floats('cos_cache', cosCache, [cacheLength, half]);
  g.floats('sin_cache', sinCache, [cacheLength, half]);
  const reformat = '/model/attn_mask_reformat/attn_mask_subgraph';
  const summed = g.one('ReduceSum', ['attention_mask', g.int64('/Constant_axis1', [1])], `${reformat}/ReduceSum`, { keepdims: 0 });
  const seqlensK = g.one('Cast', [g.one('Sub', [summed, g.int64('/Constant_one', [1], [])], `${reformat}/Sub`)], `${reformat}/Sub/Cast`, {
    to: DataType.INT32,
  });
  const totalLength = g.one(
    'Cast',
    [
      g.one(
        'Gather',
        [g.one('Shape', ['attention_mask'], `${reformat}/Shape`), g.int64('/Constant_one_index', [1], [])],
        `${reformat}/Gather`,
        { axis: 0 },
      ),
    ],
    `${reformat}/Gather/Cast`,
    { to: DataType.INT32 },
  );
  const headsShape = (count: number) => g.int64(`/Constant_heads_${count}`, [0, 0, count, headDim]);
  const flatShape = (count: number) => g.int64(`/Constant_flat_${count}`, [0, 0, count * headDim]);

  let residual = g.one('Gather', ['model.embed_tokens.weight', 'input_ids'], '/model/embed_tokens/Gather');
  let pending: string | undefined;
  const norm = (weight: string, scope: string): string => {
    if (pending === undefined)
      return g.one('SimplifiedLayerNormalization', [residual, weight], `${scope}/LayerNorm`, {
        axis: -1,
        epsilon: { float: eps },
        stash_type: 1,
      });
    const [normed, , , sum] = g.addMicrosoft(
      'SkipSimplifiedLayerNormalization',
      [pending, residual, weight],
      `${scope}/SkipLayerNorm`,
      { epsilon: { float: eps } },
      [undefined, undefined, undefined, undefined],
    ) as [string, string, string, string];
    residual = sum;
    pending = undefined;
    return normed;
  };
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `model.layers.${layer}`;
    const scope = `/model/layers.${layer}`;
    const x = norm(`${prefix}.input_layernorm.weight`, `${scope}/input_layernorm`);
    const project = (name: 'q' | 'k' | 'v') => g.linear(x, `${prefix}.self_attn.${name}_proj`, `${scope}/attn/${name}_proj`, { bias });
    let q = project('q');
    let k = project('k');
    const v = project('v');
    if (family === 'qwen3') {
      const perHead = (tensor: string, name: 'q' | 'k', count: number) => {
        const split = g.one('Reshape', [tensor, headsShape(count)], `${scope}/attn/${name}_norm/Reshape_1`);
        const normed = g.one(
          'SimplifiedLayerNormalization',
          [split, `${prefix}.self_attn.${name}_norm.weight`],
          `${scope}/attn/${name}_norm/SimplifiedLayerNormalization`,
          { axis: -1, epsilon: { float: eps }, stash_type: 1 },
        );
        return g.one('Reshape', [normed, flatShape(count)], `${scope}/attn/${name}_norm/Reshape_2`);
      };
      q = perHead(q, 'q', heads);
      k = perHead(k, 'k', kvHeads);
    }
    const [attended] = g.addMicrosoft(
      'GroupQueryAttention',
      [q, k, v, `past_key_values.${layer}.key`, `past_key_values.${layer}.value`, seqlensK, totalLength, 'cos_cache', 'sin_cache'],
      `${scope}/attn/GroupQueryAttention`,
      {
        num_heads: heads,
        kv_num_heads: kvHeads,
        scale: { float: 1 / Math.sqrt(headDim) },
        do_rotary: 1,
        rotary_interleaved: 0,
        local_window_size: -1,
      },
      [undefined, `present.${layer}.key`, `present.${layer}.value`],
    ) as [string];
    pending = g.linear(attended, `${prefix}.self_attn.o_proj`, `${scope}/attn/o_proj`, { bias: false });
    const y = norm(`${prefix}.post_attention_layernorm.weight`, `${scope}/post_attention_layernorm`);
    pending = mlp(g, y, prefix, scope);
  }
  const final = norm('model.norm.weight', `/model/layers.${layers}/final_norm_layernorm`);
  return tiedHeadModel(g, final, weights, sizes, version, false);
}

export function llamaGraph(
  family: LlamaFamily,
  style: AttentionStyle,
  sizes: DecoderSizes,
  weights: Map<string, NamedTensor>,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  return style === 'fused'
    ? llamaFusedGraph(family, sizes, weights, dtype, version)
    : llamaUnfusedGraph(family, sizes, weights, dtype, version);
}
