/**
 * Errors that reach the user. Each carries a code the host maps to a message with the actions that fix it; the
 * message itself is already written for a person (no stack traces).
 */
export type AnalysisErrorCode =
  | 'cancelled'
  | 'empty-selection'
  | 'selection-too-long'
  | 'model-unavailable'
  | 'invalid-model'
  | 'worker-crashed'
  | 'attention-unavailable'
  | 'internal';

export class AnalysisError extends Error {
  constructor(
    readonly code: AnalysisErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AnalysisError';
  }
}

/** The serialisable form of an {@link AnalysisError}, as it crosses the worker boundary. */
export interface AnalysisErrorData {
  code: AnalysisErrorCode;
  message: string;
}

export function toErrorData(error: unknown): AnalysisErrorData {
  if (error instanceof AnalysisError) {
    return { code: error.code, message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message };
}

export function isCancellation(error: unknown): boolean {
  return error instanceof AnalysisError && error.code === 'cancelled';
}
