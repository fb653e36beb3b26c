/**
 * The notebook renderer for `application/vnd.attention-explorer.attention+json`: VS Code runs it in the notebook's
 * output webview, offline and under that webview's policy, for every output of that type (the Python package's
 * `show`, `head_view`, `model_view`). Each output is drawn by the panel's own views (`OutputView`) in its own shadow
 * root (outputs share one document: styles and ids must not meet), only once it scrolls into view, and gives its
 * canvases back when VS Code disposes it. Saving and "Open in Attention Explorer" go to the extension host over the
 * renderer messaging channel, as RPC messages of `OUTPUT_HOST`.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import * as l10n from '@vscode/l10n';
import commonCss from '../../media/common.css';
import outputCss from '../../media/output.css';
import panelCss from '../../media/panel.css';
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { readAttentionDocument } from '../../src/shared/attentionFile';
import { messageOf } from '../../src/shared/errors';
import { OUTPUT_WEBVIEW, type OutputHost, type OutputWebview } from '../../src/shared/outputProtocol';
import type { ExportFormat } from '../../src/shared/panelProtocol';
import { RpcChannel } from '../../src/shared/rpc';
import { h } from '../shared/dom';
import { exportContent } from '../output/exportContent';
import { OutputView, type OutputBridge, type OutputState } from '../output/outputView';

/** What the renderer keeps for the notebook's webview: each output's view, by output id (the newest few). */
interface RendererState {
  outputs: Record<string, OutputState>;
}
const KEPT_STATES = 200;
/** Saving a large export can take a while in the host's dialog: no timeout beyond the user's own. */
const REQUEST_TIMEOUT_MS = Number.POSITIVE_INFINITY;
/** How long the first output waits for the translations before it is drawn in English. */
const L10N_TIMEOUT_MS = 2000;

/**
 * The panel's stylesheets, bundled as text and adopted by every output's shadow root: nothing is fetched (the
 * notebook webview does not serve an extension's files to a renderer everywhere: code-server answers 401).
 */
const STYLES = new CSSStyleSheet();
STYLES.replaceSync([commonCss, panelCss, outputCss].join('\n'));

interface Shown {
  view?: OutputView;
  stop(): void;
}

export const activate: ActivationFunction<RendererState> = (context: RendererContext<RendererState>) => {
  const post = context.postMessage?.bind(context);
  const channel = post
    ? new RpcChannel<OutputHost, OutputWebview>({
        post: (message) => post(message),
        local: OUTPUT_WEBVIEW,
        handlers: {},
        events: { showDocument: () => undefined, showError: () => undefined },
        timeoutMs: REQUEST_TIMEOUT_MS,
      })
    : undefined;
  context.onDidReceiveMessage?.((message: unknown) => channel?.receive(message));
  // The display language's strings, asked once before the first output is drawn (English without an answer).
  const translated: Promise<void> = channel
    ? channel.request('l10nBundle', {}, { timeoutMs: L10N_TIMEOUT_MS }).then(
        ({ contents }) => {
          if (contents) l10n.config({ contents });
        },
        () => undefined,
      )
    : Promise.resolve();
  const shown = new Map<string, Shown>();
  // Theme changes swap the body's classes: every output re-colours its canvases.
  new MutationObserver(() => shown.forEach((entry) => entry.view?.redraw())).observe(document.body, {
    attributes: true,
    attributeFilter: ['class'],
  });

  const saveState = (id: string, state: OutputState) => {
    const outputs = { ...(context.getState()?.outputs ?? {}) };
    delete outputs[id];
    outputs[id] = state;
    const ids = Object.keys(outputs);
    for (const old of ids.slice(0, Math.max(0, ids.length - KEPT_STATES))) delete outputs[old];
    context.setState({ outputs });
  };

  const bridgeFor = (item: OutputItem, title: string): OutputBridge => ({
    save: (format: ExportFormat, suggestedName: string, content: string | ArrayBuffer) => {
      if (!channel) return Promise.reject(new Error(l10n.t('Saving needs the Attention Explorer extension in this window.')));
      return channel.request('export', {
        format,
        suggestedName,
        content: exportContent(content),
      });
    },
    openInPanel: (attention: string) => {
      if (!channel) return Promise.reject(new Error(l10n.t('Opening the panel needs the Attention Explorer extension in this window.')));
      return channel.request('openInPanel', { source: { kind: 'document', document: item.json() as unknown }, attention, title });
    },
    saveState: (state) => saveState(item.id, state),
  });

  const dispose = (id: string) => {
    const entry = shown.get(id);
    entry?.stop();
    entry?.view?.dispose();
    shown.delete(id);
  };

  return {
    renderOutputItem(item: OutputItem, element: HTMLElement, signal: AbortSignal) {
      dispose(item.id);
      const shadow = element.shadowRoot ?? element.attachShadow({ mode: 'open' });
      const root = h('main', { class: 'attention-output', 'data-page': 'notebook-output', 'data-output-id': item.id });
      shadow.adoptedStyleSheets = [STYLES];
      shadow.replaceChildren(root);
      root.append(h('p', { class: 'empty' }, l10n.t('Attention maps: drawn when scrolled into view.')));
      // Only outputs on screen are decoded and drawn: a notebook with fifty of them opens at once.
      const observer = new IntersectionObserver((entries) => {
        if (!entries.some((entry) => entry.isIntersecting)) return;
        observer.disconnect();
        void translated.then(() => draw());
      });
      const draw = () => {
        const entry = shown.get(item.id);
        if (!entry || signal.aborted) return;
        try {
          const document = readAttentionDocument(item.json() as unknown);
          const title = document.model ?? l10n.t('notebook output');
          entry.view = new OutputView(
            root,
            document,
            () => item.text(),
            title,
            bridgeFor(item, title),
            context.getState()?.outputs[item.id],
          );
          root.dataset.rendered = 'true';
          root.dataset.model = document.model ?? '';
        } catch (error) {
          root.replaceChildren(
            h('p', { class: 'notice warning', role: 'alert' }, l10n.t('Attention Explorer cannot show this output: {0}', messageOf(error))),
          );
        }
      };
      observer.observe(element);
      shown.set(item.id, { stop: () => observer.disconnect() });
      signal.addEventListener('abort', () => dispose(item.id));
    },
    disposeOutputItem(id?: string) {
      if (id === undefined) [...shown.keys()].forEach(dispose);
      else dispose(id);
    },
  };
};
