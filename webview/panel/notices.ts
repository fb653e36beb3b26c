/**
 * The notices above the views when the attention shown is not the document's: the text was edited after it was
 * analysed, or the tensors are gone (a window reload). Each offers to analyse the text again, except for maps that
 * came from a file or a notebook, which are opened again instead.
 */
import * as l10n from '@vscode/l10n';
import { h } from '../shared/dom';

export function staleNotice(reanalyze: () => void): HTMLElement {
  const again = h('vscode-button', { id: 'reanalyze-stale', secondary: true }, l10n.t('Analyze the edited text'));
  again.addEventListener('click', reanalyze);
  return h(
    'div',
    { class: 'notice warning stale', role: 'status' },
    h('p', {}, l10n.t('The text was edited after it was analysed: these weights describe the text as it was.')),
    again,
  );
}

export function missingAttentionNotice(reanalyze: () => void): HTMLElement {
  const again = h('vscode-button', { id: 'reanalyze' }, l10n.t('Analyze again'));
  again.addEventListener('click', reanalyze);
  return h(
    'div',
    { class: 'notice' },
    h('p', {}, l10n.t('The attention tensors are not kept across window reloads (they are large).')),
    again,
  );
}

/** The tensors of maps from a file or a notebook are gone (a window reload): there is no text to analyse, only the file. */
export function externalAttentionNotice(documentName: string): HTMLElement {
  return h(
    'div',
    { class: 'notice' },
    h(
      'p',
      {},
      l10n.t(
        'The attention tensors are not kept across window reloads (they are large). Open the file again to see these maps ({0}; for a notebook, use Open in Attention Explorer on its output).',
        documentName,
      ),
    ),
  );
}
