/**
 * The sentiment card: the predicted label, every label's probability as a native meter, the model and timings.
 */
import type { PanelAnalysisState } from '../../src/shared/protocol';
import { h } from '../shared/dom';

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function renderSentiment(analysis: PanelAnalysisState): HTMLElement {
  const { labels, probabilities } = analysis.sentiment;
  const best = probabilities.indexOf(Math.max(...probabilities));
  const textTokens = analysis.tokens.filter((token) => !token.special).length;
  return h(
    'section',
    // Focusable so that Explain Sentiment can bring the reader (and a screen reader) here.
    { class: 'sentiment', id: 'sentiment', tabindex: -1, 'aria-label': 'Prediction' },
    h('h2', {}, h('span', { class: 'label' }, labels[best] ?? '?'), ' ', h('span', { class: 'probability' }, percent(probabilities[best] ?? 0))),
    analysis.model.isTestModel
      ? h('p', { class: 'notice warning', role: 'note' }, 'Test model with random weights: this prediction means nothing. It exercises the same code as the real model.')
      : null,
    h(
      'table',
      { class: 'probabilities' },
      h('caption', {}, 'Probability of each label'),
      h(
        'tbody',
        {},
        ...labels.map((label, index) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, label),
            h('td', {}, h('meter', { min: 0, max: 1, value: probabilities[index] ?? 0, 'aria-label': `${label} probability` })),
            h('td', { class: 'num' }, percent(probabilities[index] ?? 0)),
          ),
        ),
      ),
    ),
    h(
      'p',
      { class: 'meta' },
      `${analysis.model.name} · ${analysis.model.dtype} · ${analysis.model.layers} layers × ${analysis.model.heads} heads · ${textTokens} word pieces + ${analysis.tokens.length - textTokens} special · tokenize ${analysis.timings.tokenizeMs.toFixed(1)} ms, model ${analysis.timings.inferenceMs.toFixed(0)} ms, total ${analysis.timings.totalMs.toFixed(0)} ms`,
    ),
    analysis.truncation
      ? h('p', { class: 'notice', role: 'note' }, `Truncated: the selection has ${analysis.truncation.textTokens} word pieces; the model read the first ${analysis.truncation.keptTextTokens} (characters 0–${analysis.truncation.analysedEnd}).`)
      : null,
  );
}
