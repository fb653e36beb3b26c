/**
 * The side view: the model's state and its actions, the current analysis (sentiment, [CLS]'s rollout over the
 * tokens), recent analyses and live mode. It only renders what the host sends and sends commands back; its last
 * state is kept with `setState` so it shows at once when the view is shown again.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { parseMessage, SideStateMessageSchema, type SideAnalysis, type SideCommand, type SideStateMessage, type SideToHostMessage } from '../../src/shared/protocol';
import { h } from '../shared/dom';
import { reportCspViolations, vscodeApi } from '../shared/vscodeApi';

const vscode = vscodeApi<SideStateMessage, SideToHostMessage>();
const app = document.getElementById('app') as HTMLElement;

function send(command: SideCommand): void {
  vscode.postMessage({ type: 'command', command });
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

function modelSection(state: SideStateMessage): HTMLElement {
  const { model, strings } = state;
  const actions = model.actions.map(({ action, label }) => {
    const button = h('vscode-button', { secondary: action !== 'download' && action !== 'retry', 'data-action': action }, label);
    button.addEventListener('click', () => send({ command: 'modelAction', action }));
    return button;
  });
  return h(
    'section',
    { class: `model model-${model.state}`, 'aria-labelledby': 'model-heading' },
    h('h2', { id: 'model-heading' }, strings.model ?? 'Model'),
    h('p', { class: 'model-text', role: 'status', 'aria-live': 'polite' }, model.text),
    model.percent !== undefined ? h('progress', { max: 100, value: model.percent.toFixed(1), 'aria-label': model.text }) : null,
    actions.length ? h('div', { class: 'actions' }, ...actions) : null,
  );
}

function probabilities(analysis: SideAnalysis): HTMLElement {
  return h(
    'table',
    { class: 'probabilities' },
    h('tbody', {}, ...analysis.labels.map(({ label, probability }) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, h('meter', { min: 0, max: 1, value: probability, 'aria-label': `${label} ${percent(probability)}` })), h('td', { class: 'num' }, percent(probability))))),
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
      return h('span', { class: `chip level-${level}`, role: 'listitem', title: percent(importance[index] ?? 0), 'aria-label': `${text}: ${percent(importance[index] ?? 0)}` }, text);
    }),
  );
}

function currentSection(state: SideStateMessage): HTMLElement {
  const { current, strings } = state;
  const heading = h('h2', { id: 'current-heading' }, strings.current ?? '');
  if (!current) return h('section', { class: 'current', 'aria-labelledby': 'current-heading' }, heading, h('p', { class: 'muted' }, strings.none ?? ''));
  return h(
    'section',
    { class: 'current', 'aria-labelledby': 'current-heading', 'data-analysis': current.id },
    heading,
    h('p', { class: 'sentiment' }, h('strong', { class: 'label' }, current.label), ' ', h('span', { class: 'muted' }, percent(current.probability))),
    current.stale ? h('p', { class: 'notice stale', role: 'status' }, strings.stale ?? '') : null,
    current.isTestModel ? h('p', { class: 'notice' }, strings.testModel ?? '') : null,
    h('p', { class: 'muted source' }, `${current.documentName}:${current.line} · “${current.preview}”`),
    probabilities(current),
    h('h3', {}, strings.importance ?? ''),
    current.importance ? importanceStrip(current.tokens, current.importance) : h('p', { class: 'muted' }, strings.noImportance ?? ''),
  );
}

function recentSection(state: SideStateMessage): HTMLElement | null {
  if (state.recent.length === 0) return null;
  return h(
    'section',
    { class: 'recent', 'aria-labelledby': 'recent-heading' },
    h('h2', { id: 'recent-heading' }, state.strings.recent ?? ''),
    h(
      'ul',
      {},
      ...state.recent.map((item) => {
        const button = h('button', { type: 'button', class: 'recent-item', 'data-analysis': item.id, title: state.strings.reopen ?? '' }, h('strong', {}, `${item.label} ${percent(item.probability)}`), ' ', h('span', { class: 'muted' }, `${item.documentName}:${item.line}${item.stale ? ' ⚠' : ''}`), h('span', { class: 'preview' }, item.preview));
        button.addEventListener('click', () => send({ command: 'openRecent', analysisId: item.id }));
        return h('li', {}, button);
      }),
    ),
  );
}

function render(state: SideStateMessage): void {
  const live = h('vscode-checkbox', { id: 'live-mode', checked: state.liveMode, label: state.strings.live ?? '' }) as HTMLElement & { checked: boolean };
  live.addEventListener('change', () => send({ command: 'setLiveMode', enabled: live.checked }));
  const analyze = h('vscode-button', { id: 'side-analyze' }, state.strings.analyze ?? '');
  analyze.addEventListener('click', () => send({ command: 'analyzeSelection' }));
  const panel = h('vscode-button', { id: 'side-panel', secondary: true }, state.strings.panel ?? '');
  panel.addEventListener('click', () => send({ command: 'showPanel' }));
  const sections: HTMLElement[] = [
    h('div', { class: 'actions' }, analyze, panel),
    h('div', { class: 'live' }, live, state.liveMode && state.liveStatus ? h('p', { class: 'muted live-status', role: 'status', 'aria-live': 'polite' }, state.liveStatus) : null),
    currentSection(state),
    modelSection(state),
  ];
  const recent = recentSection(state);
  if (recent) sections.push(recent);
  app.replaceChildren(...sections);
  app.setAttribute('aria-busy', 'false');
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = parseMessage(SideStateMessageSchema, event.data);
  if (!parsed.ok) {
    console.warn(`Attention Explorer: ignored a malformed message (${parsed.reason})`);
    return;
  }
  vscode.setState(parsed.value);
  render(parsed.value);
});

reportCspViolations((message) => vscode.postMessage(message));
const saved = parseMessage(SideStateMessageSchema, vscode.getState());
if (saved.ok) render(saved.value);
vscode.postMessage({ type: 'ready' });
