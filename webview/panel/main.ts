/**
 * The attention panel's webview. It renders what the host sends, keeps it in `setState` so a reload restores it,
 * and asks the host (request/response) to reveal tokens in the editor.
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

const vscode = vscodeApi<PanelState>();
const app = document.getElementById('app') as HTMLElement;
const channel = new RequestChannel((message) => vscode.postMessage(message));

function toState(analysis: AnalysisView): PanelAnalysisState {
  return { ...analysis, tokens: decodeTokenTable(analysis.tokens) };
}

/** Shows a one-line status under the header; announced by screen readers. */
function setStatus(text: string): void {
  const status = document.getElementById('status');
  if (status) {
    status.textContent = text;
  }
}

function describeRange(analysis: PanelAnalysisState): string {
  const { source } = analysis;
  return `${source.documentName}, line ${source.startLine + 1}:${source.startCharacter + 1} – ${source.endLine + 1}:${source.endCharacter + 1}`;
}

function render(analysis: PanelAnalysisState | undefined): void {
  app.replaceChildren();
  app.setAttribute('aria-busy', 'false');
  if (!analysis) {
    app.append(h('p', { class: 'empty' }, 'Select text in an editor and run “Attention Explorer: Analyze Selection”.'));
    return;
  }
  const textTokens = analysis.tokens.filter((token) => !token.special).length;
  const rows = analysis.tokens.map((token, index) => {
    const slice = analysis.text.slice(token.start, token.end);
    const tokenCell = token.special
      ? h('span', { class: 'token special' }, token.text)
      : h(
          'button',
          {
            class: 'token',
            type: 'button',
            'data-index': index,
            title: 'Select this token in the editor',
            'aria-label': `Token ${token.text}, characters ${token.start} to ${token.end}: select in editor`,
          },
          token.text,
        );
    return h(
      'tr',
      { class: token.special ? 'special-row' : undefined },
      h('td', { class: 'num' }, String(index)),
      h('td', {}, tokenCell),
      h('td', { class: 'num' }, String(token.id)),
      h('td', { class: 'num' }, token.special ? '—' : `${token.start}–${token.end}`),
      h('td', { class: 'source-text' }, token.special ? h('span', { class: 'muted' }, 'special token') : slice),
    );
  });

  app.append(
    h(
      'header',
      {},
      h('h1', {}, 'Tokens'),
      h('p', { class: 'meta' }, `${describeRange(analysis)} · ${analysis.modelName} · ${textTokens} word pieces + ${analysis.tokens.length - textTokens} special · tokenized in ${analysis.timings.tokenizeMs.toFixed(1)} ms`),
      h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    ),
    h(
      'table',
      { class: 'tokens', 'data-analysis-id': analysis.id },
      h('caption', {}, `WordPiece tokens of the selection, with their character offsets [start, end) in the selected text`),
      h(
        'thead',
        {},
        h('tr', {}, ...['#', 'Token', 'Id', 'Characters', 'Text in document'].map((label) => h('th', { scope: 'col' }, label))),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}

let current: PanelAnalysisState | undefined;

function show(analysis: PanelAnalysisState | undefined): void {
  current = analysis;
  vscode.setState({ version: 1, analysis });
  render(analysis);
}

app.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.token');
  const index = Number(button?.dataset.index);
  if (!button || !current || !Number.isInteger(index)) {
    return;
  }
  channel
    .request({ kind: 'revealToken', analysisId: current.id, tokenIndex: index })
    .then((result) => setStatus(result.revealed ? `Selected “${current?.tokens[index]?.text ?? ''}” in the editor.` : ''))
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
    show(toState(message.analysis));
  } else {
    channel.settle(message);
  }
});

reportCspViolations((message) => vscode.postMessage(message));

const saved = parseMessage(PanelStateSchema, vscode.getState());
render(saved.ok ? saved.value.analysis : undefined);
current = saved.ok ? saved.value.analysis : undefined;
vscode.postMessage({ type: 'ready' });
