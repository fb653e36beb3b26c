/**
 * Cuts an instrumented encoder graph into one graph per layer, joined by the hidden states between layers:
 *
 *   segment 0:      input_ids, attention_mask, head_mask → hidden.1   (embeddings + layer 0)
 *   segment l:      hidden.l,  attention_mask, head_mask → hidden.l+1 (layer l)
 *   segment L − 1:  hidden.L−1, attention_mask, head_mask → logits    (last layer + the task head)
 *
 * Why: switching off a head in layer l leaves every layer below it unchanged, so an ablation sweep computes the lower
 * layers once and starts each ablated row at its own layer. Each segment holds only its own layer's weights, so the
 * segments together cost one copy of the model, and they compute nothing but the head's output (no attention outputs).
 *
 * The cut points are found, not assumed: a layer's input is the tensor its query and key projections both read.
 */
import type { GraphPattern } from '../families';
import { attributeInt, DataType, indexGraph, int64Tensor, node, onnx, valueInfo } from './graph';
import { HEAD_MASK_INPUT, InstrumentationError, scoresProduct } from './instrument';

export const hiddenInput = (layer: number) => `hidden.${layer}`;
/** The input of the last segment that says which token's output to compute (`target-position` segments). */
export const TARGET_POSITION_INPUT = 'target_position';

export interface LayerSegment {
  /** The first layer this segment computes. */
  layer: number;
  bytes: Uint8Array;
  /** The hidden state it reads (absent for segment 0, which reads the token ids). */
  input?: string;
  /** `hidden.{layer+1}`, or the task head's output for the last segment. */
  output: string;
}

const PRODUCTS = new Set(['MatMul', 'MatMulInteger']);

export interface SplitOptions {
  pattern: GraphPattern;
  /** The graph output the last segment computes (the task head's: `logits`, `last_hidden_state`). */
  output: string;
  /**
   * Which tokens the last layer computes its query, attention row, residual and feed-forward for (keys and values are
   * still every token's):
   * - `all`: every token;
   * - `first-token`: token 0 alone, for a head that reads only it ([CLS]); applied only where the graph reads token 0
   *   with a constant Gather;
   * - `target-position`: the one token a new input `target_position` names, per row (`[batch, 1, width]`, every
   *   element the token's index: GatherElements reads it), for explaining one token's label or one mask's prediction;
   *   the head's output then has one position.
   * Cuts about (n − 1)/n of the last layer's work from every row.
   */
  lastLayer?: 'all' | 'first-token' | 'target-position';
}

/** Splits an instrumented graph (see instrument.ts) into per-layer segments. */
export function splitIntoLayerSegments(bytes: Uint8Array, layers: number, options: SplitOptions): LayerSegment[] {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const graphIndex = indexGraph(graph);
  const { producers, constants, consumers, positions } = graphIndex;
  const softmaxes = nodes.filter((candidate) => candidate.opType === 'Softmax');
  if (softmaxes.length !== layers) throw new InstrumentationError(`Expected ${layers} attention Softmax nodes, found ${softmaxes.length}.`);

  /** Walks back from an operand of the scores product to the input of its projection (the layer's hidden state). */
  const projectionInput = (tensor: string): string | undefined => {
    for (let hop = 0; hop < 12; hop += 1) {
      const producer = producers.get(tensor);
      if (!producer) return undefined;
      const inputs = producer.input ?? [];
      if (PRODUCTS.has(producer.opType ?? '') && inputs.slice(0, 2).some((input) => constants.has(input))) {
        const data = inputs.slice(0, 2).find((input) => !constants.has(input));
        if (data === undefined) return undefined;
        // A quantized projection reads the DynamicQuantizeLinear of the hidden state.
        const quantizer = producers.get(data);
        return quantizer?.opType === 'DynamicQuantizeLinear' ? quantizer.input![0] : data;
      }
      const next = inputs.find((input) => input !== '' && !constants.has(input));
      if (next === undefined) return undefined;
      tensor = next;
    }
    return undefined;
  };
  const layerInputs = softmaxes.map((softmax, layer) => {
    const product = scoresProduct(graphIndex, softmax, options.pattern.scorePath)?.product;
    const fromQuery = product && projectionInput(product.input![0]!);
    const fromKey = product && projectionInput(product.input![1]!);
    if (!fromQuery || fromQuery !== fromKey) {
      throw new InstrumentationError(`Could not find the input of layer ${layer}: its query and key projections do not read one tensor.`);
    }
    return fromQuery;
  });

  const graphInputs = new Map((graph.input ?? []).map((input) => [input.name ?? '', input]));
  const initializers = new Map((graph.initializer ?? []).map((initializer) => [initializer.name ?? '', initializer]));
  const headOutput = graph.output?.find((output) => output.name === options.output);
  if (!headOutput) throw new InstrumentationError(`The graph has no ${options.output} output.`);
  const dim = ['batch_size', 'sequence_length', 'dim'];
  const lastLayer = options.lastLayer ?? 'all';

  const lastLayerQueryConsumer = (() => {
    if (lastLayer === 'all' || layers < 2) return undefined;
    const hidden = layerInputs[layers - 1]!;
    const product = scoresProduct(graphIndex, softmaxes[layers - 1]!, options.pattern.scorePath)?.product;
    if (!product) return undefined;
    /** The node reading `hidden` on the way back from an operand of the scores product. */
    const readerOf = (tensor: string): onnx.INodeProto | undefined => {
      for (let hop = 0; hop < 14; hop += 1) {
        const producer = producers.get(tensor);
        if (!producer) return undefined;
        if (producer.input?.includes(hidden)) return producer;
        const next = (producer.input ?? []).find((input) => input !== '' && !constants.has(input));
        if (next === undefined) return undefined;
        tensor = next;
      }
      return undefined;
    };
    const queryReader = readerOf(product.input![0]!);
    const keyReader = readerOf(product.input![1]!);
    const residuals = (consumers.get(hidden) ?? []).filter((candidate) => candidate.opType === 'Add');
    // The classifier must read token 0 of the last hidden state: a Gather on axis 1 with the constant index 0.
    const initializerValue = (name: string) => {
      const found = initializers.get(name);
      if (!found?.rawData || found.dataType !== DataType.INT64 || found.rawData.byteLength !== 8) return undefined;
      return new DataView(found.rawData.buffer, found.rawData.byteOffset, 8).getBigInt64(0, true);
    };
    const readsFirstToken = nodes.some(
      (candidate) =>
        candidate.opType === 'Gather' && attributeInt(candidate, 'axis') === 1 && initializerValue(candidate.input?.[1] ?? '') === 0n,
    );
    if (!queryReader || !keyReader || queryReader === keyReader || residuals.length !== 1) return undefined;
    if (lastLayer === 'first-token' && !readsFirstToken) return undefined;
    return { queryReader, residual: residuals[0]! };
  })();
  if (lastLayer === 'target-position' && !lastLayerQueryConsumer) {
    throw new InstrumentationError("The last layer's query and residual could not be found: its output cannot be computed for one token.");
  }

  return Array.from({ length: layers }, (_, layer): LayerSegment => {
    const input = layer === 0 ? undefined : layerInputs[layer]!;
    const output = layer === layers - 1 ? options.output : layerInputs[layer + 1]!;
    // Every node the output needs, stopping at the segment's input.
    const needed = new Set<onnx.INodeProto>();
    const pending = [output];
    const seen = new Set<string>();
    while (pending.length) {
      const tensor = pending.pop()!;
      if (seen.has(tensor) || tensor === input || tensor === '') continue;
      seen.add(tensor);
      const producer = producers.get(tensor);
      if (!producer || needed.has(producer)) continue;
      needed.add(producer);
      pending.push(...(producer.input ?? []));
    }
    const used = new Set([...needed].flatMap((candidate) => candidate.input ?? []));
    const renamed = (name: string) =>
      name === input ? hiddenInput(layer) : name === output && layer < layers - 1 ? hiddenInput(layer + 1) : name;
    const firstOnly = layer === layers - 1 ? lastLayerQueryConsumer : undefined;
    const firstToken = `${hiddenInput(layer)}/first_token`;
    const segmentNodes = [...needed]
      .sort((a, b) => positions.get(a)! - positions.get(b)!)
      .map((candidate) => {
        const inputs = (candidate.input ?? []).map(renamed);
        const onlyFirst = firstOnly && (candidate === firstOnly.queryReader || candidate === firstOnly.residual);
        return {
          ...candidate,
          input: onlyFirst ? inputs.map((name) => (name === hiddenInput(layer) ? firstToken : name)) : inputs,
          output: (candidate.output ?? []).map(renamed),
        };
      });
    const extraInitializers: onnx.ITensorProto[] = [];
    if (firstOnly) {
      const pick =
        lastLayer === 'target-position'
          ? node('GatherElements', [hiddenInput(layer), TARGET_POSITION_INPUT], [firstToken], 'attention_explorer/target_token', {
              axis: 1,
            })
          : node(
              'Slice',
              [hiddenInput(layer), `${firstToken}/zero`, `${firstToken}/one`, `${firstToken}/one`],
              [firstToken],
              'attention_explorer/first_token',
            );
      if (lastLayer === 'first-token')
        extraInitializers.push(int64Tensor(`${firstToken}/zero`, [0]), int64Tensor(`${firstToken}/one`, [1]));
      segmentNodes.unshift(pick as onnx.INodeProto & { input: string[]; output: string[] });
    }
    const inputs: onnx.IValueInfoProto[] = [...graphInputs.values()].filter(
      (candidate) => used.has(candidate.name ?? '') && !initializers.has(candidate.name ?? ''),
    );
    if (input) inputs.unshift(valueInfo(hiddenInput(layer), DataType.FLOAT, dim));
    if (firstOnly && lastLayer === 'target-position')
      inputs.push(valueInfo(TARGET_POSITION_INPUT, DataType.INT64, ['batch_size', 1, 'dim']));
    if (!inputs.some((candidate) => candidate.name === HEAD_MASK_INPUT)) {
      throw new InstrumentationError(`Segment ${layer} does not read the head mask.`);
    }
    const segment: onnx.IModelProto = {
      ...model,
      graph: {
        ...graph,
        node: segmentNodes,
        input: inputs,
        initializer: [...[...initializers.values()].filter((initializer) => used.has(initializer.name ?? '')), ...extraInitializers],
        output: [layer === layers - 1 ? headOutput : valueInfo(hiddenInput(layer + 1), DataType.FLOAT, dim)],
        valueInfo: [],
      },
    };
    return {
      layer,
      bytes: onnx.ModelProto.encode(segment).finish(),
      ...(input ? { input: hiddenInput(layer) } : {}),
      output: layer === layers - 1 ? options.output : hiddenInput(layer + 1),
    };
  });
}
