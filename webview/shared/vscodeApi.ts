/**
 * The typed face of `acquireVsCodeApi()`: messages must be protocol messages, state is unknown until validated.
 */
import type { WebviewToHostMessage } from '../../src/shared/protocol';

interface VsCodeApi<TState> {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: TState): void;
}

declare function acquireVsCodeApi<TState>(): VsCodeApi<TState>;

let api: VsCodeApi<unknown> | undefined;

/** `acquireVsCodeApi` may only be called once per page load. */
export function vscodeApi<TState>(): VsCodeApi<TState> {
  api ??= acquireVsCodeApi<unknown>();
  return api as VsCodeApi<TState>;
}

/** Reports CSP violations to the host log, so a policy regression is visible (and fails the UI tests). */
export function reportCspViolations(post: (message: WebviewToHostMessage) => void): void {
  document.addEventListener('securitypolicyviolation', (event) => {
    post({ type: 'cspViolation', directive: event.effectiveDirective.slice(0, 200), blockedUri: event.blockedURI.slice(0, 500) });
  });
}
