/**
 * The `.attention.json` editor's page: the host sends the file's text, the page reads it (off the host's event loop)
 * and shows it with the panel's views (`OutputView`), as a notebook output shows it. Saving and "Open in Attention
 * Explorer" go back to the host as `OUTPUT_HOST` requests; the view (tab, head, options) survives a reload.
 */
import '../shared/l10n';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import * as l10n from '@vscode/l10n';
import * as v from 'valibot';
import { parseAttentionDocument } from '../../src/shared/attentionFile';
import { messageOf } from '../../src/shared/errors';
import { OUTPUT_WEBVIEW, type OutputHost, type OutputWebview } from '../../src/shared/outputProtocol';
import { RpcChannel } from '../../src/shared/rpc';
import { h } from '../shared/dom';
import { reportCspViolations, vscodeApi } from '../shared/vscodeApi';
import { exportContent } from '../output/exportContent';
import { OutputView, type OutputState } from '../output/outputView';

const SavedSchema = v.object({ attention: v.pipe(v.string(), v.maxLength(64)), view: v.unknown() });

const vscode = vscodeApi<OutputState>();
const app = document.getElementById('app') as HTMLElement;
let shown: OutputView | undefined;

const channel: RpcChannel<OutputHost, OutputWebview> = new RpcChannel({
  post: (message) => vscode.postMessage(message),
  local: OUTPUT_WEBVIEW,
  handlers: {},
  events: {
    showDocument: ({ bytes, name }) => show(bytes, name),
    showError: ({ message }) => showError(message),
  },
  onDropped: (reason) => console.warn(`Attention Explorer: ignored a malformed message (${reason})`),
});

function showError(message: string): void {
  shown?.dispose();
  shown = undefined;
  app.replaceChildren(h('p', { class: 'notice warning', role: 'alert' }, message));
}

function show(bytes: Uint8Array, name: string): void {
  try {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Error(l10n.t('the file is not UTF-8 text'));
    }
    const document = parseAttentionDocument(text);
    shown?.dispose();
    const saved = v.safeParse(SavedSchema, vscode.getState());
    shown = new OutputView(
      app,
      document,
      () => text,
      name,
      {
        save: (format, suggestedName, content) =>
          channel.request('export', {
            format,
            suggestedName,
            content: exportContent(content),
          }),
        openInPanel: (attention) => channel.request('openInPanel', { source: { kind: 'file' }, attention, title: name }),
        saveState: (state) => vscode.setState(state),
      },
      saved.success ? saved.output : undefined,
    );
    app.dataset.rendered = 'true';
  } catch (error) {
    showError(l10n.t('Attention Explorer cannot show {0}: {1}', name, messageOf(error)));
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => channel.receive(event.data));
new MutationObserver(() => shown?.redraw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
reportCspViolations((violation) => channel.notify('cspViolation', violation));
channel.notify('ready', {});
