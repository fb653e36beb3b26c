/**
 * An analysis as the worker holds it (its tokens, its attention as {@link LayerMaps}, each layer's head means), and the
 * views that read every layer: the grid of thumbnails, aggregates, head statistics and rollout. Each reads one layer's
 * maps at a time, so that maps computed on demand are never all held at once.
 */
import { attentionTensor, Rollout, type HeadStatistics } from '../engine';
import type { DisplayOptions } from '../shared/analysis';
import type { AggregateKind, Grid, LabelledMap } from '../shared/analysisViews';
import {
  GridBuilder,
  headMeansOf,
  labelledMap,
  layerHeadStatistics,
  overHeads,
  throughLayers,
  tokenRoles,
  type HeldAttention,
} from '../shared/attentionViews';
import { StoredMaps, type LayerMaps } from './layerMaps';

export type WorkerAnalysis = Omit<HeldAttention, 'layers'> & {
  maps: LayerMaps;
  /** `[layers, n, n]`: each layer's mean over heads (what rollout and flow read). */
  headMeans: Float32Array;
};

/** An analysis whose maps are held as they are (a file's), as the worker holds it. */
export function storedAnalysis(analysis: HeldAttention): WorkerAnalysis {
  const { layers, ...meta } = analysis;
  return { ...meta, maps: new StoredMaps(layers, analysis.heads, analysis.n), headMeans: headMeansOf(analysis) };
}

/** Every head's thumbnail, `[layers, heads, s, s]`, one layer's maps at a time. */
export async function analysisGrid(
  analysis: WorkerAnalysis,
  size: number,
  options: DisplayOptions,
  layers: { first: number; count: number } = { first: 0, count: analysis.maps.layerCount },
): Promise<Grid> {
  const grid = new GridBuilder(analysis.tokens, layers.count, analysis.heads, analysis.n, size, options);
  const { pooling } = grid;
  for (let index = 0; index < layers.count; index += 1) {
    const layer = layers.first + index;
    // Pooled where the maps are computed, a layer's n² maps never reach JavaScript (2048 tokens: 235 MB a layer).
    if (pooling && analysis.maps.pooledLayer) grid.addPooled(index, await analysis.maps.pooledLayer(layer, pooling.keep, pooling.size));
    else grid.addLayer(index, await analysis.maps.layer(layer));
  }
  return grid.result();
}

const rollouts = new WeakMap<WorkerAnalysis, Rollout>();

/** The analysis's rollout, from its head means (rollout reads only the mean over heads); prepared once. */
export function analysisRollout(analysis: WorkerAnalysis): Rollout {
  let rollout = rollouts.get(analysis);
  if (!rollout) {
    rollout = Rollout.of(attentionTensor(analysis.maps.layerCount, 1, analysis.n, analysis.headMeans));
    rollouts.set(analysis, rollout);
  }
  return rollout;
}

/** An aggregate map of one layer: mean or max over its heads, rollout up to it, or flow (through all layers). */
export async function analysisAggregate(
  analysis: WorkerAnalysis,
  kind: AggregateKind,
  layer: number,
  options: DisplayOptions,
): Promise<LabelledMap> {
  const { n, heads } = analysis;
  let map: Float32Array;
  if (kind === 'mean') {
    map = analysis.headMeans.slice(layer * n * n, (layer + 1) * n * n);
  } else if (kind === 'max') {
    map = overHeads('max', await analysis.maps.layer(layer), heads, n);
  } else {
    map = throughLayers(kind, analysisRollout(analysis), layer);
  }
  // Each branch computed its own array.
  return labelledMap(analysis.tokens, n, map, options, true);
}

const statistics = new WeakMap<WorkerAnalysis, Promise<HeadStatistics[]>>();

/** Per-head statistics (Clark et al.) with each head's mean row entropy, one layer at a time; computed once. */
export function analysisHeadStatistics(analysis: WorkerAnalysis): Promise<HeadStatistics[]> {
  let known = statistics.get(analysis);
  if (!known) {
    known = (async () => {
      const roles = tokenRoles(analysis.tokens);
      const all: HeadStatistics[] = [];
      for (let layer = 0; layer < analysis.maps.layerCount; layer += 1) {
        all.push(...layerHeadStatistics(layer, await analysis.maps.layer(layer), analysis.heads, analysis.n, roles));
      }
      return all;
    })();
    known.catch(() => statistics.delete(analysis));
    statistics.set(analysis, known);
  }
  return known;
}
