/**
 * The token table: every WordPiece token with its id and the characters of the document it came from. Clicking a
 * token selects it in the editor (the panel handles every `button.token` click).
 */
import * as l10n from '@vscode/l10n';
import { h } from '../shared/dom';
import { tokensCsv, type Exportable } from './exports';
import type { PanelContext, PanelView } from './panelContext';

export class TokensView implements PanelView {
  readonly tab = 'tokens';
  readonly title = l10n.t('Tokens');
  readonly needsAttention = false;
  readonly element = h('div', {});

  constructor(private readonly context: PanelContext) {}

  refresh(): void {
    const analysis = this.context.analysis;
    if (!analysis) return;
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
              title: l10n.t('Select this token in the editor'),
              'aria-label': l10n.t('Token {0}, characters {1} to {2}: select in editor', token.text, token.start, token.end),
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
        h('td', { class: 'source-text' }, token.special ? h('span', { class: 'muted' }, l10n.t('special token')) : slice),
      );
    });
    this.element.replaceChildren(
      h(
        'details',
        { class: 'tokens-section', open: analysis.tokens.length <= 64 },
        h('summary', {}, l10n.t('Tokens ({0})', analysis.tokens.length)),
        h(
          'table',
          { class: 'tokens', 'data-analysis-id': analysis.id },
          h('caption', {}, l10n.t('WordPiece tokens of the selection, with their character offsets [start, end) in the selected text')),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['#', l10n.t('Token'), l10n.t('Id'), l10n.t('Characters'), l10n.t('Text in document')].map((label) =>
                h('th', { scope: 'col' }, label),
              ),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
      ),
    );
  }

  redraw(): void {
    // A table: its colours follow the theme by themselves.
  }

  exportable(): Exportable | undefined {
    const analysis = this.context.analysis;
    return analysis ? { name: 'tokens', csv: () => tokensCsv(analysis), json: () => `${JSON.stringify(analysis.tokens)}\n` } : undefined;
  }
}
