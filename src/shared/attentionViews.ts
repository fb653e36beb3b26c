/**
 * What the panel's views ask of an analysis, computed where its full attention tensor lives (the worker): single
 * heads, a layer's heads, downsampled grids, aggregates (mean and max over heads, rollout, flow), entropies and
 * per-head statistics, with the display options applied by the engine's own functions.
 */
import {
  attentionFlow,
  attentionTensor,
  groupWordPieces,
  headStatistics,
  isPunctuationToken,
  mergeToWords,
  Rollout,
  wordTexts,
  type AttentionTensor,
  type HeadStatistics,
  type TokenRoles,
} from '../engine';
import type { DisplayOptions, TokenRow } from './analysis';
import type { AggregateKind, Grid, LabelledMap } from './analysisViews';

/** The attention of one analysis, as the worker holds it. */
export interface HeldAttention {
  tokens: TokenRow[];
  /** Per layer `[heads, n, n]`. */
  layers: Float32Array[];
  heads: number;
  n: number;
  /** The model that produced it (a re-run for the neuron view must use the same one). */
  modelKey: string;
  /** A language model's logits after the last token (the next token's), `[vocab]`. */
  nextLogits?: Float32Array;
}

/** The rows/columns a view shows: groups of token indices, and their labels. */
export interface DisplayAxis {
  groups: number[][];
  labels: string[];
}

/** Full attention flow is n² max-flows: offered up to this many tokens (about a second on the bench machine). */
export const FLOW_TOKEN_LIMIT = 40;

export function displayAxis(tokens: readonly TokenRow[], options: DisplayOptions): DisplayAxis {
  const groups = options.mergeWords ? groupWordPieces(tokens) : tokens.map((_, index) => [index]);
  const kept = options.hideSpecial ? groups.filter((group) => !group.every((index) => tokens[index]?.special)) : groups;
  const labels = options.mergeWords ? wordTexts(tokens, kept) : kept.map((group) => tokens[group[0]!]?.text ?? '');
  return { groups: kept, labels };
}

/** One `[n, n]` map as the view shows it (`[m, m]`, m = the axis's length). */
export function displayMap(map: Float32Array, n: number, axis: DisplayAxis, options: DisplayOptions): Float32Array {
  if (!options.mergeWords && !options.hideSpecial) return map;
  if (options.mergeWords) {
    return Float32Array.from(mergeToWords({ rows: n, cols: n, data: map }, axis.groups).data);
  }
  const keep = axis.groups.map((group) => group[0]!);
  const m = keep.length;
  const out = new Float32Array(m * m);
  for (let i = 0; i < m; i += 1) {
    const source = keep[i]! * n;
    for (let j = 0; j < m; j += 1) out[i * m + j] = map[source + keep[j]!]!;
  }
  return out;
}

/** Downsamples an `[m, m]` map to at most `[size, size]` by the maximum of each block, so thin lines survive. */
export function maxPool(map: Float32Array, m: number, size: number): { data: Float32Array; size: number } {
  if (m <= size) return { data: map, size: m };
  return { data: poolRows(map, m, identity(m), size), size };
}

/**
 * Max-pools the `[m, m]` sub-map of an `[n, n]` map whose rows and columns are `keep`, without copying it first:
 * at 512 tokens the grid pools 72 maps, and the copies cost more than the pooling.
 */
function poolRows(map: Float32Array, n: number, keep: Int32Array, size: number): Float32Array {
  const m = keep.length;
  // Column blocks as [start, end) of displayed columns; rows map to blocks the same way.
  const starts = new Int32Array(size + 1);
  for (let block = 0; block <= size; block += 1) starts[block] = Math.ceil((block * m) / size);
  const contiguous = keep[m - 1]! - keep[0]! === m - 1;
  const first = keep[0]!;
  const out = new Float32Array(size * size);
  for (let rowBlock = 0; rowBlock < size; rowBlock += 1) {
    const target = rowBlock * size;
    for (let row = starts[rowBlock]!; row < starts[rowBlock + 1]!; row += 1) {
      const source = keep[row]! * n;
      for (let block = 0; block < size; block += 1) {
        let best = out[target + block]!;
        const end = starts[block + 1]!;
        if (contiguous) {
          for (let col = starts[block]!; col < end; col += 1) {
            const value = map[source + first + col]!;
            best = value > best ? value : best;
          }
        } else {
          for (let col = starts[block]!; col < end; col += 1) {
            const value = map[source + keep[col]!]!;
            best = value > best ? value : best;
          }
        }
        out[target + block] = best;
      }
    }
  }
  return out;
}

function identity(m: number): Int32Array {
  const indices = new Int32Array(m);
  for (let index = 0; index < m; index += 1) indices[index] = index;
  return indices;
}

function headOf(analysis: HeldAttention, layer: number, head: number): Float32Array {
  const data = analysis.layers[layer];
  if (!data || head < 0 || head >= analysis.heads) {
    throw new RangeError(`no head ${layer}.${head}`);
  }
  const size = analysis.n * analysis.n;
  return data.subarray(head * size, (head + 1) * size);
}

export function headMapOf(analysis: HeldAttention, layer: number, head: number, options: DisplayOptions): LabelledMap {
  return labelledMap(analysis.tokens, analysis.n, headOf(analysis, layer, head), options);
}

/**
 * One `[n, n]` map (a head's, or an aggregate's) as the view shows it, with its labels. The result's map is its own
 * (results are transferred away): `owned` says that `map` is already the caller's to give (a map computed for this
 * request), which spares copying it when the display options leave it unchanged (16 MB at 2048 tokens).
 */
export function labelledMap(
  tokens: readonly TokenRow[],
  n: number,
  map: Float32Array,
  options: DisplayOptions,
  owned = false,
): LabelledMap {
  const axis = displayAxis(tokens, options);
  const shown = displayMap(map, n, axis, options);
  return { labels: axis.labels, groups: axis.groups, map: shown === map && !owned ? map.slice() : shown };
}

/** Every head of one layer, `[heads, m, m]`. */
export function layerMapsOf(analysis: HeldAttention, layer: number, options: DisplayOptions): { labels: string[]; maps: Float32Array } {
  headOf(analysis, layer, 0);
  return layerMapsFrom(analysis.tokens, analysis.heads, analysis.n, analysis.layers[layer]!, options);
}

/** Every head of one layer's `[heads, n, n]` maps as the view shows them, `[heads, m, m]`. */
export function layerMapsFrom(
  tokens: readonly TokenRow[],
  heads: number,
  n: number,
  layer: Float32Array,
  options: DisplayOptions,
): { labels: string[]; maps: Float32Array } {
  const axis = displayAxis(tokens, options);
  const m = axis.labels.length;
  const size = n * n;
  const maps = new Float32Array(heads * m * m);
  for (let head = 0; head < heads; head += 1) {
    maps.set(displayMap(layer.subarray(head * size, (head + 1) * size), n, axis, options), head * m * m);
  }
  return { labels: axis.labels, maps };
}

/**
 * The grid of every head's thumbnail, filled one layer at a time ({@link GridBuilder.addLayer}), so that a caller
 * computing maps on demand never holds more than one layer's.
 */
export class GridBuilder {
  readonly labels: string[];
  readonly size: number;
  readonly thumbnails: Float32Array;
  private readonly axis: DisplayAxis;
  private readonly keep: Int32Array | undefined;

  constructor(
    tokens: readonly TokenRow[],
    private readonly layers: number,
    private readonly heads: number,
    private readonly n: number,
    size: number,
    private readonly options: DisplayOptions,
  ) {
    this.axis = displayAxis(tokens, options);
    this.labels = this.axis.labels;
    this.size = Math.min(this.labels.length, size);
    this.thumbnails = new Float32Array(layers * heads * this.size * this.size);
    // Without merged words every displayed row is one token row: pool straight from the model's maps.
    this.keep = options.mergeWords ? undefined : Int32Array.from(this.axis.groups, (group) => group[0]!);
  }

  /** Pools layer `layer`'s `[heads, n, n]` maps into the grid. */
  addLayer(layer: number, data: Float32Array): void {
    const { n, heads, size: s } = this;
    if (layer < 0 || layer >= this.layers) throw new RangeError(`no layer ${layer}`);
    const m = this.labels.length;
    for (let head = 0; head < heads; head += 1) {
      const map = data.subarray(head * n * n, (head + 1) * n * n);
      const pooled = this.keep && s < m ? poolRows(map, n, this.keep, s) : maxPool(displayMap(map, n, this.axis, this.options), m, s).data;
      this.thumbnails.set(pooled, (layer * heads + head) * s * s);
    }
  }

  /**
   * When the thumbnails are the model's maps max-pooled over some of its rows and columns (no merged words, more
   * rows than cells): those rows and the cells per side, for a caller that pools elsewhere ({@link addPooled}).
   */
  get pooling(): { keep: Int32Array; size: number } | undefined {
    return this.keep && this.size < this.labels.length ? { keep: this.keep, size: this.size } : undefined;
  }

  /** Puts layer `layer`'s thumbnails, pooled as {@link pooling} says, `[heads, s, s]`, into the grid. */
  addPooled(layer: number, pooled: Float32Array): void {
    const cells = this.heads * this.size * this.size;
    if (layer < 0 || layer >= this.layers || pooled.length !== cells) throw new RangeError(`no layer ${layer} of ${cells} cells`);
    this.thumbnails.set(pooled, layer * cells);
  }

  result(): Grid {
    return { labels: this.labels, size: this.size, thumbnails: this.thumbnails };
  }
}

/** Every head of every layer, each downsampled to at most `size`², `[layers, heads, s, s]`. */
export function gridOf(analysis: HeldAttention, size: number, options: DisplayOptions): Grid {
  const grid = new GridBuilder(analysis.tokens, analysis.layers.length, analysis.heads, analysis.n, size, options);
  analysis.layers.forEach((layer, index) => grid.addLayer(index, layer));
  return grid.result();
}

/** The mean over layers of `[layers, n, n]` head means, `[n, n]` (the editor's "every layer" mean lens). */
export function meanOverLayers(headMeans: Float32Array, layers: number, n: number): Float32Array {
  const size = n * n;
  const sum = new Float64Array(size);
  for (let layer = 0; layer < layers; layer += 1) {
    const mean = headMeans.subarray(layer * size, (layer + 1) * size);
    for (let index = 0; index < size; index += 1) sum[index] = sum[index]! + mean[index]!;
  }
  return Float32Array.from(sum, (value) => value / layers);
}

/** The mean or the maximum over a layer's heads, `[n, n]`. */
export function overHeads(kind: 'mean' | 'max', layer: Float32Array, heads: number, n: number): Float32Array {
  const size = n * n;
  const map = new Float32Array(size);
  if (kind === 'max') map.fill(-Infinity);
  for (let head = 0; head < heads; head += 1) {
    const source = layer.subarray(head * size, (head + 1) * size);
    for (let index = 0; index < size; index += 1) {
      map[index] = kind === 'mean' ? map[index]! + source[index]! / heads : Math.max(map[index]!, source[index]!);
    }
  }
  return map;
}

/** The roles head statistics look for: [CLS], [SEP], punctuation and ids. */
export function tokenRoles(tokens: readonly TokenRow[]): TokenRoles {
  return {
    cls: tokens.flatMap((token, index) => (token.text === '[CLS]' ? [index] : [])),
    sep: tokens.flatMap((token, index) => (token.text === '[SEP]' ? [index] : [])),
    punctuation: tokens.map((token) => !token.special && isPunctuationToken(token.text)),
    ids: tokens.map((token) => token.id),
  };
}

/** The statistics of one layer's heads, from its `[heads, n, n]` maps. */
export function layerHeadStatistics(layer: number, data: Float32Array, heads: number, n: number, roles: TokenRoles): HeadStatistics[] {
  return headStatistics(attentionTensor(1, heads, n, data), roles).map((statistics) => ({ ...statistics, layer }));
}

const contiguous = new WeakMap<HeldAttention, AttentionTensor<Float32Array>>();

/** The analysis as one `[layers, heads, n, n]` tensor for the engine (built once per analysis). */
export function tensorOf(analysis: HeldAttention): AttentionTensor<Float32Array> {
  let tensor = contiguous.get(analysis);
  if (!tensor) {
    const size = analysis.heads * analysis.n * analysis.n;
    const data = new Float32Array(analysis.layers.length * size);
    analysis.layers.forEach((layer, index) => data.set(layer, index * size));
    tensor = attentionTensor(analysis.layers.length, analysis.heads, analysis.n, data);
    contiguous.set(analysis, tensor);
  }
  return tensor;
}

const rollouts = new WeakMap<HeldAttention, Rollout>();

/** The analysis's rollout (prepared once per analysis). */
export function rolloutOfAttention(analysis: HeldAttention): Rollout {
  let rollout = rollouts.get(analysis);
  if (!rollout) {
    rollout = Rollout.of(tensorOf(analysis));
    rollouts.set(analysis, rollout);
  }
  return rollout;
}

/** An aggregate map of one layer: mean or max over its heads, rollout up to it, or flow (through all layers). */
export function aggregateOf(analysis: HeldAttention, kind: AggregateKind, layer: number, options: DisplayOptions): LabelledMap {
  const { n, heads } = analysis;
  let map: Float32Array;
  if (kind === 'mean' || kind === 'max') {
    headOf(analysis, layer, 0);
    map = overHeads(kind, analysis.layers[layer]!, heads, n);
  } else {
    map = throughLayers(kind, rolloutOfAttention(analysis), layer);
  }
  const axis = displayAxis(analysis.tokens, options);
  return { labels: axis.labels, groups: axis.groups, map: Float32Array.from(displayMap(map, n, axis, options)) };
}

/** Rollout up to `layer`, or flow through every layer, `[n, n]`, from an analysis's prepared rollout. */
export function throughLayers(kind: 'rollout' | 'flow', rollout: Rollout, layer: number): Float32Array {
  const { n } = rollout;
  if (kind === 'rollout') {
    const map = new Float32Array(n * n);
    for (let row = 0; row < n; row += 1) map.set(rollout.row(row, layer + 1), row * n);
    return map;
  }
  if (n > FLOW_TOKEN_LIMIT) {
    throw new RangeError(
      `Attention flow is offered up to ${FLOW_TOKEN_LIMIT} tokens (it takes n² maximum flows); this analysis has ${n}. Rollout is the fast alternative.`,
    );
  }
  return Float32Array.from(attentionFlow(rollout).data);
}

const summaries = new WeakMap<HeldAttention, HeadStatistics[]>();

/** Per-head statistics (Clark et al.), with each head's mean row entropy in nats; computed once per analysis. */
export function headSummaries(analysis: HeldAttention): HeadStatistics[] {
  let known = summaries.get(analysis);
  if (!known) {
    known = computeHeadSummaries(analysis);
    summaries.set(analysis, known);
  }
  return known;
}

function computeHeadSummaries(analysis: HeldAttention): HeadStatistics[] {
  return headStatistics(tensorOf(analysis), tokenRoles(analysis.tokens));
}

/** `[layers, n, n]`: each layer's mean over its heads (what the host keeps for hovers and the first view). */
export function headMeansOf(analysis: HeldAttention): Float32Array {
  const { n, heads } = analysis;
  const size = n * n;
  const means = new Float32Array(analysis.layers.length * size);
  analysis.layers.forEach((layer, index) => {
    const out = means.subarray(index * size, (index + 1) * size);
    for (let head = 0; head < heads; head += 1) {
      const map = layer.subarray(head * size, (head + 1) * size);
      for (let cell = 0; cell < size; cell += 1) out[cell]! += map[cell]!;
    }
    for (let cell = 0; cell < size; cell += 1) out[cell]! /= heads;
  });
  return means;
}
