/**
 * GPT-2 test models, shaped as optimum's `text-generation-with-past` export that transformers.js runs:
 *
 * - inputs `input_ids`, `attention_mask` (past + new tokens), `position_ids`, `past_key_values.{i}.key|value`
 *   `[batch, heads, past, head]`; outputs `logits` and `present.{i}.key|value`;
 * - per layer: layer norm, Conv1D `c_attn` (one `[d, 3d]` MatMul, then Split), the past concatenated with the new
 *   keys and values, Q·Kᵀ ÷ √d, the causal mask (Where), the padding mask, Softmax, ×V, `c_proj`; layer norm, Conv1D
 *   `c_fc`, GELU (tanh approximation, `gelu_new`), `c_proj`; residuals;
 * - the LM head tied to the word embeddings (the checkpoint stores `transformer.wte.weight` once).
 *
 * `merged` writes the older `decoder_model_merged.onnx` instead: one `If` on a `use_cache_branch` input whose two
 * branches (with and without the past) each hold the whole decoder, as `optimum` merged them.
 */
import { DataType, valueInfo, type onnx } from '../../../src/model/onnx/graph';
import type { NamedTensor } from '../../../src/reference/safetensors';
import type { DecoderSizes } from './decoderShapes';
import { GraphBuilder, type TestModelDtype } from './graphBuilder';
import { WeightWriter } from './weights';

/** Weights in the checkpoint's layout: GPT-2's Conv1D stores `[in, out]`. */
export function gpt2Weights(sizes: DecoderSizes, vocabSize: number, seed: number): Array<[string, NamedTensor]> {
  const { hidden: d, intermediate, layers, maxPositions, weightStd } = sizes;
  const writer = new WeightWriter(seed, weightStd);
  const conv1d = (prefix: string, input: number, out: number) => {
    writer.tensor(`${prefix}.weight`, [input, out], writer.uniform(input * out, weightStd));
    writer.tensor(`${prefix}.bias`, [out], writer.uniform(out, 0.1 * weightStd));
  };
  writer.embedding('transformer.wte.weight', vocabSize, d);
  writer.embedding('transformer.wpe.weight', maxPositions, d);
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `transformer.h.${layer}`;
    writer.norm(`${prefix}.ln_1`, d);
    conv1d(`${prefix}.attn.c_attn`, d, 3 * d);
    conv1d(`${prefix}.attn.c_proj`, d, d);
    writer.norm(`${prefix}.ln_2`, d);
    conv1d(`${prefix}.mlp.c_fc`, d, intermediate);
    conv1d(`${prefix}.mlp.c_proj`, intermediate, d);
  }
  writer.norm('transformer.ln_f', d);
  return writer.entries;
}

/** The decoder's nodes in one builder: `withPast` false ignores the past inputs (the merged graph's first branch). */
function decoderNodes(
  g: GraphBuilder,
  sizes: DecoderSizes,
  withPast: boolean,
  outputNames: { logits: string; present: (layer: number, kind: 'key' | 'value') => string },
  root = '',
): void {
  const { hidden: d, heads, headDim, layers, normEps: eps } = sizes;
  const words = g.one('Gather', ['transformer.wte.weight', 'input_ids'], `${root}/transformer/wte/Gather`);
  const positions = g.one('Gather', ['transformer.wpe.weight', 'position_ids'], `${root}/transformer/wpe/Gather`);
  let hidden = g.one('Add', [words, positions], `${root}/transformer/Add`);
  const splitShape = g.int64(`${root}/Constant_split_shape`, [0, 0, heads, headDim]);
  const mergeShape = g.int64(`${root}/Constant_merge_shape`, [0, 0, d]);
  const thirds = g.int64(`${root}/Constant_thirds`, [d, d, d]);
  const minimum = g.float(`${root}/Constant_min`, -3.4028234663852886e38);
  const scale = g.float(`${root}/Constant_sqrt_head`, Math.sqrt(headDim));
  // Which keys each query may read: key position ≤ query position (the causal mask), and not padding.
  const total = g.one(
    'Gather',
    [g.one('Shape', ['attention_mask'], `${root}/transformer/Shape`), g.int64(`${root}/Constant_one`, [1], [])],
    `${root}/transformer/Gather`,
    { axis: 0 },
  );
  const keyPositions = g.one(
    'Range',
    [g.int64(`${root}/Constant_zero`, [0], []), total, g.int64(`${root}/Constant_step`, [1], [])],
    `${root}/transformer/Range`,
  );
  const queryPositions = g.one('Unsqueeze', ['position_ids', g.int64(`${root}/Constant_axes13`, [1, 3])], `${root}/transformer/Unsqueeze`);
  const causal = g.one('LessOrEqual', [keyPositions, queryPositions], `${root}/transformer/LessOrEqual`);
  const notPadding = g.one(
    'Equal',
    [
      g.one('Unsqueeze', ['attention_mask', g.int64(`${root}/Constant_axes12`, [1, 2])], `${root}/transformer/Unsqueeze_1`),
      g.int64(`${root}/Constant_one_value`, [1], []),
    ],
    `${root}/transformer/Equal`,
  );
  const allowed = g.one('And', [causal, notPadding], `${root}/transformer/And`);
  const gelu = (x: string, scope: string) => {
    const cubed = g.one(
      'Mul',
      [g.one('Pow', [x, g.float(`${scope}/Constant_3`, 3)], `${scope}/Pow`), g.float(`${scope}/Constant_c`, 0.044715)],
      `${scope}/Mul`,
    );
    const inner = g.one(
      'Mul',
      [g.one('Add', [x, cubed], `${scope}/Add`), g.float(`${scope}/Constant_k`, Math.sqrt(2 / Math.PI))],
      `${scope}/Mul_1`,
    );
    const plusOne = g.one('Add', [g.one('Tanh', [inner], `${scope}/Tanh`), g.float(`${scope}/Constant_one`, 1)], `${scope}/Add_1`);
    return g.one('Mul', [g.one('Mul', [x, g.float(`${scope}/Constant_half`, 0.5)], `${scope}/Mul_2`), plusOne], `${scope}/Mul_3`);
  };
  for (let layer = 0; layer < layers; layer += 1) {
    const prefix = `transformer.h.${layer}`;
    const scope = `${root}/transformer/h.${layer}`;
    const x = g.layerNorm(hidden, `${prefix}.ln_1`, `${scope}/ln_1`, eps);
    const qkv = g.linear(x, `${prefix}.attn.c_attn`, `${scope}/attn/c_attn`, { layout: 'in-out' });
    const [q, k, v] = g.add('Split', [qkv, thirds], `${scope}/attn/Split`, { axis: 2 }, 3) as [string, string, string];
    const toHeads = (tensor: string, name: string) =>
      g.one('Transpose', [g.one('Reshape', [tensor, splitShape], `${scope}/attn/Reshape${name}`)], `${scope}/attn/Transpose${name}`, {
        perm: [0, 2, 1, 3],
      });
    const presentKey = outputNames.present(layer, 'key');
    const presentValue = outputNames.present(layer, 'value');
    if (withPast) {
      g.named('Concat', [`past_key_values.${layer}.key`, toHeads(k, '_1')], [presentKey], `${scope}/attn/Concat`, { axis: 2 });
      g.named('Concat', [`past_key_values.${layer}.value`, toHeads(v, '_2')], [presentValue], `${scope}/attn/Concat_1`, { axis: 2 });
    } else {
      g.named('Identity', [toHeads(k, '_1')], [presentKey], `${scope}/attn/Identity`);
      g.named('Identity', [toHeads(v, '_2')], [presentValue], `${scope}/attn/Identity_1`);
    }
    const keysT = g.one('Transpose', [presentKey], `${scope}/attn/Transpose_3`, { perm: [0, 1, 3, 2] });
    const scores = g.one('Div', [g.one('MatMul', [toHeads(q, ''), keysT], `${scope}/attn/MatMul`), scale], `${scope}/attn/Div`);
    const masked = g.one('Where', [allowed, scores, minimum], `${scope}/attn/Where`);
    const probabilities = g.one('Softmax', [masked], `${scope}/attn/Softmax`, { axis: -1 });
    const context = g.one('MatMul', [probabilities, presentValue], `${scope}/attn/MatMul_1`);
    const merged = g.one(
      'Reshape',
      [g.one('Transpose', [context], `${scope}/attn/Transpose_4`, { perm: [0, 2, 1, 3] }), mergeShape],
      `${scope}/attn/Reshape_3`,
    );
    hidden = g.one(
      'Add',
      [g.linear(merged, `${prefix}.attn.c_proj`, `${scope}/attn/c_proj`, { layout: 'in-out' }), hidden],
      `${scope}/Add`,
    );
    const y = g.layerNorm(hidden, `${prefix}.ln_2`, `${scope}/ln_2`, eps);
    const fed = g.linear(
      gelu(g.linear(y, `${prefix}.mlp.c_fc`, `${scope}/mlp/c_fc`, { layout: 'in-out' }), `${scope}/mlp/act`),
      `${prefix}.mlp.c_proj`,
      `${scope}/mlp/c_proj`,
      { layout: 'in-out' },
    );
    hidden = g.one('Add', [fed, hidden], `${scope}/Add_1`);
  }
  const final = g.layerNorm(hidden, 'transformer.ln_f', `${root}/transformer/ln_f`, eps);
  const tied = g.one('Transpose', ['transformer.wte.weight'], `${root}/lm_head/Transpose`, { perm: [1, 0] });
  g.named('MatMul', [final, tied], [outputNames.logits], `${root}/lm_head/MatMul`);
}

function decoderInputs(sizes: DecoderSizes): onnx.IValueInfoProto[] {
  return [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'past_sequence_length + sequence_length']),
    valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    ...Array.from({ length: sizes.layers }, (_, layer) =>
      (['key', 'value'] as const).map((kind) =>
        valueInfo(`past_key_values.${layer}.${kind}`, DataType.FLOAT, ['batch_size', sizes.heads, 'past_sequence_length', sizes.headDim]),
      ),
    ).flat(),
  ];
}

function decoderOutputs(sizes: DecoderSizes, vocab: number): onnx.IValueInfoProto[] {
  return [
    valueInfo('logits', DataType.FLOAT, ['batch_size', 'sequence_length', vocab]),
    ...Array.from({ length: sizes.layers }, (_, layer) =>
      (['key', 'value'] as const).map((kind) =>
        valueInfo(`present.${layer}.${kind}`, DataType.FLOAT, [
          'batch_size',
          sizes.heads,
          'past_sequence_length + sequence_length',
          sizes.headDim,
        ]),
      ),
    ).flat(),
  ];
}

const KEEP = (name: string) => name.endsWith('.bias') || name.includes('.ln_') || name.startsWith('transformer.w');

export function gpt2Graph(
  sizes: DecoderSizes,
  weights: Map<string, NamedTensor>,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  const g = new GraphBuilder(weights, dtype);
  g.keepByName([...weights.keys()].filter(KEEP));
  decoderNodes(g, sizes, true, { logits: 'logits', present: (layer, kind) => `present.${layer}.${kind}` });
  const vocab = weights.get('transformer.wte.weight')!.shape[0]!;
  return g.modelWith(decoderInputs(sizes), decoderOutputs(sizes, vocab), version);
}

/** The merged decoder: `If(use_cache_branch)`, the decoder with the past in `then`, without it in `else`. */
export function gpt2MergedGraph(
  sizes: DecoderSizes,
  weights: Map<string, NamedTensor>,
  dtype: TestModelDtype,
  version: number,
): onnx.IModelProto {
  const outer = new GraphBuilder(weights, dtype);
  outer.keepByName([...weights.keys()].filter(KEEP));
  const vocab = weights.get('transformer.wte.weight')!.shape[0]!;
  const branch = (withPast: boolean): onnx.IGraphProto => {
    const suffix = withPast ? 'with_past' : 'no_past';
    const inner = new GraphBuilder(weights, dtype, withPast ? 1_000_000 : 2_000_000);
    const names = { logits: `logits_${suffix}`, present: (layer: number, kind: 'key' | 'value') => `present.${layer}.${kind}_${suffix}` };
    decoderNodes(inner, sizes, withPast, names, `/${suffix}`);
    // The weights live in the outer graph once, as optimum deduplicates them; the branch keeps its small constants.
    const outputs = decoderOutputs(sizes, vocab).map((output) => ({
      ...output,
      name: output.name === 'logits' ? names.logits : `${output.name!}_${suffix}`,
    }));
    return { name: `optimum::${suffix}`, node: inner.nodes, initializer: inner.initializers, output: outputs };
  };
  const outputs = decoderOutputs(sizes, vocab);
  outer.nodes.push({
    opType: 'If',
    input: ['use_cache_branch'],
    output: outputs.map((output) => output.name!),
    name: 'optimum::if',
    attribute: [
      { name: 'then_branch', type: 5, g: branch(true) },
      { name: 'else_branch', type: 5, g: branch(false) },
    ],
  });
  return outer.modelWith([...decoderInputs(sizes), valueInfo('use_cache_branch', DataType.BOOL, [1])], outputs, version);
}
