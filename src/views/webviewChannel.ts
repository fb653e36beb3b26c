/**
 * The host's end of a webview's RPC channel, for a panel or a view alike: it loads the page (strict CSP, local
 * resources only), parses every message from it against the webview's protocol before any handler sees it (a
 * webview is a web page: it can be made to send anything), drops what does not fit with one warning in the log,
 * turns Content Security Policy reports into log errors, and closes when the webview goes away.
 */
import type * as vscode from 'vscode';
import { DisposableStore } from '../shared/disposables';
import { AnalysisError, fromErrorData } from '../shared/errors';
import { RpcChannel, type EventHandlers, type Peer, type RequestHandlers, type RpcMessage } from '../shared/rpc';
import type { WEBVIEW_EVENTS } from '../shared/webviewEvents';
import type { WebviewPage } from './webviewPage';

type WebviewPeer = Peer<Peer['requests'], typeof WEBVIEW_EVENTS>;

/** What checking a page's messages needs: a name for the log, and its protocol's two ends. */
export interface PageRpcOptions<TLocal extends WebviewPeer> {
  /** "attention panel", "side view": how the log names the page. */
  name: string;
  log: vscode.LogOutputChannel;
  local: TLocal;
  handlers: RequestHandlers<TLocal['requests']>;
  events: EventHandlers<TLocal['events']>;
  /** Sees every message posted to the page (the extension-host tests read answers through it: {@link PageProbe}). */
  tap?: (message: RpcMessage) => void;
}

/** What checking a webview's messages needs: the webview, and what any page's channel needs. */
export interface WebviewRpcOptions<TLocal extends WebviewPeer> extends PageRpcOptions<TLocal> {
  webview: vscode.Webview;
}

export interface WebviewChannel<TRemote extends Peer, TLocal extends Peer> extends vscode.Disposable {
  readonly rpc: RpcChannel<TRemote, TLocal>;
}

/**
 * The channel to one page over any message port (a webview, a notebook renderer's messaging): every message from the
 * page parsed against its protocol, malformed ones dropped with a warning, handler failures and CSP reports logged.
 */
export function pageRpc<TRemote extends Peer, TLocal extends WebviewPeer>(
  options: PageRpcOptions<TLocal> & { post(message: RpcMessage): void },
): RpcChannel<TRemote, TLocal> {
  const { name, log, tap } = options;
  const events = {
    ...options.events,
    cspViolation: ({ directive, blockedUri }: { directive: string; blockedUri: string }) =>
      log.error(`Content Security Policy violation in the ${name}: ${directive} blocked ${blockedUri}`),
  } as EventHandlers<TLocal['events']>;
  return new RpcChannel<TRemote, TLocal>({
    post: (message) => {
      tap?.(message);
      options.post(message);
    },
    local: options.local,
    handlers: options.handlers,
    events,
    onDropped: (reason) => log.warn(`Dropped a malformed message from the ${name}: ${reason}`),
    onHandlerError: (method, error) => {
      if (error.code !== 'cancelled') log.warn(`${name} request ${method} failed: ${error.message}`);
    },
  });
}

/** The channel over one webview's messages (the page itself is loaded by {@link openWebviewChannel}). */
export function webviewRpc<TRemote extends Peer, TLocal extends WebviewPeer>(
  options: WebviewRpcOptions<TLocal>,
): WebviewChannel<TRemote, TLocal> {
  const { webview, name } = options;
  // VS Code sends the bytes of typed arrays and ArrayBuffers as binary (it has no transfer list).
  const rpc = pageRpc<TRemote, TLocal>({ ...options, post: (message) => void webview.postMessage(message) });
  const subscriptions = new DisposableStore();
  subscriptions.add(webview.onDidReceiveMessage((message: unknown) => rpc.receive(message)));
  // The page is gone: what it asked for is cancelled (the worker stops working on it).
  subscriptions.addCallback(() => rpc.close(new AnalysisError('cancelled', `The ${name} was closed.`)));
  return { rpc, dispose: () => subscriptions.dispose() };
}

/**
 * Requests sent to a host as if its page had posted them, answered through the page's own channel: the schema
 * checks, the handlers and the binary payloads are the page's, only the page itself is not there. The extension-host
 * suite drives a page's path with it (it cannot reach inside a webview). Pass {@link PageProbe.observe} as the
 * channel's `tap`.
 */
export class PageProbe {
  private nextId = 1_000_000_000_000;
  private readonly waiting = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  private readonly events = new Map<string, unknown>();

  /**
   * `summarise` keeps what a test reads of an event posted to the page (undefined: nothing); it must not keep large
   * payloads alive (a document's text, head means).
   */
  constructor(private readonly summarise: (event: string, payload: unknown) => unknown = () => undefined) {}

  readonly observe = (message: RpcMessage): void => {
    if (message.type === 'event') {
      const summary = this.summarise(message.event, message.payload);
      if (summary !== undefined) this.events.set(message.event, summary);
    }
    if (message.type !== 'response') return;
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    if (message.ok) waiting.resolve(message.result);
    else waiting.reject(fromErrorData(message.error));
  };

  /** Sends a request through `receive` (the channel's); resolves with the answer the page would get. */
  request(receive: ((message: unknown) => boolean) | undefined, method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (!receive?.({ type: 'request', id, method, params })) {
        this.waiting.delete(id);
        reject(new Error(`The page's channel is not open, or dropped the ${method} request.`));
      }
    });
  }

  /** The summary of the last event of this name posted to the page. */
  lastEvent(name: string): unknown {
    return this.events.get(name);
  }
}

export interface WebviewChannelOptions<TLocal extends WebviewPeer> extends Omit<WebviewRpcOptions<TLocal>, 'webview'> {
  /** A `WebviewPanel` or a `WebviewView`. */
  owner: { readonly webview: vscode.Webview; readonly onDidDispose: vscode.Event<void> };
  /** Loads the page into the webview (see `webviewHtml.ts`). */
  load(webview: vscode.Webview, page: WebviewPage): void;
  page: WebviewPage;
  /** Called once the webview is gone (after the channel closed). */
  onDispose(): void;
}

/** Loads a page into a panel or view and opens the channel to it, closed when the webview goes away. */
export function openWebviewChannel<TRemote extends Peer, TLocal extends WebviewPeer>(
  options: WebviewChannelOptions<TLocal>,
): WebviewChannel<TRemote, TLocal> {
  const { owner } = options;
  const channel = webviewRpc<TRemote, TLocal>({ ...options, webview: owner.webview });
  options.load(owner.webview, options.page);
  const disposed = owner.onDidDispose(() => {
    disposed.dispose();
    channel.dispose();
    options.onDispose();
  });
  return {
    rpc: channel.rpc,
    dispose: () => {
      disposed.dispose();
      channel.dispose();
    },
  };
}
