/**
 * Attention lenses for the editor's views. The mean over heads and rollout come from the head means the host keeps
 * (a hover never waits for the worker, even while it analyses); one head's map, and the last token attribution, are
 * asked of the worker, which holds the full tensors. An input so long that its head means stay in the worker asks it
 * for the mean map the lens reads (one layer's, or over every layer); rollout is not offered for it in the editor.
 * Nothing here runs the model.
 */
import type { AttentionSource } from '../config';
import type { Rollout } from '../engine';
import type { AnalysisViewName, AnalysisViewRequests } from '../shared/analysisViews';
import type { ParamsOf, ResultOf } from '../shared/rpc';
import type { AnalysisRecord, AnalysisStore } from './analysisStore';
import { mapLens, meanLens, rolloutLens, rolloutOfHeadMeans, type AttentionLens } from './insights';

export type LensResult =
  { ok: true; lens: AttentionLens; source: AttentionSource } | { ok: false; reason: 'no-attention' | 'worker-dropped' | 'long-input' };

/** What the insights need from the worker. */
export interface InsightBackend {
  view<K extends AnalysisViewName>(method: K, params: ParamsOf<AnalysisViewRequests[K]>): Promise<ResultOf<AnalysisViewRequests[K]>>;
  lastAttribution(analysisId: string): Promise<Float32Array | undefined>;
}

export class InsightService {
  /** Rollout's per-layer matrices, formed once per analysis (about 5 ms at 512 tokens). */
  private readonly rollouts = new WeakMap<Float32Array, Rollout>();
  /** The last mean map asked of the worker (a long input's; hovering word after word reads the same one). */
  private workerMean: { analysisId: string; layer: number; map: Promise<Float32Array> } | undefined;

  constructor(
    private readonly store: AnalysisStore,
    private readonly backend: InsightBackend,
  ) {}

  /** The source with its layer and head resolved against the analysis's model (0 = every/last layer). */
  resolve(record: AnalysisRecord, source: AttentionSource): AttentionSource {
    const { layers, heads } = record.model;
    const layer = Math.min(source.layer, layers);
    if (source.kind === 'head') {
      return { kind: 'head', layer: layer >= 1 ? layer : layers, head: Math.min(Math.max(1, source.head), heads) };
    }
    return { ...source, layer };
  }

  async lens(record: AnalysisRecord, requested: AttentionSource): Promise<LensResult> {
    const source = this.resolve(record, requested);
    const { layers } = record.model;
    const n = record.tokens.length;
    if (source.kind === 'head') {
      try {
        const { map } = await this.backend.view('headMap', {
          analysisId: record.id,
          layer: source.layer - 1,
          head: source.head - 1,
          options: { hideSpecial: false, mergeWords: false },
        });
        return { ok: true, lens: mapLens(map, n), source };
      } catch {
        return { ok: false, reason: 'worker-dropped' };
      }
    }
    const headMeans = this.store.headMeansOf(record.id);
    if (!headMeans) {
      if (!this.store.holdsAttention(record.id)) return { ok: false, reason: 'no-attention' };
      if (source.kind !== 'mean') return { ok: false, reason: 'long-input' };
      try {
        return { ok: true, lens: mapLens(await this.meanFromWorker(record.id, source.layer), n), source };
      } catch {
        if (this.workerMean?.analysisId === record.id) this.workerMean = undefined;
        return { ok: false, reason: 'worker-dropped' };
      }
    }
    if (source.kind === 'mean') return { ok: true, lens: meanLens(headMeans, layers, n, source.layer), source };
    const rollout = this.rolloutOf(record);
    return rollout ? { ok: true, lens: rolloutLens(rollout, source.layer), source } : { ok: false, reason: 'no-attention' };
  }

  /** A long input's mean map from the worker: layer `layer` (1-based), or over every layer (0). */
  private meanFromWorker(analysisId: string, layer: number): Promise<Float32Array> {
    const known = this.workerMean;
    if (known?.analysisId === analysisId && known.layer === layer) return known.map;
    const map =
      layer >= 1
        ? this.backend
            .view('aggregate', { analysisId, aggregate: 'mean', layer: layer - 1, options: { hideSpecial: false, mergeWords: false } })
            .then((result) => result.map)
        : this.backend.view('meanOverLayers', { analysisId }).then((result) => result.map);
    this.workerMean = { analysisId, layer, map };
    return map;
  }

  /** The analysis's rollout from its head means (shared by rollout hovers and [CLS] importance), if they are kept. */
  rolloutOf(record: AnalysisRecord): Rollout | undefined {
    const headMeans = this.store.headMeansOf(record.id);
    if (!headMeans) return undefined;
    let rollout = this.rollouts.get(headMeans);
    if (!rollout) {
      rollout = rolloutOfHeadMeans(headMeans, record.model.layers, record.tokens.length);
      this.rollouts.set(headMeans, rollout);
    }
    return rollout;
  }

  /** Per token, the drop in the predicted label's probability when it is occluded (as last computed), if known. */
  attribution(record: AnalysisRecord): Promise<Float32Array | undefined> {
    return this.backend.lastAttribution(record.id);
  }
}
