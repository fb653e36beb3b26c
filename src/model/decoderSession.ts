/**
 * An onnxruntime session on an instrumented decoder graph: logits, each layer's attention over every earlier token
 * and the key/value cache the next step continues from. A fresh text runs with a zero-length cache (as
 * transformers.js feeds one, from the graph's declared input shapes); a generation step feeds one new token and the
 * cache of everything before it, so the prefix is never run again.
 */
import * as ort from 'onnxruntime-node';
import { headMaskFeed } from './attentionSession';
import type { GraphInput } from './families';
import { HEAD_MASK_INPUT, headMeansOutput, keyTransposedOutput, probabilitiesOutput, queryOutput } from './onnx/instrument';
import type { LayerOperands } from './onDemandMaps';
import { EXPECTED_IDS, EXPECTED_LOG_PROBS, NEXT_TOKEN_LOGITS, TOKEN_LOG_PROBS } from './onnx/instrumentDecoder';
import { DECODER_SESSION_OPTIONS } from './sessionOptions';

export interface DecoderShape {
  layers: number;
  heads: number;
  inputs: readonly GraphInput[];
}

/** The cache after some tokens: every `present.*` output, fed back as the matching `past_key_values.*` input. */
export interface KeyValueCache {
  /** Tokens cached. */
  length: number;
  /** Rows (batch) cached. */
  batch: number;
  tensors: Record<string, ort.Tensor>;
}

export interface DecoderRunInput {
  /** `[batch][new tokens]`, all rows the same length. */
  inputIds: ReadonlyArray<ArrayLike<number>>;
  /** The cache of earlier tokens (none: a fresh text). */
  past?: KeyValueCache;
  /** `batch × layers × heads` (or one mask for every row); needs a graph instrumented with a head mask. */
  headMask?: Float32Array;
}

export interface DecoderRunOutputs {
  attentions?: boolean;
  /** Each token's log-probability and each position's most probable next token (see {@link PredictionReadout}). */
  readout?: boolean;
  headMeans?: boolean;
  /** Every layer's query and transposed key (a graph instrumented for maps on demand). */
  operands?: boolean;
  /** Return the cache after these tokens (generation continues from it). */
  cache?: boolean;
}

export interface DecoderRunOutput {
  batch: number;
  /** New tokens. */
  n: number;
  /** Cached + new tokens. */
  total: number;
  /** `[batch, vocab]`: the last position's logits (the next token's). */
  logits: Float32Array;
  vocab: number;
  readout?: PredictionReadout;
  /** Per layer `[batch, heads, n, total]`. */
  attentions?: Float32Array[];
  /** Per layer `[batch, n, total]`. */
  headMeans?: Float32Array[];
  /** Per layer `[batch, heads, n, d]` and `[batch, heads, d, total]`. */
  layerOperands?: LayerOperands[];
  cache?: KeyValueCache;
}

/** Read from the logits inside the graph, all `[batch, n]` (see `predictionReadout` in onnx/instrumentDecoder.ts). */
export interface PredictionReadout {
  /** At i: log p(token i + 1 | tokens ≤ i); the last of each row is meaningless. */
  tokenLogProbs: Float32Array;
  /** At i: the most probable token after position i, and its log-probability. */
  expectedIds: BigInt64Array;
  expectedLogProbs: Float32Array;
}

const PRESENT_PREFIX = 'present';

export class DecoderSession {
  private readonly pastInputs: string[];
  private readonly pastPrefix: string;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.pastPrefix = shape.inputs.find((input) => input.value === 'past')?.name ?? 'past_key_values.';
    this.pastInputs = session.inputNames.filter((name) => name.startsWith(this.pastPrefix));
  }

  static async load(modelPath: string, shape: DecoderShape): Promise<DecoderSession> {
    const session = await ort.InferenceSession.create(modelPath, DECODER_SESSION_OPTIONS);
    return new DecoderSession(session, shape);
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Whether the graph returns queries and keys rather than maps (see `outputs: 'operands'` in onnx/instrument.ts). */
  get returnsOperands(): boolean {
    return this.session.outputNames.includes(queryOutput(0));
  }

  get hasHeadMask(): boolean {
    return this.session.inputNames.includes(HEAD_MASK_INPUT);
  }

  /** A zero-length cache input as the graph declares it: `batch_size` is the batch, every other named axis 0. */
  private emptyPast(name: string, batch: number): ort.Tensor {
    const metadata = this.session.inputMetadata.find((entry) => entry.name === name);
    const declared = metadata && metadata.isTensor ? metadata.shape : [];
    const dims = declared.map((dimension, axis) => (typeof dimension === 'number' && dimension > 0 ? dimension : axis === 0 ? batch : 0));
    const type = metadata && metadata.isTensor ? metadata.type : 'float32';
    return type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  }

  async run(input: DecoderRunInput, outputs: DecoderRunOutputs = {}): Promise<DecoderRunOutput> {
    const batch = input.inputIds.length;
    const n = input.inputIds[0]?.length ?? 0;
    if (batch === 0 || n === 0) throw new RangeError('run: empty batch');
    const past = input.past?.length ?? 0;
    if (input.past && input.past.batch !== batch) throw new RangeError(`run: a cache of ${input.past.batch} row(s) for ${batch}`);
    const total = past + n;
    const ids = new BigInt64Array(batch * n);
    input.inputIds.forEach((row, b) => {
      if (row.length !== n) throw new RangeError('run: rows of different lengths');
      for (let position = 0; position < n; position += 1) ids[b * n + position] = BigInt(row[position]!);
    });
    const feeds: Record<string, ort.Tensor> = {};
    const present = this.session.inputNames;
    for (const declared of this.shape.inputs) {
      switch (declared.value) {
        case 'ids':
          if (present.includes(declared.name)) feeds[declared.name] = new ort.Tensor('int64', ids, [batch, n]);
          break;
        case 'mask':
          if (present.includes(declared.name))
            feeds[declared.name] = new ort.Tensor('int64', new BigInt64Array(batch * total).fill(1n), [batch, total]);
          break;
        case 'positions':
          if (present.includes(declared.name)) {
            const positions = new BigInt64Array(batch * n);
            for (let index = 0; index < positions.length; index += 1) positions[index] = BigInt(past + (index % n));
            feeds[declared.name] = new ort.Tensor('int64', positions, [batch, n]);
          }
          break;
        case 'cacheBranch':
          if (present.includes(declared.name)) feeds[declared.name] = new ort.Tensor('bool', [past > 0], [1]);
          break;
        case 'past':
          for (const name of this.pastInputs) feeds[name] = input.past?.tensors[name] ?? this.emptyPast(name, batch);
          break;
        case 'zeros':
          if (present.includes(declared.name)) feeds[declared.name] = new ort.Tensor('int64', new BigInt64Array(batch * n), [batch, n]);
          break;
      }
    }
    const { layers } = this.shape;
    const maskFeed = headMaskFeed(this.session.inputNames, this.shape, batch, input.headMask);
    if (maskFeed) feeds[HEAD_MASK_INPUT] = maskFeed;
    const layerIndices = Array.from({ length: layers }, (_, layer) => layer);
    const presentNames = this.pastInputs.map((name) => PRESENT_PREFIX + name.slice(this.pastPrefix.length - 1));
    const fetches = [
      NEXT_TOKEN_LOGITS,
      ...(outputs.readout ? [TOKEN_LOG_PROBS, EXPECTED_IDS, EXPECTED_LOG_PROBS] : []),
      ...(outputs.attentions ? layerIndices.map(probabilitiesOutput) : []),
      ...(outputs.headMeans ? layerIndices.map(headMeansOutput) : []),
      ...(outputs.operands ? layerIndices.flatMap((layer) => [queryOutput(layer), keyTransposedOutput(layer)]) : []),
      ...(outputs.cache ? presentNames : []),
    ];
    const result = await this.session.run(feeds, fetches);
    const logits = result[NEXT_TOKEN_LOGITS]!;
    const output: DecoderRunOutput = {
      batch,
      n,
      total,
      logits: logits.data as Float32Array,
      vocab: Number(logits.dims[2]),
    };
    if (outputs.readout) {
      output.readout = {
        tokenLogProbs: result[TOKEN_LOG_PROBS]!.data as Float32Array,
        expectedIds: result[EXPECTED_IDS]!.data as BigInt64Array,
        expectedLogProbs: result[EXPECTED_LOG_PROBS]!.data as Float32Array,
      };
    }
    if (outputs.attentions) output.attentions = layerIndices.map((layer) => result[probabilitiesOutput(layer)]!.data as Float32Array);
    if (outputs.headMeans) output.headMeans = layerIndices.map((layer) => result[headMeansOutput(layer)]!.data as Float32Array);
    if (outputs.operands) {
      output.layerOperands = layerIndices.map((layer) => ({
        query: result[queryOutput(layer)]!.data as Float32Array,
        keyTransposed: result[keyTransposedOutput(layer)]!.data as Float32Array,
      }));
    }
    if (outputs.cache) {
      const tensors: Record<string, ort.Tensor> = {};
      this.pastInputs.forEach((name, index) => (tensors[name] = result[presentNames[index]!]!));
      output.cache = { length: total, batch, tensors };
    }
    return output;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
