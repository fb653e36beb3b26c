/**
 * The attention panel's webview: sentiment, a heatmap of the model's attention, the tokens. It renders what the
 * host sends, keeps it in `setState` so a reload restores it, and asks the host (request/response) for single heads
 * and to reveal tokens in the editor.
 */
import {
  HostToWebviewSchema,
  PanelStateSchema,
  parseMessage,
  type AnalysisView,
  type PanelAnalysisState,
  type PanelState,
} from '../../src/shared/protocol';
import { RequestChannel } from '../../src/shared/requestChannel';
import { decodeTokenTable } from '../../src/shared/tokenTable';
import { h } from '../shared/dom';
import { reportCspViolations, vscodeApi } from '../shared/vscodeApi';
import { Heatmap } from './heatmap';
import { renderSentiment } from './sentiment';
import { renderTokens } from './tokens';

const vscode = vscodeApi<PanelState>();
const app = document.getElementById('app') as HTMLElement;
const channel = new RequestChannel((message) => vscode.postMessage(message));

interface Current {
  analysis: PanelAnalysisState;
  /** `[layers, n, n]` head means, when the host still holds the attention. */
  headMeans: Float32Array | undefined;
  view: { layer: number; head: number };
}

let current: Current | undefined;
const heatmap = new Heatmap();

function setStatus(text: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = text;
}

function describeRange(analysis: PanelAnalysisState): string {
  const { source } = analysis;
  return `${source.documentName}, line ${source.startLine + 1}:${source.startCharacter + 1} – ${source.endLine + 1}:${source.endCharacter + 1}`;
}

function saveState(): void {
  vscode.setState({ version: 2, ...(current ? { analysis: current.analysis, view: current.view } : {}) });
}

async function showMap(): Promise<void> {
  if (!current?.headMeans) return;
  const { analysis, view, headMeans } = current;
  const n = analysis.tokens.length;
  const labels = analysis.tokens.map((token) => token.text);
  if (view.head < 0) {
    heatmap.show({ map: headMeans.subarray(view.layer * n * n, (view.layer + 1) * n * n), n, labels, caption: `layer ${view.layer + 1}, mean of ${analysis.model.heads} heads` });
    return;
  }
  const requested = { ...view };
  try {
    const { map } = await channel.request({ kind: 'headMap', analysisId: analysis.id, layer: view.layer, head: view.head });
    if (current?.view.layer === requested.layer && current.view.head === requested.head) {
      heatmap.show({ map: new Float32Array(map), n, labels, caption: `layer ${view.layer + 1}, head ${view.head + 1}` });
    }
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error));
  }
}

function renderAttention(state: Current): HTMLElement {
  const { analysis } = state;
  if (!state.headMeans) {
    return h('section', { class: 'attention', 'aria-label': 'Attention' }, h('h2', {}, 'Attention'), h('p', { class: 'notice' }, 'The attention tensors are not kept across window reloads (they are large). Select the text again and run “Attention Explorer: Analyze Selection”.'));
  }
  const layer = h('select', { id: 'layer-select', 'aria-label': 'Layer' }, ...Array.from({ length: analysis.model.layers }, (_, index) => h('option', { value: index, selected: index === state.view.layer }, `Layer ${index + 1}`)));
  const head = h(
    'select',
    { id: 'head-select', 'aria-label': 'Head' },
    h('option', { value: -1, selected: state.view.head < 0 }, 'Mean of heads'),
    ...Array.from({ length: analysis.model.heads }, (_, index) => h('option', { value: index, selected: index === state.view.head }, `Head ${index + 1}`)),
  );
  const onChange = () => {
    if (!current) return;
    current.view = { layer: Number(layer.value), head: Number(head.value) };
    saveState();
    void showMap();
  };
  layer.addEventListener('change', onChange);
  head.addEventListener('change', onChange);
  return h(
    'section',
    { class: 'attention', 'aria-label': 'Attention' },
    h('h2', {}, 'Attention'),
    h('div', { class: 'controls' }, h('label', { for: 'layer-select' }, 'Layer'), layer, h('label', { for: 'head-select' }, 'Head'), head),
    h('p', { class: 'meta' }, 'Rows attend to columns: each row is one token\'s attention over the tokens, summing to 1. Colour: viridis from 0 to the map\'s largest weight.'),
    heatmap.element,
  );
}

function render(): void {
  app.replaceChildren();
  app.setAttribute('aria-busy', 'false');
  if (!current) {
    app.append(h('p', { class: 'empty' }, 'Select text in an editor and run “Attention Explorer: Analyze Selection”.'));
    return;
  }
  const { analysis } = current;
  app.append(
    h('header', {}, h('h1', {}, 'Attention Explorer'), h('p', { class: 'meta' }, describeRange(analysis)), h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' })),
    renderSentiment(analysis),
    renderAttention(current),
    renderTokens(analysis),
  );
  void showMap();
}

function fromView(view: AnalysisView): Current {
  const { tokens, attention, ...summary } = view;
  const previous = current?.view;
  const layers = summary.model.layers;
  return {
    analysis: { ...summary, tokens: decodeTokenTable(tokens) },
    headMeans: attention ? new Float32Array(attention.headMeans) : undefined,
    view: previous && previous.layer < layers && previous.head < summary.model.heads ? previous : { layer: layers - 1, head: -1 },
  };
}

app.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.token');
  const index = Number(button?.dataset.index);
  if (!button || !current || !Number.isInteger(index)) return;
  const analysis = current.analysis;
  channel
    .request({ kind: 'revealToken', analysisId: analysis.id, tokenIndex: index })
    .then((result) => setStatus(result.revealed ? `Selected “${analysis.tokens[index]?.text ?? ''}” in the editor.` : ''))
    .catch((error: unknown) => setStatus(error instanceof Error ? error.message : String(error)));
});

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = parseMessage(HostToWebviewSchema, event.data);
  if (!parsed.ok) {
    console.warn(`Attention Explorer: ignored a malformed message (${parsed.reason})`);
    return;
  }
  const message = parsed.value;
  if (message.type === 'showAnalysis') {
    current = fromView(message.analysis);
    saveState();
    render();
  } else {
    channel.settle(message);
  }
});

// Theme changes (VS Code swaps body classes) re-colour the canvas, which CSS cannot reach.
new MutationObserver(() => heatmap.draw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
reportCspViolations((message) => vscode.postMessage(message));

const saved = parseMessage(PanelStateSchema, vscode.getState());
if (saved.ok && saved.value.analysis) {
  current = { analysis: saved.value.analysis, headMeans: undefined, view: saved.value.view ?? { layer: saved.value.analysis.model.layers - 1, head: -1 } };
}
render();
vscode.postMessage({ type: 'ready' });
