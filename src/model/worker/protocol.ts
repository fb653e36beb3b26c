/**
 * Messages between the extension host (or the CLI) and the analysis worker. Both ends are our own code in one
 * process, so these are plain types, not validated schemas.
 */
import type { AnalysisResult, ModelInfo } from '../analyzer';
import type { AnalysisErrorData } from '../errors';
import type { ModelRequest } from '../modelSource';
import type { DownloadProgress } from '../modelStore';

/** An analysis as the host receives it: the full attention tensor stays in the worker, under the analysis id. */
export type AnalysisSummary = Omit<AnalysisResult, 'attentions'>;

export type WorkerJob =
  | { kind: 'analyze'; analysisId: string; request: ModelRequest; text: string }
  | { kind: 'headMap'; analysisId: string; layer: number; head: number }
  | { kind: 'prepare'; request: ModelRequest }
  | { kind: 'release' };

export interface WorkerJobResults {
  analyze: AnalysisSummary;
  /** `[n, n]` attention probabilities of one head. */
  headMap: { map: Float32Array };
  prepare: ModelInfo;
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
