/**
 * Instruments a decoder language model's ONNX graph so that it reports its own attention, for a fresh text and for
 * every step after a key/value cache. Three export styles are read:
 * - **unfused** (optimum): one attention Softmax per layer at the top of the graph, `[batch, heads, new, total]`;
 * - **merged** (optimum's older `decoder_model_merged`): the whole decoder twice, in the two branches of an `If` on
 *   `use_cache_branch`; both branches are instrumented alike and the `If` passes the taps out;
 * - **fused** (onnxruntime-genai): one `com.microsoft` `GroupQueryAttention` per layer, which hides its
 *   probabilities; its optional 4th output with `qk_output = 2` returns them exactly as the kernel used them
 *   (softmax of the scaled, masked scores; onnxruntime PR #25319, CPU provider).
 *
 * With `outputs: 'operands'` every style returns each layer's queries and transposed keys instead of its maps (see
 * `onDemandMaps.ts`): the scores product's operands for unfused and merged graphs (an `If` passes its branches' out),
 * and for a fused node its queries rotated by the same `RotaryEmbedding` kernel and its present keys.
 *
 * The outputs are the encoder instrumentation's (`attention_probs.{l}`, `attention_head_means.{l}`), shaped
 * `[batch, query heads, new tokens, cached + new tokens]`, and with `headMask` the `head_mask` input
 * `[batch, layers, query heads]`. Unfused graphs apply the mask to the probabilities, as encoders do; a fused node's
 * output is multiplied per head instead (`Σ_j p_ij v_j` of a head scales with its mask either way), and its
 * reported probabilities are masked to match.
 */
import type { GraphPattern } from '../families';
import { attributeInt, DataType, defaultOpset, indexGraph, int64Tensor, node, onnx, toNumber, valueInfo, type GraphIndex } from './graph';
import {
  checkClaim,
  checkSoftmaxAxis,
  consumersOf,
  decodeForInstrumentation,
  feedsProduct,
  HEAD_MASK_INPUT,
  headMeansOutput,
  floatScalars,
  InstrumentationError,
  keyTransposedOutput,
  onDemandSteps,
  probabilitiesOutput,
  queryOutput,
  scoresProduct,
  type InstrumentationResult,
  type InstrumentOptions,
  type ScoreStep,
} from './instrument';

export const NEXT_TOKEN_LOGITS = 'next_token_logits';
export const TOKEN_LOG_PROBS = 'token_log_probs';
export const EXPECTED_IDS = 'expected_ids';
export const EXPECTED_LOG_PROBS = 'expected_log_probs';
/** The graph output the readout reads (every decoder family's head writes it). */
const LOGITS = 'logits';

/** The names this instrumentation adds, and the prefixes of its per-layer names (see `decodeForInstrumentation`). */
const DECODER_RESERVED = [
  HEAD_MASK_INPUT,
  'attention_explorer/',
  probabilitiesOutput(0).replace(/0$/, ''),
  headMeansOutput(0).replace(/0$/, ''),
  queryOutput(0).replace(/0$/, ''),
  keyTransposedOutput(0).replace(/0$/, ''),
  NEXT_TOKEN_LOGITS,
  TOKEN_LOG_PROBS,
  EXPECTED_IDS,
  EXPECTED_LOG_PROBS,
];

/** The prefix of every name this instrumentation adds to a graph. */
const shared = 'attention_explorer';

/** How the graph computes attention: see the module comment. */
export type DecoderGraphStyle = 'unfused' | 'merged' | 'fused';

export interface DecoderInstrumentationResult extends InstrumentationResult {
  style: DecoderGraphStyle;
}

/** Fused attention operators whose probabilities this module cannot read (yet), by name, for the refusal. */
const UNREAD_FUSED = new Set(['MultiHeadAttention', 'Attention', 'PackedMultiHeadAttention', 'SparseAttention']);
const QUANTIZED_OPS = new Set(['MatMulInteger', 'QLinearMatMul', 'MatMulNBits', 'DynamicQuantizeMatMul']);

const allNodes = (graph: onnx.IGraphProto): onnx.INodeProto[] => [
  ...(graph.node ?? []),
  ...(graph.node ?? []).flatMap((candidate) =>
    (candidate.attribute ?? []).flatMap((attribute) => (attribute.g ? allNodes(attribute.g) : [])),
  ),
];

interface Site {
  /** The graph (the top graph or an `If` branch) the layer's attention lives in. */
  graph: onnx.IGraphProto;
  /** The attention Softmax, or the fused attention node. */
  node: onnx.INodeProto;
  layer: number;
  /** `graph`'s index, built once. */
  index: GraphIndex;
}

export function instrumentDecoderModel(
  bytes: Uint8Array,
  expected: { layers: number; heads: number },
  pattern: GraphPattern,
  options: InstrumentOptions,
): DecoderInstrumentationResult {
  checkClaim(expected);
  const model = decodeForInstrumentation(bytes, DECODER_RESERVED);
  const graph = model.graph!;
  const { layers, heads } = expected;
  const inputNames = (graph.input ?? []).map((input) => input.name ?? '');
  const declared = (name: string) =>
    pattern.inputs.find((input) => (input.value === 'past' ? name.startsWith(input.name) : input.name === name));
  const unknown = inputNames.filter((name) => !declared(name));
  const missing = pattern.inputs.filter(
    (input) => input.required && !inputNames.some((name) => (input.value === 'past' ? name.startsWith(input.name) : name === input.name)),
  );
  const pastCount = inputNames.filter((name) => declared(name)?.value === 'past').length;
  if (unknown.length > 0 || missing.length > 0 || pastCount !== 2 * layers) {
    throw new InstrumentationError(
      `The graph's inputs are ${inputNames.join(', ')}; ${pattern.description} with ${layers} layers has input_ids, attention_mask, optionally position_ids, and a key and a value cache per layer (past_key_values.{layer}.key|value).`,
    );
  }
  if (!(graph.output ?? []).some((output) => output.name === LOGITS)) {
    throw new InstrumentationError(
      `The graph has no ${LOGITS} output, where ${pattern.description} writes its next-token scores; its outputs are ${(graph.output ?? [])
        .slice(0, 8)
        .map((output) => output.name)
        .join(', ')}.`,
    );
  }

  const everything = allNodes(graph);
  const unread = everything.find((candidate) => UNREAD_FUSED.has(candidate.opType ?? ''));
  if (unread) {
    throw new InstrumentationError(
      `The graph computes attention in a fused ${unread.domain ? `${unread.domain}.` : ''}${unread.opType} node, whose probabilities Attention Explorer cannot read; exports with GroupQueryAttention (onnxruntime-genai) or with unfused MatMul → Softmax attention (optimum) work.`,
    );
  }
  const { sites, style } = attentionSites(graph, layers, pattern);
  // Queries and keys instead of maps. An If's branches see the top graph's constants as well as their own.
  const topScalars = floatScalars(graph);
  const scalarsOf = (scope: onnx.IGraphProto) => (scope === graph ? topScalars : new Map([...topScalars, ...floatScalars(scope)]));
  const products = sites.map((site) =>
    style === 'fused' ? undefined : scoresProduct(site.index, site.node, pattern.scorePath, scalarsOf(site.graph)),
  );
  const fusedTaps = style === 'fused' ? fusedOperandTaps(graph, sites, options) : undefined;
  const scoreSteps = style === 'fused' ? fusedTaps?.steps : onDemandSteps(products, options);

  const opset = defaultOpset(model);
  const initializers: onnx.ITensorProto[] = [...(fusedTaps?.initializers ?? [])];
  if (opset >= 18) initializers.push(int64Tensor(`${shared}/head_axis`, [1]));
  if (options.headMask) {
    initializers.push(int64Tensor(`${shared}/head_mask_shape`, [-1, heads, 1, 1]));
    if (style === 'fused') {
      initializers.push(
        int64Tensor(`${shared}/split_heads_shape`, [0, 0, heads, -1]),
        int64Tensor(`${shared}/output_head_mask_shape`, [-1, 1, heads, 1]),
        int64Tensor(`${shared}/merge_heads_shape`, [0, 0, -1]),
      );
    }
    for (let layer = 0; layer < layers; layer += 1) initializers.push(int64Tensor(`${shared}/layer_index.${layer}`, [layer], []));
  }
  const reduceOverHeads = (input: string, output: string, name: string) =>
    opset >= 18
      ? node('ReduceMean', [input, `${shared}/head_axis`], [output], name, { keepdims: 0 })
      : node('ReduceMean', [input], [output], name, { axes: [1], keepdims: 0 });
  /** The layer's row of the head mask, shaped `shape`, inside graph `scope`. */
  const maskRow = (layer: number, prefix: string, shape: string): onnx.INodeProto[] => [
    node('Gather', [HEAD_MASK_INPUT, `${shared}/layer_index.${layer}`], [`${prefix}/head_mask_row`], `${prefix}/Gather`, { axis: 1 }),
    node('Reshape', [`${prefix}/head_mask_row`, `${shared}/${shape}`], [`${prefix}/head_mask`], `${prefix}/Reshape`),
  ];

  // Each site's taps, named per branch inside an If (sibling branches must not define the same name).
  const tapsOf = new Map<onnx.IGraphProto, Array<{ layer: number; probabilities?: string; means: string; query?: string; key?: string }>>();
  const added = new Map<onnx.INodeProto, onnx.INodeProto[]>();
  sites.forEach(({ graph: scope, node: site, layer, index }, position) => {
    const branch = scope === graph ? '' : `/${branchName(graph, scope)}`;
    const prefix = `${shared}/layer.${layer}${branch}`;
    const probabilities = scope === graph ? probabilitiesOutput(layer) : `${probabilitiesOutput(layer)}${branch}`;
    const means = scope === graph ? headMeansOutput(layer) : `${headMeansOutput(layer)}${branch}`;
    const nodes: onnx.INodeProto[] = [];
    if (fusedTaps) {
      // The kernel's probabilities feed only the head means (an intermediate, freed after the mean); the maps come
      // on demand from the rotated queries and the present keys.
      site.attribute = [
        ...(site.attribute ?? []).filter((attribute) => attribute.name !== 'qk_output'),
        { name: 'qk_output', type: onnx.AttributeProto.AttributeType.INT, i: 2 },
      ];
      const outputs = [...(site.output ?? [])];
      while (outputs.length < 3) outputs.push('');
      if (!outputs[1]) outputs[1] = `${prefix}/present_key`;
      outputs[3] = `${prefix}/output_qk`;
      site.output = outputs;
      nodes.push(...fusedTaps.nodes(site, layer, prefix), reduceOverHeads(outputs[3], means, `${prefix}/HeadMean`));
      added.set(site, nodes);
      tapsOf.set(scope, [...(tapsOf.get(scope) ?? []), { layer, means, query: queryOutput(layer), key: keyTransposedOutput(layer) }]);
      return;
    }
    if (scoreSteps) {
      const { product } = products[position]!;
      const query = scope === graph ? queryOutput(layer) : `${queryOutput(layer)}${branch}`;
      const key = scope === graph ? keyTransposedOutput(layer) : `${keyTransposedOutput(layer)}${branch}`;
      nodes.push(
        node('Identity', [product.input![0]!], [query], `${prefix}/Query`),
        node('Identity', [product.input![1]!], [key], `${prefix}/KeyTransposed`),
        reduceOverHeads(site.output![0]!, means, `${prefix}/HeadMean`),
      );
      added.set(site, nodes);
      tapsOf.set(scope, [...(tapsOf.get(scope) ?? []), { layer, means, query, key }]);
      return;
    }
    if (site.opType === 'Softmax') {
      const softmaxOutput = site.output![0]!;
      for (const consumer of consumersOf(index, softmaxOutput)) {
        consumer.input = consumer.input!.map((input) => (input === softmaxOutput ? probabilities : input));
      }
      if (options.headMask) {
        nodes.push(
          ...maskRow(layer, prefix, 'head_mask_shape'),
          node('Mul', [softmaxOutput, `${prefix}/head_mask`], [probabilities], `${prefix}/Mul`),
        );
      } else {
        site.output = [probabilities];
      }
    } else {
      // GroupQueryAttention: output 3 (`output_qk`) with qk_output = 2 holds the post-softmax probabilities.
      site.attribute = [
        ...(site.attribute ?? []).filter((attribute) => attribute.name !== 'qk_output'),
        { name: 'qk_output', type: onnx.AttributeProto.AttributeType.INT, i: 2 },
      ];
      const outputs = [...(site.output ?? [])];
      while (outputs.length < 3) outputs.push('');
      const rawProbabilities = options.headMask ? `${prefix}/output_qk` : probabilities;
      outputs[3] = rawProbabilities;
      const attended = outputs[0]!;
      if (options.headMask) {
        const unmasked = `${prefix}/attention_output`;
        outputs[0] = unmasked;
        nodes.push(
          ...maskRow(layer, prefix, 'head_mask_shape'),
          node('Mul', [rawProbabilities, `${prefix}/head_mask`], [probabilities], `${prefix}/MaskProbabilities`),
          node('Gather', [HEAD_MASK_INPUT, `${shared}/layer_index.${layer}`], [`${prefix}/output_mask_row`], `${prefix}/GatherOutputMask`, {
            axis: 1,
          }),
          node(
            'Reshape',
            [`${prefix}/output_mask_row`, `${shared}/output_head_mask_shape`],
            [`${prefix}/output_mask`],
            `${prefix}/ReshapeOutputMask`,
          ),
          node('Reshape', [unmasked, `${shared}/split_heads_shape`], [`${prefix}/per_head`], `${prefix}/SplitHeads`),
          node('Mul', [`${prefix}/per_head`, `${prefix}/output_mask`], [`${prefix}/per_head_masked`], `${prefix}/MaskOutput`),
          node('Reshape', [`${prefix}/per_head_masked`, `${shared}/merge_heads_shape`], [attended], `${prefix}/MergeHeads`),
        );
      }
      site.output = outputs;
    }
    nodes.push(reduceOverHeads(probabilities, means, `${prefix}/HeadMean`));
    added.set(site, nodes);
    tapsOf.set(scope, [...(tapsOf.get(scope) ?? []), { layer, probabilities, means }]);
  });

  const attentionShape: Array<number | string> = ['batch_size', heads, 'sequence_length', 'total_sequence_length'];
  const meansShape: Array<number | string> = ['batch_size', 'sequence_length', 'total_sequence_length'];
  for (const [scope, taps] of tapsOf) {
    const reordered: onnx.INodeProto[] = [];
    for (const candidate of scope.node ?? []) {
      reordered.push(candidate);
      reordered.push(...(added.get(candidate) ?? []));
    }
    scope.node = reordered;
    scope.output = [
      ...(scope.output ?? []),
      ...taps.flatMap((tap) => (tap.probabilities ? [valueInfo(tap.probabilities, DataType.FLOAT, attentionShape)] : [])),
      ...taps.map((tap) => valueInfo(tap.means, DataType.FLOAT, meansShape)),
      ...taps.flatMap((tap) =>
        tap.query && tap.key
          ? [
              valueInfo(tap.query, DataType.FLOAT, ['batch_size', heads, 'sequence_length', 'head_dim']),
              valueInfo(tap.key, DataType.FLOAT, ['batch_size', 'key_heads', 'head_dim', 'total_sequence_length']),
            ]
          : [],
      ),
    ] as onnx.ValueInfoProto[];
  }
  if (style === 'merged') {
    // The If's new outputs follow its branches' (the same count and order in both).
    const branching = (graph.node ?? []).find((candidate) => candidate.opType === 'If')!;
    const each = <T>(make: (layer: number) => T[]): T[] => Array.from({ length: layers }, (_, layer) => make(layer)).flat();
    branching.output = [
      ...(branching.output ?? []),
      ...(scoreSteps ? [] : each((layer) => [probabilitiesOutput(layer)])),
      ...each((layer) => [headMeansOutput(layer)]),
      ...(scoreSteps ? each((layer) => [queryOutput(layer), keyTransposedOutput(layer)]) : []),
    ];
    graph.output = [
      ...(graph.output ?? []),
      ...(scoreSteps ? [] : each((layer) => [valueInfo(probabilitiesOutput(layer), DataType.FLOAT, attentionShape)])),
      ...each((layer) => [valueInfo(headMeansOutput(layer), DataType.FLOAT, meansShape)]),
      ...(scoreSteps
        ? each((layer) => [
            valueInfo(queryOutput(layer), DataType.FLOAT, ['batch_size', heads, 'sequence_length', 'head_dim']),
            valueInfo(keyTransposedOutput(layer), DataType.FLOAT, ['batch_size', heads, 'head_dim', 'total_sequence_length']),
          ])
        : []),
    ] as onnx.ValueInfoProto[];
  }
  const readout = predictionReadout(graph, opset);
  graph.node = [...(graph.node ?? []), ...readout.nodes] as onnx.NodeProto[];
  graph.output = [...(graph.output ?? []), ...readout.outputs] as onnx.ValueInfoProto[];
  graph.initializer = [...(graph.initializer ?? []), ...initializers, ...readout.initializers] as onnx.TensorProto[];
  if (options.headMask) {
    graph.input = [
      ...(graph.input ?? []),
      valueInfo(HEAD_MASK_INPUT, DataType.FLOAT, ['head_mask_batch', layers, heads]),
    ] as onnx.ValueInfoProto[];
  }
  model.producerName = `${model.producerName ?? ''} + attention-explorer decoder instrumentation`;
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    layers,
    heads,
    opset,
    quantized: everything.some((candidate) => QUANTIZED_OPS.has(candidate.opType ?? '')),
    softmaxNodes: sites.filter((site) => site.graph === sites[0]!.graph).map((site) => site.node.name ?? ''),
    style,
    ...(scoreSteps ? { scoreSteps } : {}),
  };
}

/**
 * What the next-token prediction and the surprisal read, computed from the logits inside the graph (onnxruntime's
 * vectorised, multi-threaded reductions: in JavaScript the softmax sums over a 151,936-token vocabulary took about
 * half a second at 128 tokens), so that the `[batch, n, vocab]` logits never leave it:
 * - `next_token_logits` `[batch, 1, vocab]`: the last position's;
 * - `token_log_probs` `[batch, n, 1]`: at i, log p(token i + 1 | tokens ≤ i) (the last entry is meaningless);
 * - `expected_ids` `[batch, n]` and `expected_log_probs` `[batch, n, 1]`: each position's most probable next token.
 */
function predictionReadout(
  graph: onnx.IGraphProto,
  opset: number,
): { nodes: onnx.INodeProto[]; initializers: onnx.ITensorProto[]; outputs: onnx.IValueInfoProto[] } {
  const prefix = 'attention_explorer/readout';
  const logits = LOGITS;
  const ids = (graph.input ?? []).find((input) => input.name === 'input_ids')?.name ?? 'input_ids';
  const initializers = [
    int64Tensor(`${prefix}/last`, [-1]),
    int64Tensor(`${prefix}/end`, [Number.MAX_SAFE_INTEGER]),
    int64Tensor(`${prefix}/first`, [0]),
    int64Tensor(`${prefix}/one`, [1]),
    int64Tensor(`${prefix}/sequence_axis`, [1]),
    int64Tensor(`${prefix}/vocab_axis`, [2]),
    int64Tensor(`${prefix}/zero`, [0], []),
  ];
  const reduce = (op: 'ReduceLogSumExp' | 'ReduceMax', input: string, output: string) =>
    opset >= 18
      ? node(op, [input, `${prefix}/vocab_axis`], [output], `${prefix}/${op}`, { keepdims: 1 })
      : node(op, [input], [output], `${prefix}/${op}`, { axes: [2], keepdims: 1 });
  const nodes = [
    node('Slice', [logits, `${prefix}/last`, `${prefix}/end`, `${prefix}/sequence_axis`], [NEXT_TOKEN_LOGITS], `${prefix}/LastPosition`),
    reduce('ReduceLogSumExp', logits, `${prefix}/log_sum_exp`),
    reduce('ReduceMax', logits, `${prefix}/max_logit`),
    node('Sub', [`${prefix}/max_logit`, `${prefix}/log_sum_exp`], [EXPECTED_LOG_PROBS], `${prefix}/ExpectedLogProb`),
    node('ArgMax', [logits], [EXPECTED_IDS], `${prefix}/ArgMax`, { axis: 2, keepdims: 0 }),
    // Each position's next id: the ids shifted left by one, padded with id 0 at the end.
    node('Slice', [ids, `${prefix}/one`, `${prefix}/end`, `${prefix}/sequence_axis`], [`${prefix}/next_ids`], `${prefix}/NextIds`),
    node('Slice', [ids, `${prefix}/first`, `${prefix}/one`, `${prefix}/sequence_axis`], [`${prefix}/first_id`], `${prefix}/FirstId`),
    node('Mul', [`${prefix}/first_id`, `${prefix}/zero`], [`${prefix}/padding`], `${prefix}/Padding`),
    node('Concat', [`${prefix}/next_ids`, `${prefix}/padding`], [`${prefix}/shifted`], `${prefix}/Shift`, { axis: 1 }),
    opset >= 13
      ? node('Unsqueeze', [`${prefix}/shifted`, `${prefix}/vocab_axis`], [`${prefix}/index`], `${prefix}/Index`)
      : node('Unsqueeze', [`${prefix}/shifted`], [`${prefix}/index`], `${prefix}/Index`, { axes: [2] }),
    node('GatherElements', [logits, `${prefix}/index`], [`${prefix}/token_logit`], `${prefix}/TokenLogit`, { axis: 2 }),
    node('Sub', [`${prefix}/token_logit`, `${prefix}/log_sum_exp`], [TOKEN_LOG_PROBS], `${prefix}/TokenLogProb`),
  ];
  const outputs = [
    valueInfo(NEXT_TOKEN_LOGITS, DataType.FLOAT, ['batch_size', 1, 'vocab_size']),
    valueInfo(TOKEN_LOG_PROBS, DataType.FLOAT, ['batch_size', 'sequence_length', 1]),
    valueInfo(EXPECTED_IDS, DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo(EXPECTED_LOG_PROBS, DataType.FLOAT, ['batch_size', 'sequence_length', 1]),
  ];
  return { nodes, initializers, outputs };
}

function branchName(graph: onnx.IGraphProto, scope: onnx.IGraphProto): string {
  for (const candidate of graph.node ?? []) {
    for (const attribute of candidate.attribute ?? []) if (attribute.g === scope) return attribute.name ?? 'branch';
  }
  return 'branch';
}

/** The attention Softmax nodes (or fused attention nodes) of a graph's layers, checked. */
function softmaxSites(scope: onnx.IGraphProto, layers: number): Site[] | undefined {
  const index = indexGraph(scope);
  const softmaxes = (scope.node ?? []).filter(
    (candidate) => candidate.opType === 'Softmax' && feedsProduct(index, candidate.output?.[0] ?? ''),
  );
  if (softmaxes.length !== layers) return undefined;
  softmaxes.forEach(checkSoftmaxAxis);
  return softmaxes.map((softmax, layer) => ({ graph: scope, node: softmax, layer, index }));
}

function attentionSites(graph: onnx.IGraphProto, layers: number, pattern: GraphPattern): { sites: Site[]; style: DecoderGraphStyle } {
  const nodes = graph.node ?? [];
  const fused = nodes.filter((candidate) => candidate.opType === 'GroupQueryAttention');
  if (fused.length > 0) {
    if (fused.length !== layers) {
      throw new InstrumentationError(
        `Found ${fused.length} GroupQueryAttention node(s) where ${pattern.description} with ${layers} layers has one per layer.`,
      );
    }
    const index = indexGraph(graph);
    return { sites: fused.map((site, layer) => ({ graph, node: site, layer, index })), style: 'fused' };
  }
  const top = softmaxSites(graph, layers);
  if (top) return { sites: top, style: 'unfused' };
  const branching = nodes.filter((candidate) => candidate.opType === 'If');
  if (branching.length === 1) {
    const branches = (branching[0]!.attribute ?? []).filter((attribute) => attribute.g).map((attribute) => attribute.g!);
    const found = branches.map((branch) => softmaxSites(branch, layers));
    if (branches.length === 2 && found.every((sites) => sites !== undefined)) return { sites: found.flat(), style: 'merged' };
  }
  const count = allNodes(graph).filter((candidate) => candidate.opType === 'Softmax').length;
  throw new InstrumentationError(
    `Found ${count} Softmax node(s) where ${pattern.description} with ${layers} layers has one attention Softmax per layer (or one GroupQueryAttention per layer); this graph is not an export Attention Explorer understands.`,
  );
}

/** `GroupQueryAttention`'s inputs, by position (onnxruntime's contrib operator schema). */
const GQA_INPUT = { query: 0, key: 1, pastKey: 3, cosCache: 7, sinCache: 8, positionIds: 9, attentionBias: 10, headSink: 11 };

/**
 * Queries and keys out of fused `GroupQueryAttention` nodes, when every layer's scores are a plain scaled product the
 * small scores graph can replay: the queries rotated by the same `com.microsoft` `RotaryEmbedding` kernel the fused
 * node runs on its own queries (same caches, same positions), the keys the node writes to its present cache (rotated
 * already), transposed. Undefined (maps are read from the kernel instead) for packed QKV, soft-capped, windowed or
 * biased attention, smooth softmax, attention sinks, a missing `scale`, or rotary caches whose width is not in the graph.
 */
function fusedOperandTaps(
  graph: onnx.IGraphProto,
  sites: readonly Site[],
  options: InstrumentOptions,
):
  | {
      steps: ScoreStep[];
      initializers: onnx.ITensorProto[];
      nodes: (site: onnx.INodeProto, layer: number, prefix: string) => onnx.INodeProto[];
    }
  | undefined {
  if (options.outputs !== 'operands' || options.headMask) return undefined;
  const floatAttribute = (site: onnx.INodeProto, name: string) =>
    site.attribute?.find((candidate) => candidate.name === name)?.f ?? undefined;
  const initializer = (name: string | undefined) => (graph.initializer ?? []).find((candidate) => candidate.name === name);
  const first = sites[0]!.node;
  const scale = floatAttribute(first, 'scale');
  const heads = attributeInt(first, 'num_heads') ?? 0;
  const rotary = attributeInt(first, 'do_rotary') === 1;
  const cosWidth = (site: onnx.INodeProto) => {
    const dims = initializer(site.input?.[GQA_INPUT.cosCache])?.dims;
    return dims?.length === 2 ? toNumber(dims[1] as number) : undefined;
  };
  const replayable = (site: onnx.INodeProto) => {
    const input = (position: number) => site.input?.[position] ?? '';
    return (
      floatAttribute(site, 'scale') === scale &&
      attributeInt(site, 'num_heads') === heads &&
      (attributeInt(site, 'do_rotary') === 1) === rotary &&
      attributeInt(site, 'rotary_interleaved') === attributeInt(first, 'rotary_interleaved') &&
      !floatAttribute(site, 'softcap') &&
      (attributeInt(site, 'local_window_size') ?? -1) === -1 &&
      !attributeInt(site, 'smooth_softmax') &&
      input(GQA_INPUT.key) !== '' &&
      input(GQA_INPUT.attentionBias) === '' &&
      input(GQA_INPUT.headSink) === '' &&
      (!rotary || cosWidth(site) !== undefined)
    );
  };
  if (!scale || heads < 1 || !sites.every((site) => replayable(site.node))) return undefined;
  const initializers = [
    int64Tensor(`${shared}/fused/key_axis`, [2]),
    int64Tensor(`${shared}/fused/after_key_axis`, [3]),
    int64Tensor(`${shared}/fused/no_past`, [0]),
    int64Tensor(`${shared}/fused/split_heads`, [0, 0, heads, -1]),
  ];
  const nodes = (site: onnx.INodeProto, layer: number, prefix: string): onnx.INodeProto[] => {
    const input = (position: number) => site.input?.[position] ?? '';
    const added: onnx.INodeProto[] = [];
    let query = input(GQA_INPUT.query);
    if (rotary) {
      let positions = input(GQA_INPUT.positionIds);
      if (!positions) {
        // Without position ids the kernel numbers the new tokens from the cached length on (batch 1, no padding).
        positions = `${prefix}/positions`;
        if (input(GQA_INPUT.pastKey)) {
          added.push(
            node('Shape', [input(GQA_INPUT.pastKey)], [`${prefix}/past_shape`], `${prefix}/PastShape`),
            node(
              'Slice',
              [`${prefix}/past_shape`, `${shared}/fused/key_axis`, `${shared}/fused/after_key_axis`],
              [positions],
              `${prefix}/PastLength`,
            ),
          );
        } else {
          added.push(node('Identity', [`${shared}/fused/no_past`], [positions], `${prefix}/NoPast`));
        }
      }
      const width = cosWidth(site)!;
      const rotated = `${prefix}/rotated_query`;
      added.push({
        ...node(
          'RotaryEmbedding',
          [query, positions, input(GQA_INPUT.cosCache), input(GQA_INPUT.sinCache)],
          [rotated],
          `${prefix}/RotateQuery`,
          {
            interleaved: attributeInt(site, 'rotary_interleaved') ?? 0,
            num_heads: heads,
            rotary_embedding_dim: 2 * width,
          },
        ),
        domain: 'com.microsoft',
      });
      query = rotated;
    }
    added.push(
      node('Reshape', [query, `${shared}/fused/split_heads`], [`${prefix}/query_heads`], `${prefix}/SplitQueryHeads`),
      node('Transpose', [`${prefix}/query_heads`], [queryOutput(layer)], `${prefix}/Query`, { perm: [0, 2, 1, 3] }),
      node('Transpose', [site.output![1]!], [keyTransposedOutput(layer)], `${prefix}/KeyTransposed`, { perm: [0, 1, 3, 2] }),
    );
    return added;
  };
  return { steps: [{ op: 'Mul', value: scale }], initializers, nodes };
}
