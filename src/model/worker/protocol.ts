/**
 * What crosses between the extension host (or the CLI) and the analysis worker: the analysis views, as the panel's
 * protocol declares them (the host forwards those unchanged), and the worker's own requests. Both ends are our own
 * code in one process, so the worker's own params are typed rather than schema-checked.
 */
import * as v from 'valibot';
import type { ModelInfo } from '../../shared/analysis';
import { ANALYSIS_VIEW_REQUESTS } from '../../shared/analysisViews';
import { event, request, trusted, type Peer } from '../../shared/rpc';
import type { AnalysisResult } from '../analyzer';
import type { AttentionSource, ImportedAttention } from '../attentionImport';
import type { ModelRequest } from '../modelSource';
import type { DownloadProgress } from '../modelStore';
import type { HeadMapExport, TensorDocumentInfo } from '../tensorExport';

/** What the worker holds (tests check that nothing leaks after a burst of commands). */
export interface WorkerDiagnostics {
  /** onnxruntime sessions of whole models created so far. */
  sessionsLoaded: number;
  /** Models whose layer chain (for interventions) is built now; an idle one is dropped after a minute. */
  chainsHeld: number;
  /** Analyses whose tensors it keeps. */
  tensorsCached: number;
  /** The bytes those hold (queries and keys, or maps, and head means), within the tensor budget. */
  tensorBytes: number;
  /** Requests it is handling, besides the one asking. */
  jobsRunning: number;
  /** Sweeps, occlusions and ablations: running (at most 1), waiting, and started since the worker began. */
  heavyJobs: { running: number; queued: number; started: number };
  /** The process's resident set (the worker is a thread of the extension host), in bytes. */
  rssBytes: number;
}

export const WORKER = {
  requests: {
    ...ANALYSIS_VIEW_REQUESTS,
    /** Tokenizes and runs one text; the worker keeps its attention tensors under `analysisId`. */
    analyze: request(trusted<{ analysisId: string; request: ModelRequest; text: string }>()).returns<AnalysisResult, DownloadProgress>(),
    /** Sets the bytes of attention the worker may hold (see memoryBudget.ts). */
    configure: request(trusted<{ tensorBudgetBytes: number }>()).returns<null>(),
    /** Downloads (if needed) and loads a model without analysing anything. */
    prepare: request(trusted<{ request: ModelRequest }>()).returns<ModelInfo, DownloadProgress>(),
    /**
     * Stops a model's download and load for every request waiting for it (the user's Cancel); cancelling one request
     * only detaches that request from the load.
     */
    cancelLoad: request(trusted<{ request: ModelRequest }>()).returns<null>(),
    /**
     * Reads an attention document (a notebook output's data, a file the worker reads, or a file's text) and keeps the
     * named self-attention under `analysisId`, as it keeps a model's: the analysis has no model (the `none` task), so
     * the requests that run one refuse it. `documentName` labels where it came from.
     */
    importAttention:
      request(
        trusted<{ analysisId: string; attention: string; source: AttentionSource; documentName: string }>(),
      ).returns<ImportedAttention>(),
    /**
     * Writes an analysis's whole attention tensor to a file, streaming; returns the bytes written. JSON is an
     * attention document, which says what `document` gives besides the tensor.
     */
    writeTensor: request(trusted<{ analysisId: string; format: 'csv' | 'json'; path: string; document?: TensorDocumentInfo }>()).returns<{
      bytes: number;
    }>(),
    /** Writes one head's map (with the view's display options) to a file, streaming; returns the bytes written. */
    writeHeadMap: request(trusted<{ analysisId: string; format: 'csv' | 'json'; path: string; map: HeadMapExport }>()).returns<{
      bytes: number;
    }>(),
    /** The token attribution last computed for an analysis: per token, the drop in the predicted label's probability. */
    lastAttribution: request(trusted<{ analysisId: string }>()).returns<{ drops: Float32Array } | null>(),
    diagnostics: request(v.object({})).returns<WorkerDiagnostics>(),
    /** Drops every tensor and unloads the model. */
    release: request(v.object({})).returns<null>(),
  },
  events: {
    /**
     * The host is done with the worker: it stops listening and the thread ends once its current onnxruntime call has
     * returned. Terminating a thread inside such a call can abort the whole process (a native exception with no
     * JavaScript left to catch it).
     */
    shutdown: event(v.object({})),
  },
} satisfies Peer;
export type WorkerPeer = typeof WORKER;
export type WorkerRequests = WorkerPeer['requests'];

/** What the host accepts from the worker. */
export const WORKER_HOST = {
  requests: {},
  events: {
    log: event(v.object({ level: v.picklist(['info', 'warn', 'error']), message: v.string() })),
  },
} satisfies Peer;
export type WorkerHostPeer = typeof WORKER_HOST;
