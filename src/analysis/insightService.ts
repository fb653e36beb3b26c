/**
 * Attention lenses for the editor's views. The mean over heads and rollout come from the head means the host keeps
 * (a hover never waits for the worker, even while it analyses); one head's map is asked of the worker, which holds
 * the full tensors. Nothing here runs the model.
 */
import type { Rollout } from '../engine';
import type { ViewJob, WorkerJobResults } from '../model/worker/protocol';
import type { AnalysisRecord } from './analysisStore';
import { mapLens, meanLens, rolloutLens, rolloutOf, type AttentionLens, type AttentionSource } from './insights';

export type LensResult =
  | { ok: true; lens: AttentionLens; source: AttentionSource }
  | { ok: false; reason: 'no-attention' | 'worker-dropped' };

type ViewRunner = <TJob extends ViewJob>(job: TJob) => Promise<WorkerJobResults[TJob['kind']]>;

export class InsightService {
  /** Rollout's per-layer matrices, formed once per analysis (about 5 ms at 512 tokens). */
  private readonly rollouts = new WeakMap<AnalysisRecord, Rollout>();

  constructor(private readonly view: ViewRunner) {}

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
        const { map } = await this.view({ kind: 'headMap', analysisId: record.id, layer: source.layer - 1, head: source.head - 1, options: { hideSpecial: false, mergeWords: false } });
        return { ok: true, lens: mapLens(map, n), source };
      } catch {
        return { ok: false, reason: 'worker-dropped' };
      }
    }
    const headMeans = record.headMeans;
    if (!headMeans) return { ok: false, reason: 'no-attention' };
    if (source.kind === 'mean') return { ok: true, lens: meanLens(headMeans, layers, n, source.layer), source };
    return { ok: true, lens: rolloutLens(this.rolloutFor(record, headMeans), source.layer), source };
  }

  /** [CLS]'s rollout needs the same matrices as rollout hovers: shared here. */
  rolloutFor(record: AnalysisRecord, headMeans: Float32Array): Rollout {
    let rollout = this.rollouts.get(record);
    if (!rollout) {
      rollout = rolloutOf(headMeans, record.model.layers, record.tokens.length);
      this.rollouts.set(record, rollout);
    }
    return rollout;
  }
}
