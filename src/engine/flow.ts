/**
 * Attention flow (Abnar & Zuidema, 2020): the layers form a graph with a node per (layer, token); an edge runs from
 * token f at layer l to token t at layer l−1 with capacity `Â_l[f][t]` (the rollout's residual attention). The flow
 * from output token f to input token t is the maximum flow between those nodes; each row is then divided by its sum.
 *
 * Maximum flow by Dinic's algorithm on the dense layered graph: breadth-first levels, then blocking flows found
 * depth-first with a current-arc pointer per node. Capacities are real numbers; residuals under 1e-13 count as 0.
 */
import { Rollout } from './rollout';
import type { AttentionTensor, Matrix } from './tensor';

const EPSILON = 1e-13;

class LayeredFlowNetwork {
  /** capacity[l][f·n + t]: from token f at layer l+1 to token t at layer l (l = 0 … L−1). */
  private readonly capacity: Float64Array[];
  private readonly flow: Float64Array[];
  private readonly level: Int32Array;
  private readonly arc: Int32Array;

  constructor(
    private readonly n: number,
    private readonly layers: number,
    capacity: Float64Array[],
  ) {
    this.capacity = capacity;
    this.flow = capacity.map((layer) => new Float64Array(layer.length));
    this.level = new Int32Array((layers + 1) * n);
    this.arc = new Int32Array((layers + 1) * n);
  }

  /** Max flow from token `source` at the top layer to token `sink` at layer 0. */
  maxFlow(source: number, sink: number): number {
    for (const layer of this.flow) layer.fill(0);
    const s = this.node(this.layers, source);
    const t = this.node(0, sink);
    let total = 0;
    while (this.buildLevels(s, t)) {
      this.arc.fill(0);
      for (;;) {
        const pushed = this.push(s, t, Infinity);
        if (pushed <= EPSILON) break;
        total += pushed;
      }
    }
    return total;
  }

  private node(layer: number, token: number): number {
    return layer * this.n + token;
  }

  /** Residual capacity of arc `a` out of `node`: arcs 0…n−1 go down a layer, n…2n−1 go back up. */
  private residual(layer: number, token: number, a: number): number {
    const n = this.n;
    if (a < n) {
      if (layer === 0) return 0;
      const index = token * n + a;
      return this.capacity[layer - 1]![index]! - this.flow[layer - 1]![index]!;
    }
    if (layer === this.layers) return 0;
    return this.flow[layer]![(a - n) * n + token]!;
  }

  private buildLevels(s: number, t: number): boolean {
    const n = this.n;
    this.level.fill(-1);
    this.level[s] = 0;
    const queue = [s];
    for (let head = 0; head < queue.length; head += 1) {
      const current = queue[head]!;
      const layer = Math.floor(current / n);
      const token = current % n;
      for (let a = 0; a < 2 * n; a += 1) {
        if (this.residual(layer, token, a) <= EPSILON) continue;
        const next = a < n ? this.node(layer - 1, a) : this.node(layer + 1, a - n);
        if (this.level[next] === -1) {
          this.level[next] = this.level[current]! + 1;
          queue.push(next);
        }
      }
    }
    return this.level[t] !== -1;
  }

  private push(current: number, t: number, limit: number): number {
    if (current === t) return limit;
    const n = this.n;
    const layer = Math.floor(current / n);
    const token = current % n;
    for (; this.arc[current]! < 2 * n; this.arc[current]! += 1) {
      const a = this.arc[current]!;
      const residual = this.residual(layer, token, a);
      if (residual <= EPSILON) continue;
      const next = a < n ? this.node(layer - 1, a) : this.node(layer + 1, a - n);
      if (this.level[next] !== this.level[current]! + 1) continue;
      const pushed = this.push(next, t, Math.min(limit, residual));
      if (pushed > EPSILON) {
        if (a < n) {
          this.flow[layer - 1]![token * n + a]! += pushed;
        } else {
          this.flow[layer]![(a - n) * n + token]! -= pushed;
        }
        return pushed;
      }
    }
    return 0;
  }
}

function networkFor(source: AttentionTensor | Rollout): LayeredFlowNetwork {
  const rollout = source instanceof Rollout ? source : Rollout.of(source);
  const capacity = rollout.residual.map((matrix) => Float64Array.from(matrix.data));
  return new LayeredFlowNetwork(rollout.n, rollout.layers, capacity);
}

function normalise(row: Float64Array): Float64Array {
  const sum = row.reduce((total, value) => total + value, 0);
  return sum > 0 ? row.map((value) => value / sum) : row;
}

/**
 * The flow from one output token to every input token, normalised to sum to 1: n max-flows. Pass a prepared
 * {@link Rollout} to reuse its residual matrices.
 */
export function attentionFlowRow(attention: AttentionTensor | Rollout, source: number): Float64Array {
  const network = networkFor(attention);
  const row = new Float64Array(attention.n);
  for (let sink = 0; sink < attention.n; sink += 1) {
    row[sink] = network.maxFlow(source, sink);
  }
  return normalise(row);
}

/** The full flow matrix `[n, n]`: n² max-flows, for short inputs. */
export function attentionFlow(attention: AttentionTensor | Rollout): Matrix<Float64Array> {
  const { n } = attention;
  const network = networkFor(attention);
  const data = new Float64Array(n * n);
  for (let source = 0; source < n; source += 1) {
    const row = new Float64Array(n);
    for (let sink = 0; sink < n; sink += 1) {
      row[sink] = network.maxFlow(source, sink);
    }
    data.set(normalise(row), source * n);
  }
  return { rows: n, cols: n, data };
}
