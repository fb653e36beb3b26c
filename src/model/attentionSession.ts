/**
 * An onnxruntime session on an instrumented encoder graph: the task head's output (logits, or the last hidden state),
 * and on request every layer's attention probabilities, their means over heads and the pre-softmax scores, for one
 * sequence or a batch (each row with its own head mask). The graph's inputs are fed as the model's family declares
 * them (token type ids of zeros where an export has them).
 *
 * Tensors come back as onnxruntime allocates them, one array per layer. Measured at 512 tokens on the full-size
 * model, that is the cheapest way out: binding one fresh 75 MB buffer for all layers cost more (zero-filled,
 * page-faulted memory under onnxruntime's kernels), and stitching per-layer arrays together cost over 100 ms.
 */
import * as ort from 'onnxruntime-node';
import type { GraphInput } from './families';
import { HEAD_MASK_INPUT, headMeansOutput, keyTransposedOutput, probabilitiesOutput, queryOutput, scoresOutput } from './onnx/instrument';
import { MODEL_SESSION_OPTIONS } from './sessionOptions';

export interface SessionShape {
  layers: number;
  heads: number;
  /** The inputs of the family's exports (those the graph has are fed). */
  inputs: readonly GraphInput[];
  /** The graph output of the task head. */
  output: string;
}

export interface RunInput {
  /** `[batch][n]` token ids, all rows the same length. */
  inputIds: ReadonlyArray<ArrayLike<number>>;
  /** `[batch][n]`, 1 = token, 0 = padding; all ones when absent. */
  attentionMask?: ReadonlyArray<ArrayLike<number>>;
  /** `batch × layers × heads` (or one `layers × heads` mask for every row); all ones when absent. Only for a graph
   * instrumented with a head mask. */
  headMask?: Float32Array;
}

export interface RunOutput {
  batch: number;
  n: number;
  /** The task head's output: `[batch, labels]`, `[batch, n, labels]` or `[batch, n, hidden]`. */
  output: Float32Array;
  /** Its shape. */
  dims: number[];
  /** Per layer `[batch, heads, n, n]` attention probabilities, when asked for. */
  attentions?: Float32Array[];
  /** Per layer `[batch, n, n]` means over heads, when asked for. */
  headMeans?: Float32Array[];
  /** Per layer `[batch, heads, n, n]` pre-softmax scores, when asked for. */
  scores?: Float32Array[];
  /** The operands of one layer's scores product, when asked for: `[batch, heads, n, d]` and `[batch, heads, d, n]`. */
  operands?: { query: Float32Array; keyTransposed: Float32Array };
  /** Every layer's operands, when asked for (`operands`). */
  layerOperands?: Array<{ query: Float32Array; keyTransposed: Float32Array }>;
}

export interface RunOutputs {
  attentions?: boolean;
  headMeans?: boolean;
  scores?: boolean;
  /** The layer whose query and transposed key to return (the graph must expose them). */
  operandsOfLayer?: number;
  /** Every layer's query and transposed key (the graph must expose them). */
  operands?: boolean;
}

export class AttentionSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly shape: SessionShape,
  ) {}

  /** Whether the graph exposes each layer's query and transposed key (for the neuron view). */
  get exposesOperands(): boolean {
    return this.session.outputNames.includes(queryOutput(0));
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** The same session, reading another of the graph's outputs as the head's. */
  withOutput(output: string): AttentionSession {
    return new AttentionSession(this.session, { ...this.shape, output });
  }

  static async load(modelPath: string, shape: SessionShape): Promise<AttentionSession> {
    // Spinning threads (onnxruntime's default) are kept here: without them a 32-token analysis measured about 25%
    // slower. The per-layer sessions of interventions turn spinning off (src/model/layerChain.ts).
    const session = await ort.InferenceSession.create(modelPath, MODEL_SESSION_OPTIONS);
    return new AttentionSession(session, shape);
  }

  async run(input: RunInput, outputs: RunOutputs = {}): Promise<RunOutput> {
    const batch = input.inputIds.length;
    const n = input.inputIds[0]?.length ?? 0;
    if (batch === 0 || n === 0) {
      throw new RangeError('run: empty batch');
    }
    const ids = new BigInt64Array(batch * n);
    const mask = new BigInt64Array(batch * n);
    input.inputIds.forEach((row, b) => {
      if (row.length !== n) throw new RangeError('run: rows of different lengths');
      for (let position = 0; position < n; position += 1) {
        ids[b * n + position] = BigInt(row[position]!);
        mask[b * n + position] = BigInt(input.attentionMask?.[b]?.[position] ?? 1);
      }
    });
    const { layers, heads } = this.shape;
    const feeds = tokenFeeds(this.shape.inputs, this.session.inputNames, { ids, mask, shape: [batch, n] });
    const maskFeed = headMaskFeed(this.session.inputNames, { layers, heads }, batch, input.headMask);
    if (maskFeed) feeds[HEAD_MASK_INPUT] = maskFeed;
    const layerIndices = Array.from({ length: layers }, (_, layer) => layer);
    const wanted: Array<['attentions' | 'headMeans' | 'scores', (layer: number) => string]> = [
      ['attentions', probabilitiesOutput],
      ['headMeans', headMeansOutput],
      ['scores', scoresOutput],
    ];
    const fetches = [
      ...new Set([this.shape.output, ...wanted.filter(([key]) => outputs[key]).flatMap(([, name]) => layerIndices.map(name))]),
    ];
    const operandLayer = outputs.operandsOfLayer;
    if (operandLayer !== undefined) fetches.push(queryOutput(operandLayer), keyTransposedOutput(operandLayer));
    if (outputs.operands) fetches.push(...layerIndices.flatMap((layer) => [queryOutput(layer), keyTransposedOutput(layer)]));
    const result = await this.session.run(feeds, fetches);
    const head = result[this.shape.output]!;
    const output: RunOutput = { batch, n, output: head.data as Float32Array, dims: head.dims.map(Number) };
    for (const [key, name] of wanted) {
      if (outputs[key]) output[key] = layerIndices.map((layer) => result[name(layer)]!.data as Float32Array);
    }
    if (operandLayer !== undefined) {
      output.operands = {
        query: result[queryOutput(operandLayer)]!.data as Float32Array,
        keyTransposed: result[keyTransposedOutput(operandLayer)]!.data as Float32Array,
      };
    }
    if (outputs.operands) {
      output.layerOperands = layerIndices.map((layer) => ({
        query: result[queryOutput(layer)]!.data as Float32Array,
        keyTransposed: result[keyTransposedOutput(layer)]!.data as Float32Array,
      }));
    }
    return output;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** The token inputs a graph has, each filled as its family declares: ids, the attention mask, zeros for segments. */
export function tokenFeeds(
  inputs: readonly GraphInput[],
  present: readonly string[],
  rows: { ids: BigInt64Array; mask: BigInt64Array; shape: [number, number] },
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    if (!present.includes(input.name)) continue;
    const data = input.value === 'ids' ? rows.ids : input.value === 'mask' ? rows.mask : new BigInt64Array(rows.ids.length);
    feeds[input.name] = new ort.Tensor('int64', data, rows.shape);
  }
  return feeds;
}

/**
 * The `head_mask` feed of a graph instrumented with one: `batch × layers × heads` values, or one mask for every row
 * (all ones when none is given). Undefined for a graph without the input, which must not be given a mask.
 */
export function headMaskFeed(
  inputNames: readonly string[],
  { layers, heads }: { layers: number; heads: number },
  batch: number,
  headMask: Float32Array | undefined,
): ort.Tensor | undefined {
  if (!inputNames.includes(HEAD_MASK_INPUT)) {
    if (headMask) throw new RangeError('run: this graph was instrumented without a head mask');
    return undefined;
  }
  const mask = headMask ?? new Float32Array(layers * heads).fill(1);
  const maskBatch = mask.length / (layers * heads);
  if (!Number.isInteger(maskBatch) || (maskBatch !== 1 && maskBatch !== batch)) {
    throw new RangeError(`run: head mask of ${mask.length} values for ${batch} row(s) of ${layers}×${heads}`);
  }
  return new ort.Tensor('float32', mask, [maskBatch, layers, heads]);
}
