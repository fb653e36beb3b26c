/**
 * Messages between the extension host (or the CLI) and the analysis worker. Both ends are our own code in one
 * process, so these are plain types, not validated schemas.
 */
import type { AnalysisErrorData } from '../errors';
import type { ModelSource } from '../modelSource';
import type { TokenizedText } from '../tokenizer';

export type WorkerJob = { kind: 'tokenize'; source: ModelSource; text: string };

export interface WorkerJobResults {
  tokenize: TokenizedText & { tokenizeMs: number; loadMs: number };
}

export type HostToWorkerMessage =
  | { type: 'run'; requestId: number; job: WorkerJob }
  | { type: 'cancel'; requestId: number };

export type WorkerToHostMessage =
  | { type: 'result'; requestId: number; result: WorkerJobResults[WorkerJob['kind']] }
  | { type: 'error'; requestId: number; error: AnalysisErrorData }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
