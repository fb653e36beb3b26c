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
  /** Return the mean over heads `[n, n]` instead of every head's map. */
  meanOverHeads: boolean;
}

const OPSET = 13;

function checkSteps(steps: readonly ScoreStep[]): void {
  for (const step of steps) {
    if ((step.op !== 'Div' && step.op !== 'Mul') || !Number.isFinite(step.value)) {
      throw new RangeError(`cannot replay the score step ${JSON.stringify(step)}`);
    }
  }
}

/** The small graph's bytes: `query [h, n, d]`, `key_t [h, d, m]` (and `bias [n, m]` when causal) → `probabilities`. */
export function scoresGraphBytes({ steps, causal, meanOverHeads }: ScoresGraphOptions): Uint8Array {
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
  nodes.push(node('Softmax', [scores], [meanOverHeads ? 'maps' : 'probabilities'], 'Softmax', { axis: -1 }));
  if (meanOverHeads) nodes.push(node('ReduceMean', ['maps'], ['probabilities'], 'HeadMean', { axes: [0], keepdims: 0 }));
  const graph: onnx.IGraphProto = {
    name: 'attention-explorer-scores',
    node: nodes,
    initializer: initializers,
    input: [
      valueInfo('query', DataType.FLOAT, ['heads', 'n', 'd']),
      valueInfo('key_t', DataType.FLOAT, ['heads', 'd', 'm']),
      ...(causal ? [valueInfo('bias', DataType.FLOAT, ['n', 'm'])] : []),
    ],
    output: [valueInfo('probabilities', DataType.FLOAT, meanOverHeads ? ['n', 'm'] : ['heads', 'n', 'm'])],
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

  private async run(layer: number, first: number, count: number, meanOverHeads: boolean): Promise<Float32Array> {
    const { n, d } = this;
    const { query } = this.operands[layer]!;
    return this.runOn(query.subarray(first * n * d, (first + count) * n * d), this.keysFor(layer, first, count), count, meanOverHeads);
  }

  /** Runs the small graph on `[count, n, d]` queries and `[count, d, keys]` keys. */
  private async runOn(query: Float32Array, keyTransposed: Float32Array, count: number, meanOverHeads: boolean): Promise<Float32Array> {
    const { n, d, keys } = this;
    const session = await scoresSession({ steps: this.steps, causal: this.causal, meanOverHeads });
    const feeds: Record<string, ort.Tensor> = {
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
    return this.run(layer, 0, this.heads, false);
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
    const all = await this.runOn(query, keyTransposed, layers * heads, false);
    const size = heads * n * keys;
    return Array.from({ length: layers }, (_, layer) => all.subarray(layer * size, (layer + 1) * size));
  }

  head(layer: number, head: number): Promise<Float32Array> {
    checkLayer(this, layer, head);
    return this.run(layer, head, 1, false);
  }

  headMean(layer: number): Promise<Float32Array> {
    checkLayer(this, layer);
    return this.run(layer, 0, this.heads, true);
  }
}
