/**
 * The side view: the model's state and its actions, the current analysis (prediction, [CLS]'s rollout over the
 * tokens), recent analyses and live mode. It only renders what the host sends and sends commands back; its last
 * state is kept with `setState` so it shows at once when the view is shown again.
 */
import '../shared/l10n';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import * as l10n from '@vscode/l10n';
import { formatPercent } from '../../src/shared/format';
import { parseMessage, RpcChannel } from '../../src/shared/rpc';
import {
  SIDE_WEBVIEW,
  SideStateSchema,
  type SideAnalysis,
  type SideCommand,
  type SideHost,
  type SideState,
  type SideWebview,
} from '../../src/shared/sideProtocol';
import { h } from '../shared/dom';
import { reportCspViolations, vscodeApi } from '../shared/vscodeApi';

const vscode = vscodeApi<SideState>();
const app = document.getElementById('app') as HTMLElement;
const channel = new RpcChannel<SideHost, SideWebview>({
  post: (message) => vscode.postMessage(message),
  local: SIDE_WEBVIEW,
  handlers: {},
  events: {
    state: (state) => {
      vscode.setState(state);
      render(state);
    },
  },
  onDropped: (reason) => console.warn(`Attention Explorer: ignored a malformed message (${reason})`),
});

function send(command: SideCommand): void {
  channel.notify('command', { command });
}

function modelSection(state: SideState): HTMLElement {
  const { model } = state;
  const actions = model.actions.map(({ action, label }) => {
    const button = h('vscode-button', { secondary: action !== 'download' && action !== 'retry', 'data-action': action }, label);
    button.addEventListener('click', () => send({ command: 'modelAction', action }));
    return button;
  });
  return h(
    'section',
    { class: `model model-${model.state}`, 'aria-labelledby': 'model-heading' },
    h('h2', { id: 'model-heading' }, l10n.t('Model')),
    h('p', { class: 'model-text', role: 'status', 'aria-live': 'polite' }, model.text),
    model.percent !== undefined ? h('progress', { max: 100, value: model.percent.toFixed(1), 'aria-label': model.text }) : null,
    actions.length ? h('div', { class: 'actions' }, ...actions) : null,
  );
}

function probabilities(analysis: SideAnalysis): HTMLElement {
  return h(
    'table',
    { class: 'probabilities' },
    h(
      'tbody',
      {},
      ...analysis.labels.map(({ label, probability }) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, label),
          h('td', {}, h('meter', { min: 0, max: 1, value: probability, 'aria-label': `${label} ${formatPercent(probability)}` })),
          h('td', { class: 'num' }, formatPercent(probability)),
        ),
      ),
    ),
  );
}

/** Tokens tinted by their share of [CLS]'s rollout: ten classes (media/side.css), no inline styles. */
function importanceStrip(tokens: string[], importance: number[]): HTMLElement {
  const max = Math.max(...importance, 1e-12);
  return h(
    'p',
    { class: 'importance', role: 'list' },
    ...tokens.map((text, index) => {
      const share = (importance[index] ?? 0) / max;
      const level = Math.min(9, Math.floor(share * 10));
      return h(
        'span',
        {
          class: `chip level-${level}`,
          role: 'listitem',
          title: formatPercent(importance[index] ?? 0),
          'aria-label': `${text}: ${formatPercent(importance[index] ?? 0)}`,
        },
        text,
      );
    }),
  );
}

function currentSection(state: SideState): HTMLElement {
  const { current } = state;
  const heading = h('h2', { id: 'current-heading' }, l10n.t('Current analysis'));
  if (!current) {
    return h(
      'section',
      { class: 'current', 'aria-labelledby': 'current-heading' },
      heading,
      h('p', { class: 'muted' }, l10n.t('Nothing analysed yet. Select text in an editor and run Analyze Selection, or turn on live mode.')),
    );
  }
  return h(
    'section',
    { class: 'current', 'aria-labelledby': 'current-heading', 'data-analysis': current.id },
    heading,
    h(
      'p',
      { class: 'prediction' },
      h('strong', { class: 'label' }, current.label),
      ' ',
      current.probability !== undefined ? h('span', { class: 'muted' }, formatPercent(current.probability)) : null,
    ),
    current.stale
      ? h('p', { class: 'notice stale', role: 'status' }, l10n.t('Out of date: the text changed after it was analysed.'))
      : null,
    current.isTestModel ? h('p', { class: 'notice' }, l10n.t('Test model with random weights: this prediction means nothing.')) : null,
    h('p', { class: 'muted source' }, `${current.documentName}:${current.line} · “${current.preview}”`),
    probabilities(current),
    h('h3', {}, l10n.t('What the prediction reads: the attention rollout of “{0}” over the tokens', current.reader)),
    current.importance
      ? importanceStrip(current.tokens, current.importance)
      : h('p', { class: 'muted' }, l10n.t('The attention of this analysis is no longer kept; analyze it again to see it.')),
  );
}

function recentSection(state: SideState): HTMLElement | null {
  if (state.recent.length === 0) return null;
  return h(
    'section',
    { class: 'recent', 'aria-labelledby': 'recent-heading' },
    h('h2', { id: 'recent-heading' }, l10n.t('Recent analyses')),
    h(
      'ul',
      {},
      ...state.recent.map((item) => {
        const button = h(
          'button',
          { type: 'button', class: 'recent-item', 'data-analysis': item.id, title: l10n.t('Reopen in the panel') },
          h('strong', {}, item.probability !== undefined ? `${item.label} ${formatPercent(item.probability)}` : item.label),
          ' ',
          h('span', { class: 'muted' }, `${item.documentName}:${item.line}${item.stale ? ' ⚠' : ''}`),
          h('span', { class: 'preview' }, item.preview),
        );
        button.addEventListener('click', () => send({ command: 'openRecent', analysisId: item.id }));
        return h('li', {}, button);
      }),
    ),
  );
}

function render(state: SideState): void {
  const live = h('vscode-checkbox', {
    id: 'live-mode',
    checked: state.liveMode,
    label: l10n.t('Live mode: analyse the selection as it changes'),
  }) as HTMLElement & { checked: boolean };
  live.addEventListener('change', () => send({ command: 'setLiveMode', enabled: live.checked }));
  const analyze = h('vscode-button', { id: 'side-analyze' }, l10n.t('Analyze Selection'));
  analyze.addEventListener('click', () => send({ command: 'analyzeSelection' }));
  const panel = h('vscode-button', { id: 'side-panel', secondary: true }, l10n.t('Show Attention Panel'));
  panel.addEventListener('click', () => send({ command: 'showPanel' }));
  const sections: HTMLElement[] = [
    h('div', { class: 'actions' }, analyze, panel),
    h(
      'div',
      { class: 'live' },
      live,
      state.liveMode && state.liveStatus
        ? h('p', { class: 'muted live-status', role: 'status', 'aria-live': 'polite' }, state.liveStatus)
        : null,
    ),
    currentSection(state),
    modelSection(state),
  ];
  const recent = recentSection(state);
  if (recent) sections.push(recent);
  app.replaceChildren(...sections);
  app.setAttribute('aria-busy', 'false');
}

window.addEventListener('message', (event: MessageEvent<unknown>) => channel.receive(event.data));
reportCspViolations((violation) => channel.notify('cspViolation', violation));
const saved = parseMessage(SideStateSchema, vscode.getState());
if (saved.ok) render(saved.value);
channel.notify('ready', {});
