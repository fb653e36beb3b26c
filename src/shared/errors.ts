/**
 * Errors that reach the user. Each carries a code the host maps to a message with the actions that fix it; the
 * message itself is already written for a person (no stack traces). The same shape crosses every hop (worker → host
 * → webview), so this module is free of `vscode` and Node imports.
 */
export type AnalysisErrorCode =
  | 'cancelled'
  | 'timeout'
  | 'empty-selection'
  | 'selection-too-long'
  | 'model-unavailable'
  | 'invalid-model'
  | 'worker-crashed'
  | 'attention-unavailable'
  | 'invalid-request'
  /** An attention document (a `.attention.json` file, a notebook output) that does not follow the format. */
  | 'invalid-document'
  /** An input whose attention would not fit the worker's memory budget (the message says what would). */
  | 'over-budget'
  | 'internal';

const CODES: ReadonlySet<string> = new Set<AnalysisErrorCode>([
  'cancelled',
  'timeout',
  'empty-selection',
  'selection-too-long',
  'model-unavailable',
  'invalid-model',
  'worker-crashed',
  'attention-unavailable',
  'invalid-request',
  'invalid-document',
  'over-budget',
  'internal',
]);

/** The longest message that crosses a hop; longer ones are cut (a message is one or two sentences). */
export const MAX_ERROR_MESSAGE = 4096;

export class AnalysisError extends Error {
  constructor(
    readonly code: AnalysisErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AnalysisError';
  }
}

/** The serialisable form of an {@link AnalysisError}, as it crosses a worker or webview boundary. */
export interface AnalysisErrorData {
  code: AnalysisErrorCode;
  message: string;
}

export function toErrorData(error: unknown): AnalysisErrorData {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_MESSAGE);
  return { code: error instanceof AnalysisError ? error.code : 'internal', message };
}

/** The error a received {@link AnalysisErrorData} stands for (an unknown code is treated as internal). */
export function fromErrorData(data: { code: string; message: string }): AnalysisError {
  return new AnalysisError(CODES.has(data.code) ? (data.code as AnalysisErrorCode) : 'internal', data.message);
}

export function isCancellation(error: unknown): boolean {
  return error instanceof AnalysisError && error.code === 'cancelled';
}

/** The message of anything thrown, for logs and status lines. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Throws a `cancelled` error once `signal` has aborted: long loops call it between forward passes. */
export function throwIfCancelled(signal: AbortSignal | undefined, message = 'The explanation was cancelled.'): void {
  if (signal?.aborted) throw new AnalysisError('cancelled', message);
}
