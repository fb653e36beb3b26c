/**
 * Attention maps computed when a view asks, from the queries and keys the analysis run returned (the two operands of
 * each layer's scores product, exactly as the model's graph computed them): a small onnxruntime graph multiplies them,
 * replays the graph's own scalings ({@link ScoreStep}), masks the future for a causal model and takes the Softmax,
 * batched over a layer's heads. The same operators on the same operands round as the model's graph does, which the
 * fidelity tests check against the graph's own Softmax outputs.
 *
 * Held per analysis: `layers × heads × n × d` queries and keys, instead of `layers × heads × n²` maps.
 */
import * as ort from 'onnxruntime-node';
import { DataType, encodeModel, floatTensor, node, valueInfo, type onnx } from './onnx/graph';
import type { ScoreStep } from './onnx/instrument';
import { checkLayer, type LayerMaps } from './layerMaps';

/** One layer's operands: `[heads, n, d]` and `[keyHeads, d, n]` (key heads divide the query heads). */
export interface LayerOperands {
  query: Float32Array;
  keyTransposed: Float32Array;
}

export interface ScoresGraphOptions {
  steps: readonly ScoreStep[];
  /** A decoder's: row i attends to keys 0…i only. */
  causal: boolean;
  /**
   * What the graph returns: every head's map; their mean over heads `[n, n]`; or every head's map max-pooled to
   * `[heads, s, s]` over blocks given as gather indices ({@link poolingIndices}), so that a grid thumbnail's n² map
   * never leaves onnxruntime.
   */
  reduce: 'none' | 'headMean' | 'pool';
}

const OPSET = 13;

/** The maps one pooling run computes at most (2048 tokens: 4 heads), which bounds what onnxruntime's arena keeps. */
const POOLED_MAP_BYTES_PER_RUN = 64 * 2 ** 20;

function checkSteps(steps: readonly ScoreStep[]): void {
  for (const step of steps) {
    if ((step.op !== 'Div' && step.op !== 'Mul') || !Number.isFinite(step.value)) {
      throw new RangeError(`cannot replay the score step ${JSON.stringify(step)}`);
    }
  }
}

/** The small graph's bytes: `query [h, n, d]`, `key_t [h, d, m]` (and `bias [n, m]` when causal) → `probabilities`. */
export function scoresGraphBytes({ steps, causal, reduce }: ScoresGraphOptions): Uint8Array {
  checkSteps(steps);
  const nodes: onnx.INodeProto[] = [node('MatMul', ['query', 'key_t'], ['scores.0'], 'Scores')];
  const initializers: onnx.ITensorProto[] = [];
  steps.forEach((step, index) => {
    initializers.push(floatTensor(`step.${index}`, [step.value], []));
    nodes.push(node(step.op, [`scores.${index}`, `step.${index}`], [`scores.${index + 1}`], `Step.${index}`));
  });
  let scores = `scores.${steps.length}`;
  if (causal) {
    nodes.push(node('Add', [scores, 'bias'], ['masked'], 'Mask'));
    scores = 'masked';
  }
  nodes.push(node('Softmax', [scores], [reduce === 'none' ? 'probabilities' : 'maps'], 'Softmax', { axis: -1 }));
  if (reduce === 'headMean') nodes.push(node('ReduceMean', ['maps'], ['probabilities'], 'HeadMean', { axes: [0], keepdims: 0 }));
  if (reduce === 'pool') {
    // Rows, then columns: gather each block's indices (a short block repeats its last, which leaves a maximum as it
    // is), fold the blocks into an axis of their own and take its maximum. Exact: the same maxima the page pools.
    nodes.push(
      node('Gather', ['maps', 'pool_rows'], ['row_blocks'], 'GatherRows', { axis: 1 }),
      node('Reshape', ['row_blocks', 'row_shape'], ['row_blocks.folded'], 'FoldRows'),
      node('ReduceMax', ['row_blocks.folded'], ['pooled_rows'], 'PoolRows', { axes: [2], keepdims: 0 }),
      node('Gather', ['pooled_rows', 'pool_columns'], ['column_blocks'], 'GatherColumns', { axis: 2 }),
      node('Reshape', ['column_blocks', 'column_shape'], ['column_blocks.folded'], 'FoldColumns'),
      node('ReduceMax', ['column_blocks.folded'], ['probabilities'], 'PoolColumns', { axes: [3], keepdims: 0 }),
    );
  }
  const graph: onnx.IGraphProto = {
    name: 'attention-explorer-scores',
    node: nodes,
    initializer: initializers,
    input: [
      valueInfo('query', DataType.FLOAT, ['heads', 'n', 'd']),
      valueInfo('key_t', DataType.FLOAT, ['heads', 'd', 'm']),
      ...(causal ? [valueInfo('bias', DataType.FLOAT, ['n', 'm'])] : []),
      ...(reduce === 'pool'
        ? [
            valueInfo('pool_rows', DataType.INT64, ['blocks']),
            valueInfo('pool_columns', DataType.INT64, ['blocks']),
            valueInfo('row_shape', DataType.INT64, [4]),
            valueInfo('column_shape', DataType.INT64, [4]),
          ]
        : []),
    ],
    output: [
      valueInfo(
        'probabilities',
        DataType.FLOAT,
        reduce === 'headMean' ? ['n', 'm'] : reduce === 'pool' ? ['heads', 'size', 'size'] : ['heads', 'n', 'm'],
      ),
    ],
  };
  return encodeModel({ irVersion: 7, opsetImport: [{ domain: '', version: OPSET }], producerName: 'attention-explorer', graph });
}

/** One session per kind of small graph, shared by every analysis (they hold no weights). */
const sessions = new Map<string, Promise<ort.InferenceSession>>();

function scoresSession(options: ScoresGraphOptions): Promise<ort.InferenceSession> {
  const key = JSON.stringify(options);
  let session = sessions.get(key);
  if (!session) {
    session = ort.InferenceSession.create(scoresGraphBytes(options), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    session.catch(() => sessions.delete(key));
    sessions.set(key, session);
  }
  return session;
}

/** Releases the small graphs' sessions (the worker's `release`). */
export async function releaseScoreSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map((session) => session.then((loaded) => loaded.release()).catch(() => undefined)));
}

/**
 * Gather indices that pool the `keep` rows (or columns) of a map into `size` blocks, the blocks the page's pooling
 * uses (block b covers displayed rows ⌈b·m/size⌉ … ⌈(b+1)·m/size⌉ − 1): `size × width` indices, each block padded
 * with its last index.
 */
export function poolingIndices(keep: Int32Array, size: number): { indices: BigInt64Array; width: number } {
  const m = keep.length;
  if (size < 1 || size > m) throw new RangeError(`cannot pool ${m} rows into ${size} blocks`);
  const start = (block: number) => Math.ceil((block * m) / size);
  let width = 0;
  for (let block = 0; block < size; block += 1) width = Math.max(width, start(block + 1) - start(block));
  const indices = new BigInt64Array(size * width);
  for (let block = 0; block < size; block += 1) {
    const first = start(block);
    const last = start(block + 1) - 1;
    for (let offset = 0; offset < width; offset += 1) indices[block * width + offset] = BigInt(keep[Math.min(first + offset, last)]!);
  }
  return { indices, width };
}

/** `[n, m]`: 0 where key j ≤ query i (+ the offset of cached keys), −∞ after: what a causal mask adds. */
function causalBias(n: number, m: number): Float32Array {
  const bias = new Float32Array(n * m);
  const past = m - n;
  for (let row = 0; row < n; row += 1) bias.fill(-Infinity, row * m + past + row + 1, (row + 1) * m);
  return bias;
}

export class OnDemandMaps implements LayerMaps {
  readonly onDemand = true;
  private readonly d: number;
  private readonly keyHeads: number;
  private bias: ort.Tensor | undefined;

  constructor(
    private readonly operands: readonly LayerOperands[],
    readonly heads: number,
    readonly n: number,
    private readonly steps: readonly ScoreStep[],
    private readonly causal: boolean,
    /** Keys per query row: n, or more after a cache (the queries are then the last n positions). */
    readonly keys = n,
  ) {
    checkSteps(steps);
    const first = operands[0];
    if (!first || heads < 1 || n < 1 || keys < n) throw new RangeError('OnDemandMaps: no operands');
    this.d = first.query.length / (heads * n);
    this.keyHeads = first.keyTransposed.length / (this.d * keys);
    if (!Number.isInteger(this.d) || !Number.isInteger(this.keyHeads) || this.keyHeads < 1 || heads % this.keyHeads !== 0) {
      throw new RangeError(
        `OnDemandMaps: operands of ${first.query.length} and ${first.keyTransposed.length} values for ${heads} heads × ${n}`,
      );
    }
    for (const layer of operands) {
      if (layer.query.length !== first.query.length || layer.keyTransposed.length !== first.keyTransposed.length) {
        throw new RangeError('OnDemandMaps: layers of different shapes');
      }
    }
  }

  get layerCount(): number {
    return this.operands.length;
  }

  get heldBytes(): number {
    return this.operands.reduce((sum, layer) => sum + layer.query.byteLength + layer.keyTransposed.byteLength, 0);
  }

  /** `[heads, d, n]` keys, one per query head (key heads shared by groups of query heads are repeated). */
  private keysFor(layer: number, first: number, count: number): Float32Array {
    const { keyTransposed } = this.operands[layer]!;
    const block = this.d * this.keys;
    if (this.keyHeads === this.heads) return keyTransposed.subarray(first * block, (first + count) * block);
    const group = this.heads / this.keyHeads;
    const keys = new Float32Array(count * block);
    for (let head = 0; head < count; head += 1) {
      const source = Math.floor((first + head) / group);
      keys.set(keyTransposed.subarray(source * block, (source + 1) * block), head * block);
    }
    return keys;
  }

  private async run(
    layer: number,
    first: number,
    count: number,
    reduce: ScoresGraphOptions['reduce'],
    extra: Record<string, ort.Tensor> = {},
  ): Promise<Float32Array> {
    const { n, d } = this;
    const { query } = this.operands[layer]!;
    return this.runOn(query.subarray(first * n * d, (first + count) * n * d), this.keysFor(layer, first, count), count, reduce, extra);
  }

  /** Runs the small graph on `[count, n, d]` queries and `[count, d, keys]` keys. */
  private async runOn(
    query: Float32Array,
    keyTransposed: Float32Array,
    count: number,
    reduce: ScoresGraphOptions['reduce'],
    extra: Record<string, ort.Tensor> = {},
  ): Promise<Float32Array> {
    const { n, d, keys } = this;
    const session = await scoresSession({ steps: this.steps, causal: this.causal, reduce });
    const feeds: Record<string, ort.Tensor> = {
      ...extra,
      query: new ort.Tensor('float32', query, [count, n, d]),
      key_t: new ort.Tensor('float32', keyTransposed, [count, d, keys]),
    };
    if (this.causal) {
      this.bias ??= new ort.Tensor('float32', causalBias(n, keys), [n, keys]);
      feeds.bias = this.bias;
    }
    const result = await session.run(feeds);
    return result.probabilities!.data as Float32Array;
  }

  layer(layer: number): Promise<Float32Array> {
    checkLayer(this, layer);
    return this.run(layer, 0, this.heads, 'none');
  }

  /**
   * Layer `layer`'s maps max-pooled to `[heads, size, size]` over the `keep` rows and columns (what a grid draws),
   * without the `[heads, n, n]` maps leaving onnxruntime.
   */
  async pooledLayer(layer: number, keep: Int32Array, size: number): Promise<Float32Array> {
    checkLayer(this, layer);
    if (this.keys !== this.n) throw new RangeError('pooled maps are for an analysis, not a generation step');
    if (keep.some((index) => index < 0 || index >= this.n)) throw new RangeError(`pooling rows outside 0…${this.n - 1}`);
    const { indices, width } = poolingIndices(keep, size);
    const blocks = new ort.Tensor('int64', indices, [indices.length]);
    const shape = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [4]);
    // A few heads per run: onnxruntime's arena keeps the largest run's intermediates (several n² maps per head).
    const perRun = Math.max(1, Math.min(this.heads, Math.floor(POOLED_MAP_BYTES_PER_RUN / (this.n * this.n * 4))));
    const pooled = new Float32Array(this.heads * size * size);
    for (let first = 0; first < this.heads; first += perRun) {
      const count = Math.min(perRun, this.heads - first);
      const part = await this.run(layer, first, count, 'pool', {
        pool_rows: blocks,
        pool_columns: blocks,
        row_shape: shape([0, size, width, -1]),
        column_shape: shape([0, 0, size, width]),
      });
      pooled.set(part, first * size * size);
    }
    return pooled;
  }

  /**
   * Every layer's maps from one run of the small graph, the layers stacked as heads: for a generation step's rows
   * (one query each), where one run per layer would cost more in calls than in arithmetic.
   */
  async everyLayer(): Promise<Float32Array[]> {
    const { heads, n, d, keys } = this;
    const layers = this.operands.length;
    const query = new Float32Array(layers * heads * n * d);
    const keyTransposed = new Float32Array(layers * heads * d * keys);
    this.operands.forEach((operands, layer) => {
      query.set(operands.query, layer * heads * n * d);
      keyTransposed.set(this.keysFor(layer, 0, heads), layer * heads * d * keys);
    });
    const all = await this.runOn(query, keyTransposed, layers * heads, 'none');
    const size = heads * n * keys;
    return Array.from({ length: layers }, (_, layer) => all.subarray(layer * size, (layer + 1) * size));
  }

  head(layer: number, head: number): Promise<Float32Array> {
    checkLayer(this, layer, head);
    return this.run(layer, head, 1, 'none');
  }

  headMean(layer: number): Promise<Float32Array> {
    checkLayer(this, layer);
    return this.run(layer, 0, this.heads, 'headMean');
  }
}
