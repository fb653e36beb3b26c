/**
 * The attention panel's entry point: routes messages between the host and the page. Everything the page shows is in
 * `panel.ts` and the views it holds.
 */
import '../shared/l10n';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { PANEL_WEBVIEW, PanelStateSchema, type PanelHost, type PanelState, type PanelWebview } from '../../src/shared/panelProtocol';
import { parseMessage, RpcChannel } from '../../src/shared/rpc';
import { reportCspViolations, vscodeApi } from '../shared/vscodeApi';
import { HostApi } from './hostApi';
import { Panel } from './panel';

/** How long a request to the host may go without an answer or a progress report (heavy jobs report as they go). */
const REQUEST_TIMEOUT_MS = 30_000;

const vscode = vscodeApi<PanelState>();
const app = document.getElementById('app') as HTMLElement;
const channel = new RpcChannel<PanelHost, PanelWebview>({
  post: (message) => vscode.postMessage(message),
  local: PANEL_WEBVIEW,
  handlers: {},
  events: {
    showAnalysis: (shown) => panel.show(shown),
    gridPrefetch: ({ analysisId, requestedSize, options, labels, size, thumbnails }) =>
      api.primeGrid(analysisId, requestedSize, options, { labels, size, thumbnails }),
    focus: ({ target }) => panel.focus(target),
    stale: ({ analysisId, stale }) => panel.setStale(analysisId, stale),
  },
  timeoutMs: REQUEST_TIMEOUT_MS,
  onDropped: (reason) => console.warn(`Attention Explorer: ignored a malformed message (${reason})`),
});
const api = new HostApi(channel);
const panel = new Panel(app, api, (state) => vscode.setState(state));

window.addEventListener('message', (event: MessageEvent<unknown>) => channel.receive(event.data));
// Theme changes (VS Code swaps body classes) re-colour the canvases, which CSS cannot reach.
new MutationObserver(() => panel.redraw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
reportCspViolations((violation) => channel.notify('cspViolation', violation));

const saved = parseMessage(PanelStateSchema, vscode.getState());
panel.restore(saved.ok ? saved.value : undefined);
channel.notify('ready', {});
