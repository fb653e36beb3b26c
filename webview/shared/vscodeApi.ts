/**
 * The typed face of `acquireVsCodeApi()`: messages must be protocol messages, state is unknown until validated.
 */
import type { WebviewToHostMessage } from '../../src/shared/protocol';

interface VsCodeApi<TState, TMessage = WebviewToHostMessage> {
  postMessage(message: TMessage): void;
  getState(): unknown;
  setState(state: TState): void;
}

declare function acquireVsCodeApi(): VsCodeApi<unknown, unknown>;

let api: VsCodeApi<unknown, unknown> | undefined;

/** `acquireVsCodeApi` may only be called once per page load. Each webview names its own message type. */
export function vscodeApi<TState, TMessage = WebviewToHostMessage>(): VsCodeApi<TState, TMessage> {
  api ??= acquireVsCodeApi();
  return api as VsCodeApi<TState, TMessage>;
}

/** Reports CSP violations to the host log, so a policy regression is visible (and fails the UI tests). */
export function reportCspViolations(post: (message: Extract<WebviewToHostMessage, { type: 'cspViolation' }>) => void): void {
  document.addEventListener('securitypolicyviolation', (event) => {
    post({ type: 'cspViolation', directive: event.effectiveDirective.slice(0, 200), blockedUri: event.blockedURI.slice(0, 500) });
  });
}
