/**
 * Messages between the extension host (or the CLI) and the analysis worker. Both ends are our own code in one
 * process, so these are plain types, not validated schemas.
 */
import type { HeadStatistics } from '../../engine';
import type { AnalysisResult, ModelInfo, NeuronData } from '../analyzer';
import type { AggregateKind, DisplayOptions } from '../attentionViews';
import type { AnalysisErrorData } from '../errors';
import type { AblationResult, HeadImportance, OcclusionMode, OcclusionUnit } from '../explanations';
import type { AttributionView, CompareView } from '../explainViews';
import type { ModelRequest } from '../modelSource';
import type { DownloadProgress } from '../modelStore';

/** An analysis as the host receives it: the full attention tensor stays in the worker, under the analysis id. */
export type AnalysisSummary = Omit<AnalysisResult, 'attentions'>;

/** Jobs that read an analysis the worker still holds. */
export type ViewJob =
  | { kind: 'headMap'; analysisId: string; layer: number; head: number; options: DisplayOptions }
  | { kind: 'layerMaps'; analysisId: string; layer: number; options: DisplayOptions }
  | { kind: 'grid'; analysisId: string; size: number; options: DisplayOptions }
  | { kind: 'aggregate'; analysisId: string; aggregate: AggregateKind; layer: number; options: DisplayOptions }
  | { kind: 'headStats'; analysisId: string }
  | { kind: 'neuron'; analysisId: string; layer: number; head: number; query: number }
  | { kind: 'exportTensor'; analysisId: string; format: 'json' | 'csv'; path: string }
  | { kind: 'headImportance'; analysisId: string }
  | { kind: 'attribution'; analysisId: string; mode: OcclusionMode; unit: OcclusionUnit }
  | { kind: 'ablate'; analysisId: string; heads: Array<{ layer: number; head: number }>; keepOnly: boolean }
  | { kind: 'compare'; analysisId: string; otherId: string; layer: number; head: number };

export type WorkerJob =
  | { kind: 'analyze'; analysisId: string; request: ModelRequest; text: string }
  | ViewJob
  | { kind: 'prepare'; request: ModelRequest }
  | { kind: 'diagnostics' }
  | { kind: 'release' };

export interface WorkerJobResults {
  analyze: AnalysisSummary;
  /** One head `[m, m]` (m = the labels' count after the display options). */
  headMap: { labels: string[]; map: Float32Array };
  /** Every head of a layer, `[heads, m, m]`. */
  layerMaps: { labels: string[]; maps: Float32Array };
  /** Every head, downsampled: `[layers, heads, size, size]`. */
  grid: { labels: string[]; size: number; thumbnails: Float32Array };
  aggregate: { labels: string[]; map: Float32Array };
  headStats: { heads: HeadStatistics[] };
  /** The neuron view: `q`, every `k`, and the head's attention row for that query. */
  neuron: NeuronData & { probabilities: Float32Array; labels: string[] };
  exportTensor: { bytes: number };
  headImportance: HeadImportance;
  attribution: AttributionView;
  ablate: AblationResult;
  compare: CompareView;
  prepare: ModelInfo;
  /** What the worker holds: model sessions created so far, analyses whose tensors it keeps, jobs running. */
  diagnostics: { sessionsLoaded: number; tensorsCached: number; jobsRunning: number };
  release: null;
}

export type HostToWorkerMessage =
  | { type: 'run'; requestId: number; job: WorkerJob }
  | { type: 'cancel'; requestId: number };

export type WorkerToHostMessage =
  | { type: 'result'; requestId: number; result: WorkerJobResults[WorkerJob['kind']] }
  | { type: 'error'; requestId: number; error: AnalysisErrorData }
  | { type: 'progress'; requestId: number; progress: DownloadProgress }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
