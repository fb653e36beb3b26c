/**
 * The token table: every WordPiece token with its id and the characters of the document it came from. Clicking a
 * token selects it in the editor.
 */
import type { PanelAnalysisState } from '../../src/shared/protocol';
import { h } from '../shared/dom';

export function renderTokens(analysis: PanelAnalysisState): HTMLElement {
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
  return h(
    'details',
    { class: 'tokens-section', open: analysis.tokens.length <= 64 },
    h('summary', {}, `Tokens (${analysis.tokens.length})`),
    h(
      'table',
      { class: 'tokens', 'data-analysis-id': analysis.id },
      h('caption', {}, 'WordPiece tokens of the selection, with their character offsets [start, end) in the selected text'),
      h('thead', {}, h('tr', {}, ...['#', 'Token', 'Id', 'Characters', 'Text in document'].map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, ...rows),
    ),
  );
}
