/**
 * Request/response over a one-way `postMessage`, as vscode-hexeditor's message handler does: each request gets an
 * id, the answer comes back as a `response` message with the same id. Used on the webview side for requests to the
 * host; the host answers through {@link respond}.
 */
import type { ResponseMessage, WebviewRequest, WebviewRequestResults } from './protocol';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export type RequestMessage = { type: 'request'; requestId: number; request: WebviewRequest };

export class RequestChannel {
  private nextRequestId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly post: (message: RequestMessage) => void,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Sends a request and resolves with the host's result, or rejects with its error or on timeout. */
  request<TKind extends WebviewRequest['kind']>(
    request: Extract<WebviewRequest, { kind: TKind }>,
  ): Promise<WebviewRequestResults[TKind]> {
    const requestId = this.nextRequestId++;
    return new Promise<WebviewRequestResults[TKind]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`No answer to ${request.kind} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(requestId, { resolve: resolve as (result: unknown) => void, reject, timer });
      this.post({ type: 'request', requestId, request });
    });
  }

  /** Settles the request a response answers. Returns false for a response nobody waits for. */
  settle(response: ResponseMessage): boolean {
    const pending = this.pending.get(response.requestId);
    if (!pending) {
      return false;
    }
    this.pending.delete(response.requestId);
    clearTimeout(pending.timer);
    if (response.ok) {
      pending.resolve(response.result);
    } else {
      pending.reject(new Error(response.error));
    }
    return true;
  }

  /** Rejects everything still waiting (the view is going away). */
  dispose(): void {
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error('The view was closed'));
    }
    this.pending.clear();
  }
}

/** Answers one request: runs the handler and turns its result or error into a response message. */
export async function respond<TResult>(
  requestId: number,
  handler: () => Promise<TResult> | TResult,
): Promise<ResponseMessage> {
  try {
    const result = await handler();
    return { type: 'response', requestId, ok: true, result };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { type: 'response', requestId, ok: false, error: message.slice(0, 4096) };
  }
}
