/**
 * The attention panel's webview: the sentiment, options, and the views (model grid and focus, head view, aggregates,
 * neuron view, playground, tokens). It renders what the host sends, asks the host (request/response) for the maps a
 * view needs, keeps its analysis and view in `setState` so a reload restores them, and follows the theme live.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import {
  HostToWebviewSchema,
  PanelStateSchema,
  parseMessage,
  type AnalysisView,
  type DisplayOptions,
  type PanelAnalysisState,
  type PanelFocus,
  type PanelState,
} from '../../src/shared/protocol';
import { RequestChannel } from '../../src/shared/requestChannel';
import { decodeTokenTable } from '../../src/shared/tokenTable';
import { SCHEMES, type ScaleOptions, type SchemeName } from '../shared/colorScale';
import { h } from '../shared/dom';
import { reportCspViolations, vscodeApi } from '../shared/vscodeApi';
import { AggregatesView } from './aggregatesView';
import { CompareView } from './compareView';
import { ExplainView } from './explainView';
import { layerCsv, mapCsv, mapJson, tokensCsv, type Exportable, type ExportFormat } from './exports';
import { HeadView } from './headView';
import { HostApi } from './hostApi';
import { ModelView } from './modelView';
import { NeuronView } from './neuronView';
import type { PanelContext } from './panelContext';
import { Playground } from './playground';
import { renderSentiment } from './sentiment';
import { defaultViewState, restoreViewState, TABS, type Tab, type ViewState } from './state';
import { renderTokens } from './tokens';

const vscode = vscodeApi<PanelState>();
const app = document.getElementById('app') as HTMLElement;
const channel = new RequestChannel((message) => vscode.postMessage(message));
const api = new HostApi(channel);

let analysis: PanelAnalysisState | undefined;
let headMeans: Float32Array | undefined;
let view: ViewState = defaultViewState(1);
/** Analyses whose text was edited after they were made (the host says so). */
const staleIds = new Set<string>();

function setStatus(text: string, path?: string): void {
  const status = document.getElementById('status');
  if (!status) return;
  status.textContent = text;
  if (path) status.dataset.path = path;
  else delete status.dataset.path;
}

const context: PanelContext = {
  get analysis() {
    return analysis;
  },
  get headMeans() {
    return headMeans;
  },
  get view() {
    return view;
  },
  get options(): DisplayOptions {
    return { hideSpecial: view.hideSpecial, mergeWords: view.mergeWords };
  },
  get scale(): ScaleOptions {
    return { scheme: view.scheme, scale: view.scale, threshold: view.threshold };
  },
  update(patch, options = {}) {
    const tabChanged = patch.tab !== undefined && patch.tab !== view.tab;
    view = { ...view, ...patch };
    saveState();
    if (tabChanged) selectTab(view.tab);
    if (options.reload !== false) void refreshCurrent();
  },
  setStatus: (text) => setStatus(text),
};

const modelView = new ModelView(context, api);
const headView = new HeadView(context, api);
const aggregatesView = new AggregatesView(context, api);
const neuronView = new NeuronView(context, api);
const explainView = new ExplainView(context, api);
const compareView = new CompareView(context, api);
const playground = new Playground(context);
let tokensHolder = h('div', {});

function saveState(): void {
  vscode.setState({ version: 3, ...(analysis ? { analysis } : {}), view });
}

const TAB_LABELS: Record<Tab, string> = {
  model: 'Model',
  head: 'Head view',
  aggregates: 'Aggregates',
  neuron: 'Neuron',
  explain: 'Explain',
  compare: 'Compare',
  playground: 'Playground',
  tokens: 'Tokens',
};

/** Views that need the attention tensors the host may no longer have. */
const NEEDS_ATTENTION = new Set<Tab>(['model', 'head', 'aggregates', 'neuron', 'explain', 'compare']);

let tabs: HTMLElement & { selectedIndex: number } = h('vscode-tabs', {}) as HTMLElement & { selectedIndex: number };

function selectTab(tab: Tab): void {
  tabs.selectedIndex = TABS.indexOf(tab);
}

/** What each tab does to show the current analysis; attention views wait for the tensors. */
const REFRESH: Record<Tab, (shown: PanelAnalysisState) => void | Promise<void>> = {
  model: () => modelView.refresh(),
  head: () => headView.refresh(),
  aggregates: () => aggregatesView.refresh(),
  neuron: () => neuronView.refresh(),
  explain: () => explainView.refresh(),
  compare: () => compareView.refresh(),
  playground: () => playground.refresh(),
  tokens: (shown) => tokensHolder.replaceChildren(renderTokens(shown)),
};

async function refreshCurrent(): Promise<void> {
  if (!analysis) {
    playground.refresh();
    return;
  }
  if (NEEDS_ATTENTION.has(view.tab) && !headMeans) return;
  try {
    await REFRESH[view.tab](analysis);
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error));
  }
}

function staleNotice(): HTMLElement {
  const again = h('vscode-button', { id: 'reanalyze-stale', secondary: true }, 'Analyze the edited text');
  again.addEventListener('click', () => {
    if (!analysis) return;
    api.request({ kind: 'reanalyze', analysisId: analysis.id }).then(
      (result) => setStatus(result.started ? 'Analysing again…' : 'The analysed text is gone from the document.'),
      (error: unknown) => setStatus(error instanceof Error ? error.message : String(error)),
    );
  });
  return h('div', { class: 'notice warning stale', role: 'status' }, h('p', {}, 'The text was edited after it was analysed: these weights describe the text as it was.'), again);
}

function missingAttention(): HTMLElement {
  const again = h('vscode-button', { id: 'reanalyze' }, 'Analyze again');
  again.addEventListener('click', () => {
    if (!analysis) return;
    api.request({ kind: 'reanalyze', analysisId: analysis.id }).then(
      (result) => setStatus(result.started ? 'Analysing again…' : 'The text changed since it was analysed.'),
      (error: unknown) => setStatus(error instanceof Error ? error.message : String(error)),
    );
  });
  return h('div', { class: 'notice' }, h('p', {}, 'The attention tensors are not kept across window reloads (they are large).'), again);
}

function group(...children: HTMLElement[]): HTMLElement {
  return h('span', { class: 'toolbar-group' }, ...children);
}

function toolbar(): HTMLElement {
  const checkbox = (id: string, label: string, checked: boolean, key: 'hideSpecial' | 'mergeWords') => {
    const box = h('vscode-checkbox', { id, label, checked }) as HTMLElement & { checked: boolean };
    box.addEventListener('change', () => context.update({ [key]: box.checked }));
    return box;
  };
  const scheme = h('vscode-single-select', { id: 'option-scheme', 'aria-label': 'Colour map' }, ...SCHEMES.map((name) => h('vscode-option', { value: name, selected: name === view.scheme }, name))) as HTMLElement & { value: string };
  scheme.addEventListener('change', () => restyle({ scheme: scheme.value as SchemeName }));
  const scale = h('vscode-single-select', { id: 'option-scale', 'aria-label': 'Scale' }, h('vscode-option', { value: 'linear', selected: view.scale === 'linear' }, 'linear'), h('vscode-option', { value: 'log', selected: view.scale === 'log' }, 'log')) as HTMLElement & { value: string };
  scale.addEventListener('change', () => restyle({ scale: scale.value as 'linear' | 'log' }));
  const threshold = h('vscode-textfield', { id: 'option-threshold', type: 'number', min: 0, max: 1, step: 0.01, value: view.threshold, 'aria-label': 'Threshold', class: 'narrow' }) as HTMLElement & { value: string };
  threshold.addEventListener('change', () => {
    const value = Number(threshold.value);
    if (Number.isFinite(value) && value >= 0 && value <= 1) restyle({ threshold: value });
    else setStatus('The threshold is a weight from 0 to 1.');
  });
  const exportButton = (format: ExportFormat) => {
    const button = h('vscode-button', { secondary: true, id: `export-${format}`, title: `Export the current view as ${format.toUpperCase()}` }, format.toUpperCase());
    button.addEventListener('click', () => void exportCurrent(format));
    return button;
  };
  return h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Display options' },
    // Groups wrap as units when the panel is narrow.
    group(checkbox('option-hide-special', 'Hide [CLS]/[SEP]', view.hideSpecial, 'hideSpecial'), checkbox('option-merge-words', 'Merge word pieces', view.mergeWords, 'mergeWords')),
    group(h('label', { for: 'option-scheme' }, 'Colours'), scheme),
    group(h('label', { for: 'option-scale' }, 'Scale'), scale),
    group(h('label', { for: 'option-threshold' }, 'Threshold'), threshold),
    h('span', { class: 'toolbar-gap' }),
    group(h('span', { class: 'meta' }, 'Export'), ...(['png', 'svg', 'csv', 'json'] as const).map(exportButton)),
  );
}

/** Colour, scale and threshold changes redraw what is loaded, without asking the host again. */
function restyle(patch: Partial<ViewState>): void {
  context.update(patch, { reload: false });
  redrawAll();
}

function redrawAll(): void {
  modelView.focus.setScale(context.scale);
  aggregatesView.heatmap.setScale(context.scale);
  modelView.drawGrid();
  headView.draw();
  compareView.heatmap.draw();
}

function exportable(): Exportable | undefined {
  if (!analysis) return undefined;
  switch (view.tab) {
    case 'model': {
      const focus = modelView.focusData();
      if (focus) {
        const name = `attention-layer${view.layer + 1}-head${view.head + 1}`;
        return { name, png: () => modelView.focus.toPng(), svg: () => modelView.focus.toSvg(), csv: () => mapCsv(focus), json: () => mapJson(focus, { model: analysis!.model.name, layer: view.layer + 1, head: view.head + 1, options: context.options }) };
      }
      return { name: 'attention-all-heads', png: () => modelView.gridPng(), svg: () => modelView.gridSvg(), csv: 'tensor', json: 'tensor' };
    }
    case 'head': {
      const data = headView.current;
      if (!data) return undefined;
      return { name: `head-view-layer${data.layer + 1}`, png: () => headView.toPng(), svg: () => headView.toSvg(), csv: () => layerCsv(data.labels, data.maps, data.layer), json: () => `${JSON.stringify({ model: analysis!.model.name, layer: data.layer + 1, labels: data.labels, heads: Array.from({ length: data.maps.length / data.labels.length ** 2 }, (_, head) => Array.from({ length: data.labels.length }, (_, row) => Array.from(data.maps.subarray((head * data.labels.length + row) * data.labels.length, (head * data.labels.length + row + 1) * data.labels.length)))) })}\n` };
    }
    case 'aggregates': {
      const data = aggregatesView.heatmap.current;
      if (!data) return undefined;
      return { name: `attention-${view.aggregate}${view.aggregate === 'flow' ? '' : `-layer${view.layer + 1}`}`, png: () => aggregatesView.heatmap.toPng(), svg: () => aggregatesView.heatmap.toSvg(), csv: () => mapCsv(data), json: () => mapJson(data, { model: analysis!.model.name, aggregate: view.aggregate, layer: view.layer + 1, headStatistics: aggregatesView.headStatistics }) };
    }
    case 'neuron': {
      const data = neuronView.current;
      if (!data) return undefined;
      const d = data.query.length;
      return {
        name: `neuron-layer${view.layer + 1}-head${view.head + 1}-token${view.query}`,
        png: () => neuronView.toPng(),
        csv: () => `key,q_dot_k,scaled,softmax,model_attention\n${data.labels.map((label, key) => `${JSON.stringify(label)},${data.dots[key]},${data.scores[key]},${data.softmax[key]},${data.probabilities[key]}`).join('\n')}\n`,
        json: () => `${JSON.stringify({ layer: view.layer + 1, head: view.head + 1, query: view.query, labels: data.labels, q: Array.from(data.query), keys: Array.from({ length: data.labels.length }, (_, key) => Array.from(data.keys.subarray(key * d, (key + 1) * d))), scale: data.scale, attention: Array.from(data.probabilities) })}\n`,
      };
    }
    case 'playground': {
      const step = playground.current;
      if (!step) return undefined;
      const { rows, cols, values } = step.matrix;
      return {
        name: `playground-${step.id.replace(/[^\w.-]/g, '_')}`,
        csv: () => `${Array.from({ length: rows }, (_, row) => values.slice(row * cols, (row + 1) * cols).join(',')).join('\n')}\n`,
        json: () => `${JSON.stringify(step)}\n`,
      };
    }
    case 'explain': {
      const importance = explainView.currentImportance;
      const attribution = explainView.currentAttribution;
      if (!importance && !attribution) return undefined;
      const tokens = analysis.tokens;
      return {
        name: 'explanation',
        json: () => `${JSON.stringify({ model: analysis!.model.name, labels: analysis!.sentiment.labels, ...(importance ? { headImportance: { label: importance.label, deltas: importance.deltas, normalised: importance.normalised } } : {}), ...(attribution ? { attribution: { label: attribution.label, mode: attribution.mode, unit: attribution.unit, tokens: tokens.map((token, index) => ({ index, text: token.text, special: token.special, occlusion: Number.isFinite(attribution.occlusion[index]!) ? attribution.occlusion[index] : null, rollout: attribution.rollout[index], flow: attribution.flow[index] ?? null })) } } : {}) })}\n`,
        ...(attribution ? { csv: () => `index,token,occlusion_delta,rollout,flow\n${tokens.map((token, index) => `${index},${JSON.stringify(token.text)},${Number.isFinite(attribution.occlusion[index]!) ? attribution.occlusion[index] : ''},${attribution.rollout[index]},${attribution.flow[index] ?? ''}`).join('\n')}\n` } : {}),
      };
    }
    case 'compare': {
      const data = compareView.heatmap.current;
      if (!data) return undefined;
      return { name: `attention-difference-layer${view.layer + 1}-head${view.head + 1}`, png: () => compareView.heatmap.toPng(), csv: () => mapCsv(data), json: () => mapJson(data, { model: analysis!.model.name, layer: view.layer + 1, head: view.head + 1, difference: 'A - B', pairs: compareView.current?.pairs }) };
    }
    case 'tokens':
      return { name: 'tokens', csv: () => tokensCsv(analysis!), json: () => `${JSON.stringify(analysis!.tokens)}\n` };
  }
}

async function exportCurrent(format: ExportFormat): Promise<void> {
  const target = exportable();
  const make = target?.[format];
  if (!target || !make) {
    setStatus(`This view has nothing to export as ${format.toUpperCase()}.`);
    return;
  }
  try {
    let result: { path: string | null };
    if (make === 'tensor') {
      result = await api.request({ kind: 'exportTensor', analysisId: analysis!.id, format: format as 'csv' | 'json' });
    } else {
      const content = await (make as () => string | Promise<ArrayBuffer>)();
      result = await api.request({ kind: 'export', format, suggestedName: `${target.name}.${format}`, content });
    }
    setStatus(result.path ? `Saved ${result.path}` : 'Export cancelled.', result.path ?? undefined);
  } catch (error) {
    setStatus(error instanceof Error ? error.message : String(error));
  }
}

function render(): void {
  app.replaceChildren();
  app.setAttribute('aria-busy', 'false');
  if (!analysis) {
    app.append(
      h('header', {}, h('h1', {}, 'Attention Explorer'), h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' })),
      h('p', { class: 'empty' }, 'Select text in an editor and run “Attention Explorer: Analyze Selection”. Meanwhile, the playground walks through attention step by step.'),
      h('section', { class: 'standalone-playground', 'aria-label': 'Playground' }, playground.element),
    );
    playground.refresh();
    return;
  }
  const { source } = analysis;
  tokensHolder = h('div', {}, renderTokens(analysis));
  tabs = h('vscode-tabs', { 'selected-index': TABS.indexOf(view.tab) }) as HTMLElement & { selectedIndex: number };
  const panels: Record<Tab, HTMLElement> = {
    model: modelView.element,
    head: headView.element,
    aggregates: aggregatesView.element,
    neuron: neuronView.element,
    explain: explainView.element,
    compare: compareView.element,
    playground: playground.element,
    tokens: tokensHolder,
  };
  for (const tab of TABS) {
    tabs.append(
      h('vscode-tab-header', { slot: 'header', 'data-tab': tab }, TAB_LABELS[tab]),
      h('vscode-tab-panel', { id: `panel-${tab}` }, NEEDS_ATTENTION.has(tab) && !headMeans ? h('p', { class: 'empty' }, 'Not available until the text is analysed again (see above).') : panels[tab]),
    );
  }
  tabs.addEventListener('vsc-tabs-select', (event) => {
    const index = (event as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex;
    const tab = TABS[index];
    if (tab && tab !== view.tab) context.update({ tab });
  });
  app.append(
    h('header', {}, h('h1', {}, 'Attention Explorer'), h('p', { class: 'meta' }, `${source.documentName}, line ${source.startLine + 1}:${source.startCharacter + 1} – ${source.endLine + 1}:${source.endCharacter + 1}`), h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' })),
    renderSentiment(analysis),
    ...(staleIds.has(analysis.id) ? [staleNotice()] : []),
    ...(headMeans ? [] : [missingAttention()]),
    toolbar(),
    tabs,
  );
  void refreshCurrent();
}

function fromView(message: AnalysisView): void {
  const { tokens, attention, ...summary } = message;
  const layers = summary.model.layers;
  const previous = view;
  analysis = { ...summary, tokens: decodeTokenTable(tokens) };
  headMeans = attention ? new Float32Array(attention.headMeans) : undefined;
  // Keep the reader's view across analyses, within the new model's bounds.
  view = {
    ...previous,
    layer: Math.min(previous.layer, layers - 1),
    head: Math.min(previous.head, summary.model.heads - 1),
    query: Math.min(previous.query, analysis.tokens.length - 1),
  };
}

app.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.token');
  const index = Number(button?.dataset.index);
  if (!button || !analysis || !Number.isInteger(index)) return;
  const current = analysis;
  api
    .request({ kind: 'revealToken', analysisId: current.id, tokenIndex: index })
    .then((result) => setStatus(result.revealed ? `Selected “${current.tokens[index]?.text ?? ''}” in the editor.` : ''))
    .catch((error: unknown) => setStatus(error instanceof Error ? error.message : String(error)));
});

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = parseMessage(HostToWebviewSchema, event.data);
  if (!parsed.ok) {
    console.warn(`Attention Explorer: ignored a malformed message (${parsed.reason})`);
    return;
  }
  const message = parsed.value;
  switch (message.type) {
    case 'showAnalysis':
      // Timestamps on the browser's shared clock, for the end-to-end benchmark's breakdown.
      app.dataset.receivedAt = (performance.timeOrigin + performance.now()).toFixed(1);
      fromView(message.analysis);
      saveState();
      render();
      app.dataset.renderedAt = (performance.timeOrigin + performance.now()).toFixed(1);
      return;
    case 'gridPrefetch':
      api.primeGrid(message.analysisId, message.requestedSize, message.options, message);
      return;
    case 'focus':
      applyFocus(message.target);
      return;
    case 'stale':
      if (message.stale) staleIds.add(message.analysisId);
      else staleIds.delete(message.analysisId);
      if (analysis?.id === message.analysisId) render();
      return;
    case 'response':
      channel.settle(message);
  }
});

/** Where the host asked the panel to look (a hover link, Open Playground, Explain Sentiment). */
function applyFocus(target: PanelFocus): void {
  const layers = analysis?.model.layers ?? 1;
  const heads = analysis?.model.heads ?? 1;
  const tokens = analysis?.tokens.length ?? 1;
  const patch: Partial<ViewState> = {};
  if (target.tab && (analysis || target.tab === 'playground')) patch.tab = target.tab;
  if (target.layer !== undefined) patch.layer = Math.min(target.layer, layers - 1);
  if (target.head !== undefined) patch.head = Math.min(target.head, heads - 1);
  if (target.query !== undefined) patch.query = Math.min(target.query, tokens - 1);
  if (target.focus !== undefined) patch.focus = target.focus;
  if (target.compareWith !== undefined) patch.compare = { ...view.compare, otherId: target.compareWith };
  if (!analysis) {
    // Nothing analysed: only the playground has something to show.
    view = { ...view, ...patch };
    saveState();
    render();
  } else {
    context.update(patch);
  }
  if (target.section === 'sentiment') {
    const card = document.getElementById('sentiment');
    card?.scrollIntoView({ block: 'start' });
    card?.focus();
  }
}

// Theme changes (VS Code swaps body classes) re-colour the canvases, which CSS cannot reach.
new MutationObserver(() => redrawAll()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
reportCspViolations((message) => vscode.postMessage(message));

const saved = parseMessage(PanelStateSchema, vscode.getState());
if (saved.ok) {
  analysis = saved.value.analysis;
  view = restoreViewState(saved.value.view, analysis?.model.layers ?? 1);
}
render();
vscode.postMessage({ type: 'ready' });
