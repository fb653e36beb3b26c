/**
 * The host's end of a webview's RPC channel, for a panel or a view alike: it loads the page (strict CSP, local
 * resources only), parses every message from it against the webview's protocol before any handler sees it (a
 * webview is a web page: it can be made to send anything), drops what does not fit with one warning in the log,
 * turns Content Security Policy reports into log errors, and closes when the webview goes away.
 */
import type * as vscode from 'vscode';
import { DisposableStore } from '../shared/disposables';
import { AnalysisError } from '../shared/errors';
import { RpcChannel, type EventHandlers, type Peer, type RequestHandlers } from '../shared/rpc';
import type { WEBVIEW_EVENTS } from '../shared/webviewEvents';
import type { WebviewPage } from './webviewPage';

type WebviewPeer = Peer<Peer['requests'], typeof WEBVIEW_EVENTS>;

/** What checking a webview's messages needs: the webview, a name for the log, and its protocol's two ends. */
export interface WebviewRpcOptions<TLocal extends WebviewPeer> {
  webview: vscode.Webview;
  /** "attention panel", "side view": how the log names the page. */
  name: string;
  log: vscode.LogOutputChannel;
  local: TLocal;
  handlers: RequestHandlers<TLocal['requests']>;
  events: EventHandlers<TLocal['events']>;
}

export interface WebviewChannel<TRemote extends Peer, TLocal extends Peer> extends vscode.Disposable {
  readonly rpc: RpcChannel<TRemote, TLocal>;
}

/** The channel over one webview's messages (the page itself is loaded by {@link openWebviewChannel}). */
export function webviewRpc<TRemote extends Peer, TLocal extends WebviewPeer>(
  options: WebviewRpcOptions<TLocal>,
): WebviewChannel<TRemote, TLocal> {
  const { webview, name, log } = options;
  const events = {
    ...options.events,
    cspViolation: ({ directive, blockedUri }: { directive: string; blockedUri: string }) =>
      log.error(`Content Security Policy violation in the ${name}: ${directive} blocked ${blockedUri}`),
  } as EventHandlers<TLocal['events']>;
  const rpc = new RpcChannel<TRemote, TLocal>({
    // VS Code sends the bytes of typed arrays and ArrayBuffers as binary (it has no transfer list).
    post: (message) => void webview.postMessage(message),
    local: options.local,
    handlers: options.handlers,
    events,
    onDropped: (reason) => log.warn(`Dropped a malformed message from the ${name}: ${reason}`),
    onHandlerError: (method, error) => {
      if (error.code !== 'cancelled') log.warn(`${name} request ${method} failed: ${error.message}`);
    },
  });
  const subscriptions = new DisposableStore();
  subscriptions.add(webview.onDidReceiveMessage((message: unknown) => rpc.receive(message)));
  // The page is gone: what it asked for is cancelled (the worker stops working on it).
  subscriptions.addCallback(() => rpc.close(new AnalysisError('cancelled', `The ${name} was closed.`)));
  return { rpc, dispose: () => subscriptions.dispose() };
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
