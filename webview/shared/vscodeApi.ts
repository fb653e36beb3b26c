/**
 * The typed face of `acquireVsCodeApi()`: what a page posts is a message of its RPC channel, and its saved state is
 * unknown until it is validated.
 */
import type { RpcMessage } from '../../src/shared/rpc';

interface VsCodeApi<TState> {
  postMessage(message: RpcMessage): void;
  getState(): unknown;
  setState(state: TState): void;
}

declare function acquireVsCodeApi(): VsCodeApi<unknown>;

let api: VsCodeApi<unknown> | undefined;

/** `acquireVsCodeApi` may only be called once per page load. */
export function vscodeApi<TState>(): VsCodeApi<TState> {
  api ??= acquireVsCodeApi();
  return api;
}

/** Reports CSP violations to the host log, so a policy regression is visible (and fails the UI tests). */
export function reportCspViolations(report: (violation: { directive: string; blockedUri: string }) => void): void {
  document.addEventListener('securitypolicyviolation', (event) => {
    report({ directive: event.effectiveDirective.slice(0, 200), blockedUri: event.blockedURI.slice(0, 500) });
  });
}
