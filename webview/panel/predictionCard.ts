/**
 * The prediction card: one line (the label, its probability, the model) that expands to every label's probability
 * as a native meter, the model's shape and the timings. A test model says so on that one line: its prediction means
 * nothing, and the reader must never miss that.
 */
import * as l10n from '@vscode/l10n';
import { argmax } from '../../src/engine/argmax';
import type { Analysis } from '../../src/shared/analysis';
import { formatPercent } from '../../src/shared/format';
import { h } from '../shared/dom';

export function renderPredictionCard(analysis: Analysis, open: boolean): HTMLDetailsElement {
  const { labels, probabilities } = analysis.sentiment;
  const best = argmax(probabilities);
  const textTokens = analysis.tokens.filter((token) => !token.special).length;
  const testModelWarning = l10n.t(
    'Test model with random weights: this prediction means nothing. It exercises the same code as the real model.',
  );
  const card = h(
    'details',
    // Focusable so that Explain Sentiment can bring the reader (and a screen reader) here.
    { class: 'sentiment', id: 'sentiment', tabindex: -1, 'aria-label': l10n.t('Prediction'), open },
    h(
      'summary',
      {},
      h(
        'h2',
        {},
        h('span', { class: 'label' }, labels[best] ?? '?'),
        ' ',
        h('span', { class: 'probability' }, formatPercent(probabilities[best] ?? 0)),
      ),
      h('span', { class: 'card-model' }, `${analysis.model.name} · ${analysis.model.dtype}`),
      analysis.model.isTestModel ? h('span', { class: 'badge warning', title: testModelWarning }, l10n.t('random weights')) : null,
      analysis.truncation ? h('span', { class: 'badge' }, l10n.t('truncated')) : null,
    ),
    analysis.model.isTestModel ? h('p', { class: 'notice warning', role: 'note' }, testModelWarning) : null,
    h(
      'table',
      { class: 'probabilities' },
      h('caption', {}, l10n.t('Probability of each label')),
      h(
        'tbody',
        {},
        ...labels.map((label, index) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, label),
            h('td', {}, h('meter', { min: 0, max: 1, value: probabilities[index] ?? 0, 'aria-label': l10n.t('{0} probability', label) })),
            h('td', { class: 'num' }, formatPercent(probabilities[index] ?? 0)),
          ),
        ),
      ),
    ),
    h(
      'p',
      { class: 'meta' },
      l10n.t(
        '{0} · {1} · {2} layers × {3} heads · {4} word pieces + {5} special · tokenize {6} ms, model {7} ms, total {8} ms',
        analysis.model.name,
        analysis.model.dtype,
        analysis.model.layers,
        analysis.model.heads,
        textTokens,
        analysis.tokens.length - textTokens,
        analysis.timings.tokenizeMs.toFixed(1),
        analysis.timings.inferenceMs.toFixed(0),
        analysis.timings.totalMs.toFixed(0),
      ),
    ),
    analysis.truncation
      ? h(
          'p',
          { class: 'notice', role: 'note' },
          l10n.t(
            'Truncated: the selection has {0} word pieces; the model read the first {1} (characters 0–{2}).',
            analysis.truncation.textTokens,
            analysis.truncation.keptTextTokens,
            analysis.truncation.analysedEnd,
          ),
        )
      : null,
  );
  return card;
}
