/**
 * The model as a chain of per-layer onnxruntime sessions (see onnx/segments.ts), for interventions: many rows in one
 * batched run, each with its own head mask, and rows that start at a layer from a hidden state computed once.
 *
 * Batches are cut into chunks that keep a segment's working set (mostly `rows × heads × n²` attention floats, a few
 * times over) under a budget, so a 512-token sweep does not ask onnxruntime for gigabytes at once.
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { throwIfCancelled } from '../shared/errors';
import { tokenFeeds } from './attentionSession';
import type { GraphInput } from './families';
import { HEAD_MASK_INPUT } from './onnx/instrument';
import { hiddenInput, splitIntoLayerSegments, TARGET_POSITION_INPUT, type SplitOptions } from './onnx/segments';
import { MODEL_SESSION_OPTIONS } from './sessionOptions';

export interface ChainShape {
  layers: number;
  heads: number;
  /** The width of the hidden states between layers. */
  width: number;
  /** The feed-forward width. */
  intermediate: number;
  /** The token inputs of the family's exports. */
  inputs: readonly GraphInput[];
  /**
   * A q8 graph quantizes each activation tensor with one scale for the whole batch (DynamicQuantizeLinear), so a row's
   * result would depend on the rows batched with it: quantized chains run one row at a time.
   */
  quantized?: boolean;
}

/**
 * A row of a batched run: its token ids, its head mask (`layers × heads`, 1 = on; all on when absent), and for a chain
 * whose last layer computes one token (`target-position`), which token.
 */
export interface ChainRow {
  ids: ArrayLike<number>;
  headMask?: Float32Array;
  targetPosition?: number;
}

/** Measured on the full-size model: at 128 tokens, chunks of about 10 rows ran faster than 25 (cache-bound). */
const WORKING_SET_BUDGET_BYTES = 96 * 1024 * 1024;

/**
 * Segments run one after another, each with its own intra-op thread pool. Spinning threads (onnxruntime's default)
 * of the segment that just finished would keep the cores busy while the next one starts: measured on 2 cores, that
 * made the chain 2–3× slower than the single graph.
 */
const SEGMENT_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  ...MODEL_SESSION_OPTIONS,
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};

export class LayerChain {
  private constructor(
    private readonly sessions: ort.InferenceSession[],
    readonly shape: ChainShape,
    /** How the last layer was cut (see {@link SplitOptions.lastLayer}). */
    readonly lastLayer: NonNullable<SplitOptions['lastLayer']>,
  ) {}

  /** Splits an instrumented model file into per-layer sessions (one copy of the weights in all). */
  static async load(instrumentedPath: string, shape: ChainShape, options: SplitOptions): Promise<LayerChain> {
    const segments = splitIntoLayerSegments(fs.readFileSync(instrumentedPath), shape.layers, options);
    const sessions: ort.InferenceSession[] = [];
    try {
      for (const segment of segments) {
        sessions.push(await ort.InferenceSession.create(segment.bytes, SEGMENT_SESSION_OPTIONS));
      }
    } catch (error) {
      await Promise.all(sessions.map((session) => session.release()));
      throw error;
    }
    return new LayerChain(sessions, shape, options.lastLayer ?? 'all');
  }

  /** How many rows of n tokens one segment run takes at most. */
  rowsPerRun(n: number): number {
    const { heads, width, intermediate, quantized } = this.shape;
    if (quantized) return 1;
    const perRow = 4 * (4 * heads * n * n + 2 * n * intermediate + 8 * n * width);
    return Math.max(1, Math.floor(WORKING_SET_BUDGET_BYTES / perRow));
  }

  /** The head's output of each row (rows of one length). */
  outputs(rows: readonly ChainRow[]): Promise<Float32Array[]> {
    return this.runFrom(0, rows, undefined);
  }

  /**
   * Runs segment `layer` and every segment after it. `hidden[r]` is row r's input to `layer` (`[n, dim]`), or
   * undefined at layer 0. Returns each row's logits.
   */
  async runFrom(layer: number, rows: readonly ChainRow[], hidden: readonly Float32Array[] | undefined): Promise<Float32Array[]> {
    let states = hidden;
    for (let current = layer; current < this.shape.layers; current += 1) {
      states = await this.segment(current, rows, states);
    }
    return states as Float32Array[];
  }

  /**
   * One segment over rows (chunked); returns per row its output (the next hidden state, or the logits). Between
   * chunks, `control` can cancel the run and counts the rows done.
   */
  async segment(
    layer: number,
    rows: readonly ChainRow[],
    hidden: readonly Float32Array[] | undefined,
    control: { signal?: AbortSignal | undefined; onRows?: (count: number) => void } = {},
  ): Promise<Float32Array[]> {
    if (rows.length === 0) return [];
    const n = rows[0]!.ids.length;
    const chunk = this.rowsPerRun(n);
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += chunk) {
      throwIfCancelled(control.signal);
      const part = rows.slice(start, start + chunk);
      const result = await this.runSegment(layer, part, hidden?.slice(start, start + chunk), n);
      control.onRows?.(part.length);
      const size = result.length / part.length;
      for (let row = 0; row < part.length; row += 1) out.push(result.subarray(row * size, (row + 1) * size));
    }
    return out;
  }

  private async runSegment(
    layer: number,
    rows: readonly ChainRow[],
    hidden: readonly Float32Array[] | undefined,
    n: number,
  ): Promise<Float32Array> {
    const session = this.sessions[layer]!;
    const batch = rows.length;
    const { layers, heads, width } = this.shape;
    const ids = new BigInt64Array(batch * n);
    rows.forEach((row, r) => {
      if (row.ids.length !== n) throw new RangeError('rows of different lengths in one run');
      for (let position = 0; position < n; position += 1) ids[r * n + position] = BigInt(row.ids[position]!);
    });
    const feeds = tokenFeeds(this.shape.inputs, session.inputNames, {
      ids,
      mask: new BigInt64Array(batch * n).fill(1n),
      shape: [batch, n],
    });
    if (session.inputNames.includes(TARGET_POSITION_INPUT)) {
      // Every element of a row's index names its target token: GatherElements picks that token's hidden state.
      const index = new BigInt64Array(batch * width);
      rows.forEach((row, r) => index.fill(BigInt(row.targetPosition ?? 0), r * width, (r + 1) * width));
      feeds[TARGET_POSITION_INPUT] = new ort.Tensor('int64', index, [batch, 1, width]);
    }
    const masks = new Float32Array(batch * layers * heads).fill(1);
    rows.forEach((row, r) => row.headMask && masks.set(row.headMask, r * layers * heads));
    feeds[HEAD_MASK_INPUT] = new ort.Tensor('float32', masks, [batch, layers, heads]);
    if (layer > 0) {
      if (!hidden || hidden.length !== batch) throw new RangeError(`segment ${layer} needs the hidden state of every row`);
      const states = new Float32Array(batch * n * width);
      hidden.forEach((state, r) => states.set(state, r * n * width));
      feeds[hiddenInput(layer)] = new ort.Tensor('float32', states, [batch, n, width]);
    }
    const result = await session.run(feeds);
    return result[session.outputNames[0]!]!.data as Float32Array;
  }

  release(): Promise<void> {
    return Promise.all(this.sessions.map((session) => session.release())).then(() => undefined);
  }
}
