/**
 * Instruments an encoder's ONNX graph so that it reports its own attention. What an export of the model's family
 * looks like (its inputs, the operators between the scores product and the Softmax) comes from the family module
 * (`src/model/families`) as a {@link GraphPattern}; this module knows no family by name.
 *
 * The stock export returns only its task head's output (logits, or the last hidden state). For each layer's attention Softmax this adds:
 * - a graph output `attention_probs.{l}` `[batch, heads, n, n]`: the Softmax output (times the head mask, when there
 *   is one), exactly the tensor the graph goes on to multiply with V (Hugging Face's `weights * head_mask`);
 * - a graph output `attention_scores.{l}`: the Softmax input (scaled, masked scores);
 * - a graph output `attention_head_means.{l}` `[batch, n, n]`: the mean of those probabilities over heads (cheaper
 *   vectorised in onnxruntime than in JavaScript);
 * - graph outputs `attention_query.{l}` `[batch, heads, n, d_head]` and `attention_key_t.{l}` `[batch, heads, d_head, n]`:
 *   the two operands of the product that makes the scores, for the neuron view (fetched only when asked for);
 * - with `headMask`, one new required input `head_mask` `[mask_batch, layers, heads]` (all ones leaves the model as it
 *   was), so any set of heads can be switched off, and a batch of masks runs in one call. It has no default:
 *   onnxruntime-node only forwards feeds that are listed as session inputs, which leaves out inputs backed by an
 *   initializer. Without it (the graph an analysis runs), the probabilities output is the Softmax output itself: the
 *   mask's multiplication writes every attention map once more, which cost about a quarter of the run at 512 tokens.
 *
 * Works the same on fp32 and q8 graphs (quantization leaves the Softmax in float). A graph whose Softmax nodes do
 * not look like one attention per layer is refused with an {@link InstrumentationError} that says what was found.
 */
import type { GraphPattern } from '../families';
import { MAX_HEADS, MAX_LAYERS } from '../families/configKeys';
import { attributeInt, DataType, defaultOpset, indexGraph, int64Tensor, node, onnx, toNumber, valueInfo, type GraphIndex } from './graph';

export const INSTRUMENTATION_VERSION = 8;
export const HEAD_MASK_INPUT = 'head_mask';
export const probabilitiesOutput = (layer: number) => `attention_probs.${layer}`;
export const scoresOutput = (layer: number) => `attention_scores.${layer}`;
export const headMeansOutput = (layer: number) => `attention_head_means.${layer}`;
export const queryOutput = (layer: number) => `attention_query.${layer}`;
export const keyTransposedOutput = (layer: number) => `attention_key_t.${layer}`;

export class InstrumentationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstrumentationError';
  }
}

export interface InstrumentationResult {
  bytes: Uint8Array;
  layers: number;
  heads: number;
  opset: number;
  /** Whether the graph multiplies integers (a quantized, q8 graph). */
  quantized: boolean;
  /** The Softmax nodes found, in layer order. */
  softmaxNodes: string[];
  /**
   * Whether the exported graph scales the query before the scores product (DistilBERT divides q by √d_head), so that
   * `attention_query` holds `q / √d_head`; false when the scaling comes after the product. Undefined when the
   * product could not be found, and the query/key outputs are absent.
   */
  queryScaledBeforeProduct?: boolean;
  /**
   * Present when the graph returns its queries and keys instead of its maps (`outputs: 'operands'`): what turns each
   * layer's product into the Softmax's input, the same for every layer.
   */
  scoreSteps?: ScoreStep[];
}

/** Operators that may sit between the attention Softmax and its ×V product in an export. */
const PASS_THROUGH = new Set(['Dropout', 'Identity', 'Cast', 'DynamicQuantizeLinear', 'QuantizeLinear', 'DequantizeLinear']);
const PRODUCTS = new Set(['MatMul', 'MatMulInteger', 'QLinearMatMul', 'Einsum']);

export const consumersOf = (index: GraphIndex, tensor: string): readonly onnx.INodeProto[] => index.consumers.get(tensor) ?? [];

/** Whether `tensor` reaches a matrix product within a few pass-through operators. */
export function feedsProduct(index: GraphIndex, tensor: string): boolean {
  let frontier = [tensor];
  const seen = new Set(frontier);
  for (let depth = 0; depth <= 3 && frontier.length > 0; depth += 1) {
    const next: string[] = [];
    for (const consumer of frontier.flatMap((name) => consumersOf(index, name))) {
      if (PRODUCTS.has(consumer.opType ?? '')) return true;
      if (!PASS_THROUGH.has(consumer.opType ?? '')) continue;
      for (const output of consumer.output ?? []) {
        if (seen.has(output)) continue;
        seen.add(output);
        next.push(output);
      }
    }
    frontier = next;
  }
  return false;
}

/**
 * Refuses a claimed size beyond the caps config.json is read with (`families/configKeys.ts`), whoever makes the
 * claim: every layer adds taps and outputs, and every layer's and head's maps are held by the worker.
 */
export function checkClaim({ layers, heads }: { layers: number; heads: number }): void {
  for (const [count, what, cap] of [
    [layers, 'layers', MAX_LAYERS],
    [heads, 'heads', MAX_HEADS],
  ] as const) {
    if (!Number.isInteger(count) || count < 1 || count > cap) {
      throw new InstrumentationError(`The model claims ${count} ${what}; Attention Explorer reads models of 1 to at most ${cap} ${what}.`);
    }
  }
}

/** Refuses a Softmax that does not normalise over the keys (the last axis of `[batch, heads, n, n]`). */
export function checkSoftmaxAxis(softmax: onnx.INodeProto, layer: number): void {
  const axis = attributeInt(softmax, 'axis');
  if (axis !== undefined && axis !== -1 && axis !== 3) {
    throw new InstrumentationError(`Softmax ${softmax.name} (layer ${layer}) normalises axis ${axis}, not the key axis.`);
  }
}

export interface InstrumentOptions {
  /** Add the `head_mask` input (interventions), or not (analyses: cheaper). */
  headMask: boolean;
  /**
   * What the graph returns of its attention. `maps` (the default): every layer's probabilities, scores and head means.
   * `operands`: only each layer's query and transposed key and its head means, the maps being computed from them on
   * demand ({@link ScoreStep}); a graph output is held for the whole run whether or not it is fetched, so the maps
   * must not be outputs at all. A graph whose products or scalings cannot be read gets the maps instead.
   */
  outputs?: 'maps' | 'operands';
}

/**
 * A scaling the graph applies to the scores between their product and the Softmax, replayed as is (the same operator
 * and constant round alike). Masking on that path (`Where`, `Add` of a mask) leaves an unpadded sequence unchanged.
 */
export interface ScoreStep {
  op: 'Div' | 'Mul';
  value: number;
}

/**
 * Walks back from an attention Softmax's input through masking and scaling to the product of Q and Kᵀ; says whether
 * a scaling came after the product. Undefined when the path does not look like that.
 */
export function scoresProduct(
  { producers, constants }: GraphIndex,
  softmax: onnx.INodeProto,
  scorePath: ReadonlySet<string>,
  scalars?: ReadonlyMap<string, number>,
): { product: onnx.INodeProto; scaledAfter: boolean; steps?: ScoreStep[] } | undefined {
  let tensor = softmax.input?.[0] ?? '';
  let scaledAfter = false;
  // Undefined once a scaling's constant cannot be read: the maps cannot be replayed then.
  let steps: ScoreStep[] | undefined = [];
  for (let hop = 0; hop < 6; hop += 1) {
    const producer = producers.get(tensor);
    if (!producer) return undefined;
    if (producer.opType === 'MatMul' && producer.input?.length === 2) {
      return { product: producer, scaledAfter, ...(steps && scalars ? { steps: steps.reverse() } : {}) };
    }
    if (!scorePath.has(producer.opType ?? '')) return undefined;
    // Follow the computed operand: for Where(condition, x, y) the branch that is not a constant; otherwise the
    // first input that is not a constant.
    const operands = producer.opType === 'Where' ? (producer.input ?? []).slice(1) : (producer.input ?? []);
    const next = operands.find((input) => !constants.has(input));
    if (!next) return undefined;
    if (producer.opType === 'Div' || producer.opType === 'Mul') {
      scaledAfter = true;
      const other = producer.input?.length === 2 ? producer.input.find((input) => input !== next) : undefined;
      const value = other === undefined || producer.input![0] !== next ? undefined : scalars?.get(other);
      if (value === undefined) steps = undefined;
      else steps?.push({ op: producer.opType, value });
    } else if (producer.opType === 'Sub' || (producer.opType === 'Cast' && attributeInt(producer, 'to') !== DataType.FLOAT)) {
      steps = undefined;
    }
    tensor = next;
  }
  return undefined;
}

/** The float scalars a graph defines as initializers or Constant nodes, by tensor name. */
export function floatScalars(graph: onnx.IGraphProto): Map<string, number> {
  const scalars = new Map<string, number>();
  const read = (name: string, value: onnx.ITensorProto | null | undefined) => {
    if (!value || value.dataType !== DataType.FLOAT || (value.dims ?? []).some((dimension) => toNumber(dimension as number) !== 1)) return;
    const raw = value.rawData;
    const number =
      raw && raw.length === 4
        ? new DataView(raw.buffer, raw.byteOffset, 4).getFloat32(0, true)
        : value.floatData?.length === 1
          ? Math.fround(value.floatData[0]!)
          : undefined;
    if (number !== undefined) scalars.set(name, number);
  };
  for (const initializer of graph.initializer ?? []) read(initializer.name ?? '', initializer);
  for (const candidate of graph.node ?? []) {
    if (candidate.opType !== 'Constant' || !candidate.output?.[0]) continue;
    read(candidate.output[0], candidate.attribute?.find((entry) => entry.name === 'value')?.t);
  }
  return scalars;
}

/** The longest part of a name a message repeats (names come from the file, and may be anything). */
const MAX_NAME_IN_MESSAGE = 120;
function shown(name: string | null | undefined): string {
  const text = name ?? '';
  return JSON.stringify(text.length > MAX_NAME_IN_MESSAGE ? `${text.slice(0, MAX_NAME_IN_MESSAGE)}…` : text);
}

/**
 * Every tensor a model carries, with a name for messages: initializers, sparse ones, and node attributes (Constant
 * values and the like), in every graph, subgraph, function and training graph.
 */
function* tensorsOf(model: onnx.IModelProto): Generator<[onnx.ITensorProto, string]> {
  const sparseParts = (sparse: onnx.ISparseTensorProto | null | undefined) => [sparse?.values, sparse?.indices].filter((part) => !!part);
  function* ofNodes(nodes: readonly onnx.INodeProto[]): Generator<[onnx.ITensorProto, string]> {
    for (const candidate of nodes) {
      const owner = candidate.output?.[0] || candidate.name || candidate.opType || '';
      for (const attribute of candidate.attribute ?? []) {
        const tensors = [
          attribute.t,
          ...(attribute.tensors ?? []),
          ...[attribute.sparseTensor, ...(attribute.sparseTensors ?? [])].flatMap(sparseParts),
        ];
        for (const tensor of tensors) if (tensor) yield [tensor, tensor.name || owner];
        for (const graph of [attribute.g, ...(attribute.graphs ?? [])]) if (graph) yield* ofGraph(graph);
      }
    }
  }
  function* ofGraph(graph: onnx.IGraphProto): Generator<[onnx.ITensorProto, string]> {
    for (const tensor of graph.initializer ?? []) yield [tensor, tensor.name ?? ''];
    for (const sparse of graph.sparseInitializer ?? []) for (const part of sparseParts(sparse)) yield [part, part.name ?? ''];
    yield* ofNodes(graph.node ?? []);
  }
  if (model.graph) yield* ofGraph(model.graph);
  for (const fn of model.functions ?? []) yield* ofNodes(fn.node ?? []);
  for (const training of model.trainingInfo ?? []) {
    for (const graph of [training.initialization, training.algorithm]) if (graph) yield* ofGraph(graph);
  }
}

/**
 * Refuses tensors whose bytes are in another file, at a location the model itself names. The instrumented graph is
 * written elsewhere (beside the model or in the extension's storage), where a relative location would name another
 * file; and onnxruntime's refusal of absolute and escaping locations is not the only check.
 */
function refuseExternalData(model: onnx.IModelProto): void {
  for (const [tensor, name] of tensorsOf(model)) {
    if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL && !tensor.externalData?.length) continue;
    const location = tensor.externalData?.find((entry) => entry.key === 'location')?.value;
    throw new InstrumentationError(
      `The ONNX model keeps tensor ${shown(name)} in an external file${typeof location === 'string' ? ` (${shown(location)})` : ''}; Attention Explorer reads only models whose weights are inside the .onnx file.`,
    );
  }
}

/**
 * Refuses a graph onnxruntime could not run once instrumented, and says where: a tensor written twice, a node reading
 * a tensor nothing defines (a missing node, a renamed tensor), an output nothing writes, nodes in a cycle, or a name
 * the instrumentation adds. Subgraphs (an `If`'s branches) are checked with the names of the graphs around them.
 * Linear in the size of the graph.
 */
function checkStructure(graph: onnx.IGraphProto, reserved: (name: string) => boolean, outer?: ReadonlySet<string>): void {
  const where = outer ? ` in subgraph ${shown(graph.name)}` : '';
  const defined = new Set([
    ...(graph.input ?? []).map((input) => input.name ?? ''),
    ...(graph.initializer ?? []).map((initializer) => initializer.name ?? ''),
  ]);
  const nodes = graph.node ?? [];
  const producers = new Map<string, onnx.INodeProto>();
  for (const candidate of nodes) {
    for (const output of candidate.output ?? []) {
      if (output === '') continue; // an optional output left out
      if (defined.has(output) || producers.has(output)) {
        throw new InstrumentationError(`The graph writes tensor ${shown(output)} more than once${where} (node ${shown(candidate.name)}).`);
      }
      producers.set(output, candidate);
    }
  }
  for (const name of [...defined, ...producers.keys()]) {
    if (reserved(name)) {
      throw new InstrumentationError(
        `The graph already has a tensor named ${shown(name)}, a name the instrumentation adds; it looks instrumented already.`,
      );
    }
  }
  const known = (name: string) => name === '' || defined.has(name) || producers.has(name) || !!outer?.has(name);
  // Kahn's algorithm over this graph's nodes: what is left once every node whose inputs are ready has run is a cycle.
  const waiting = new Map<onnx.INodeProto, number>();
  const readers = new Map<onnx.INodeProto, onnx.INodeProto[]>();
  const ready: onnx.INodeProto[] = [];
  for (const candidate of nodes) {
    const from = new Set<onnx.INodeProto>();
    for (const input of candidate.input ?? []) {
      if (!known(input)) {
        throw new InstrumentationError(
          `Node ${shown(candidate.name)}${where} reads tensor ${shown(input)}, which nothing in the graph defines.`,
        );
      }
      const producer = producers.get(input);
      if (producer) from.add(producer);
    }
    for (const producer of from) {
      const list = readers.get(producer);
      if (list) list.push(candidate);
      else readers.set(producer, [candidate]);
    }
    waiting.set(candidate, from.size);
    if (from.size === 0) ready.push(candidate);
  }
  let ran = 0;
  while (ready.length > 0) {
    const done = ready.pop()!;
    ran += 1;
    for (const reader of readers.get(done) ?? []) {
      const left = waiting.get(reader)! - 1;
      waiting.set(reader, left);
      if (left === 0) ready.push(reader);
    }
  }
  if (ran < nodes.length) {
    const stuck = nodes.find((candidate) => waiting.get(candidate)! > 0)!;
    throw new InstrumentationError(`The graph's nodes form a cycle${where} (through node ${shown(stuck.name)}); an ONNX graph has none.`);
  }
  for (const output of graph.output ?? []) {
    if (!known(output.name ?? '') || !output.name) {
      throw new InstrumentationError(`The graph's output ${shown(output.name)}${where} is not written by any node.`);
    }
  }
  const inner = new Set([...(outer ?? []), ...defined, ...producers.keys()]);
  for (const candidate of nodes) {
    for (const attribute of candidate.attribute ?? []) {
      for (const subgraph of [attribute.g, ...(attribute.graphs ?? [])]) if (subgraph) checkStructure(subgraph, reserved, inner);
    }
  }
}

/** The oldest opset whose operators the added nodes are written for (Slice with inputs, GatherElements: opset 11). */
const MIN_OPSET = 11;

/** The names the encoder instrumentation adds, and the prefixes of its per-layer names. */
const ENCODER_RESERVED = [
  HEAD_MASK_INPUT,
  'attention_explorer/',
  ...[probabilitiesOutput, scoresOutput, headMeansOutput, queryOutput, keyTransposedOutput].map((output) => output(0).replace(/0$/, '')),
];

/**
 * Decodes a model file to instrument, refusing what is not a usable ONNX graph: one {@link checkStructure} refuses,
 * one with tensors in other files, or one that already has a name in `reserved` (exact, or prefixes ending in `.` or
 * `/`): the names the instrumentation adds.
 */
export function decodeForInstrumentation(bytes: Uint8Array, reserved: readonly string[] = ENCODER_RESERVED): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new InstrumentationError(
      `The model file is not a readable ONNX model (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  if (!model.graph?.node?.length) throw new InstrumentationError('The ONNX model has no graph.');
  if (toNumber(model.irVersion as number) < 4) {
    throw new InstrumentationError(`The ONNX model uses IR version ${toNumber(model.irVersion as number)}; version 4 or later is needed.`);
  }
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET) {
    throw new InstrumentationError(
      opset === 0
        ? 'The ONNX model does not say which version of the standard operators it uses (it imports no opset of the default domain).'
        : `The ONNX model uses opset ${opset}; opset ${MIN_OPSET} or later is needed.`,
    );
  }
  refuseExternalData(model);
  const isReserved = (name: string) =>
    reserved.some((entry) => (entry.endsWith('.') || entry.endsWith('/') ? name.startsWith(entry) : name === entry));
  checkStructure(model.graph, isReserved);
  return model;
}

export function instrumentModel(
  bytes: Uint8Array,
  expected: { layers: number; heads: number },
  pattern: GraphPattern,
  options: InstrumentOptions = { headMask: true },
): InstrumentationResult {
  checkClaim(expected);
  const model = decodeForInstrumentation(bytes);
  const graph = model.graph!;
  const inputNames = new Set((graph.input ?? []).map((input) => input.name));
  const required = pattern.inputs.filter((input) => input.required).map((input) => input.name);
  const unknown = [...inputNames].filter((name) => !pattern.inputs.some((input) => input.name === name));
  if (required.some((name) => !inputNames.has(name)) || unknown.length > 0) {
    throw new InstrumentationError(
      `The graph's inputs are ${[...inputNames].join(', ')}; ${pattern.description} has ${pattern.inputs.map((input) => input.name + (input.required ? '' : ' (optional)')).join(', ')}.`,
    );
  }
  const nodes = graph.node ?? [];
  const softmaxes = nodes.filter((candidate) => candidate.opType === 'Softmax');
  if (softmaxes.length !== expected.layers) {
    throw new InstrumentationError(
      `Found ${softmaxes.length} Softmax node(s) where ${pattern.description} with ${expected.layers} layers has one attention Softmax per layer; this graph is not an export Attention Explorer understands.`,
    );
  }
  const graphIndex = indexGraph(graph);
  for (const [layer, softmax] of softmaxes.entries()) {
    checkSoftmaxAxis(softmax, layer);
    if (softmax.input?.length !== 1 || softmax.output?.length !== 1 || !feedsProduct(graphIndex, softmax.output[0]!)) {
      throw new InstrumentationError(
        `Softmax ${softmax.name} (layer ${layer}) does not feed a matrix product with the values; it is not an attention Softmax.`,
      );
    }
  }

  const { layers, heads } = expected;
  const opset = defaultOpset(model);
  const scalars = floatScalars(graph);
  const products = softmaxes.map((softmax) => scoresProduct(graphIndex, softmax, pattern.scorePath, scalars));
  const exposeOperands = products.every((found) => found !== undefined);
  const scoreSteps = onDemandSteps(products, options);
  const maps = scoreSteps === undefined;
  const added: onnx.INodeProto[][] = softmaxes.map(() => []);
  const initializers: onnx.ITensorProto[] = options.headMask ? [int64Tensor('attention_explorer/head_mask_shape', [-1, heads, 1, 1])] : [];
  // ReduceMean takes its axes as an attribute up to opset 17 and as an input from opset 18.
  const reduceOverHeads = (input: string, output: string, name: string) =>
    opset >= 18
      ? node('ReduceMean', [input, 'attention_explorer/head_axis'], [output], name, { keepdims: 0 })
      : node('ReduceMean', [input], [output], name, { axes: [1], keepdims: 0 });
  if (opset >= 18) initializers.push(int64Tensor('attention_explorer/head_axis', [1]));
  softmaxes.forEach((softmax, layer) => {
    const probabilities = softmax.output![0]!;
    const masked = probabilitiesOutput(layer);
    const prefix = `attention_explorer/layer.${layer}`;
    // Every consumer of the Softmax now reads the (masked) probabilities; without a mask, they are the Softmax output.
    for (const consumer of consumersOf(graphIndex, probabilities)) {
      consumer.input = consumer.input!.map((input) => (input === probabilities ? masked : input));
    }
    if (!options.headMask) softmax.output = [masked];
    const found = products[layer];
    if (exposeOperands && found) {
      added[layer]!.push(
        node('Identity', [found.product.input![0]!], [queryOutput(layer)], `${prefix}/Query`),
        node('Identity', [found.product.input![1]!], [keyTransposedOutput(layer)], `${prefix}/KeyTransposed`),
      );
    }
    if (options.headMask) {
      const index = `attention_explorer/layer_index.${layer}`;
      initializers.push(int64Tensor(index, [layer], []));
      added[layer]!.push(
        node('Gather', [HEAD_MASK_INPUT, index], [`${prefix}/head_mask_row`], `${prefix}/Gather`, { axis: 1 }),
        node('Reshape', [`${prefix}/head_mask_row`, 'attention_explorer/head_mask_shape'], [`${prefix}/head_mask`], `${prefix}/Reshape`),
        node('Mul', [probabilities, `${prefix}/head_mask`], [masked], `${prefix}/Mul`),
      );
    }
    if (maps) added[layer]!.push(node('Identity', [softmax.input![0]!], [scoresOutput(layer)], `${prefix}/Scores`));
    added[layer]!.push(reduceOverHeads(masked, headMeansOutput(layer), `${prefix}/HeadMean`));
  });

  // Insert each layer's nodes right after its Softmax, keeping the node list topologically sorted.
  const layerOf = new Map(softmaxes.map((softmax, layer) => [softmax, layer]));
  const reordered: onnx.INodeProto[] = [];
  for (const candidate of nodes) {
    reordered.push(candidate);
    const layer = layerOf.get(candidate);
    if (layer !== undefined) reordered.push(...added[layer]!);
  }
  graph.node = reordered;
  graph.initializer = [...(graph.initializer ?? []), ...initializers] as onnx.TensorProto[];
  if (options.headMask)
    graph.input = [
      ...(graph.input ?? []),
      valueInfo(HEAD_MASK_INPUT, DataType.FLOAT, ['head_mask_batch', layers, heads]),
    ] as onnx.ValueInfoProto[];
  const attentionShape: Array<number | string> = ['batch_size', heads, 'sequence_length', 'sequence_length'];
  graph.output = [
    ...(graph.output ?? []),
    ...(maps ? softmaxes.map((_, layer) => valueInfo(probabilitiesOutput(layer), DataType.FLOAT, attentionShape)) : []),
    ...(maps ? softmaxes.map((_, layer) => valueInfo(scoresOutput(layer), DataType.FLOAT, attentionShape)) : []),
    ...softmaxes.map((_, layer) => valueInfo(headMeansOutput(layer), DataType.FLOAT, ['batch_size', 'sequence_length', 'sequence_length'])),
    ...(exposeOperands
      ? softmaxes.flatMap((_, layer) => [
          valueInfo(queryOutput(layer), DataType.FLOAT, ['batch_size', heads, 'sequence_length', 'head_dim']),
          valueInfo(keyTransposedOutput(layer), DataType.FLOAT, ['batch_size', heads, 'head_dim', 'sequence_length']),
        ])
      : []),
  ] as onnx.ValueInfoProto[];
  model.producerName = `${model.producerName ?? ''} + attention-explorer instrumentation v${INSTRUMENTATION_VERSION}`;

  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    layers,
    heads,
    opset,
    quantized: nodes.some((candidate) => candidate.opType === 'MatMulInteger' || candidate.opType === 'QLinearMatMul'),
    softmaxNodes: softmaxes.map((softmax) => softmax.name ?? ''),
    ...(exposeOperands ? { queryScaledBeforeProduct: !products[0]!.scaledAfter } : {}),
    ...(scoreSteps ? { scoreSteps } : {}),
  };
}

/**
 * The steps every layer's maps are replayed with, when the options ask for operands and every layer's scores path
 * was read and is the same; undefined otherwise (the graph returns its maps).
 */
export function onDemandSteps(
  products: ReadonlyArray<{ steps?: ScoreStep[] } | undefined>,
  options: InstrumentOptions,
): ScoreStep[] | undefined {
  if (options.outputs !== 'operands' || options.headMask) return undefined;
  const first = products[0]?.steps;
  if (!first) return undefined;
  const same = (steps: ScoreStep[] | undefined) =>
    steps?.length === first.length && steps.every((step, index) => step.op === first[index]!.op && step.value === first[index]!.value);
  return products.every((found) => same(found?.steps)) ? first : undefined;
}
