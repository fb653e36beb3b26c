/**
 * The prediction card: one line (what the model predicted and the model) that expands to the whole prediction, as
 * its task has it: every label's probability as a native meter (text classification), the entities and each token's
 * label (token classification), each mask's most probable tokens (fill-mask), or the pooled embedding's size and
 * norm (feature extraction: no prediction is invented). Then the model's shape and the timings. A test model says so
 * on that one line: its prediction means nothing, and the reader must never miss that.
 */
import * as l10n from '@vscode/l10n';
import {
  headlineOf,
  type Analysis,
  type FillMask,
  type TextClassification,
  type TextGeneration,
  type TokenClassification,
} from '../../src/shared/analysis';
import { formatPercent } from '../../src/shared/format';
import { h } from '../shared/dom';

/** What the card's buttons ask of the panel. */
export interface PredictionCardActions {
  /** Show the attention from this token (a mask, an entity's token): the heatmaps mark its row. */
  showToken(index: number): void;
}

function meterRow(label: string, probability: number): HTMLElement {
  return h(
    'tr',
    {},
    h('th', { scope: 'row' }, label),
    h('td', {}, h('meter', { min: 0, max: 1, value: probability, 'aria-label': l10n.t('{0} probability', label) })),
    h('td', { class: 'num' }, formatPercent(probability)),
  );
}

function columnHeads(titles: readonly string[]): HTMLElement {
  return h('thead', {}, h('tr', {}, ...titles.map((title) => h('th', { scope: 'col' }, title))));
}

function tokenButton(analysis: Analysis, index: number, actions: PredictionCardActions, text?: string): HTMLElement {
  const button = h(
    'button',
    { type: 'button', class: 'compact-button show-token', 'data-token': index, title: l10n.t('Show the attention from this token') },
    text ?? analysis.tokens[index]?.text ?? '?',
  );
  button.addEventListener('click', () => actions.showToken(index));
  return button;
}

function textClassificationBody(prediction: TextClassification): HTMLElement[] {
  return [
    h(
      'table',
      { class: 'probabilities' },
      h(
        'caption',
        {},
        prediction.multiLabel
          ? l10n.t('Probability of each label (multi-label: each on its own, by a sigmoid)')
          : l10n.t('Probability of each label'),
      ),
      h('tbody', {}, ...prediction.labels.map((label, index) => meterRow(label, prediction.probabilities[index] ?? 0))),
    ),
  ];
}

function tokenClassificationBody(analysis: Analysis, prediction: TokenClassification, actions: PredictionCardActions): HTMLElement[] {
  const entities =
    prediction.entities.length === 0
      ? h('p', { class: 'muted' }, l10n.t('No entities: every token is labelled O.'))
      : h(
          'table',
          { class: 'entities' },
          h('caption', {}, l10n.t('Entities, grouped as transformers.js does (aggregation “simple”)')),
          columnHeads([l10n.t('Entity'), l10n.t('Text'), l10n.t('Score')]),
          h(
            'tbody',
            {},
            ...prediction.entities.map((entity) =>
              h(
                'tr',
                { class: 'entity', 'data-label': entity.label },
                h('th', { scope: 'row' }, entity.label),
                h('td', {}, tokenButton(analysis, entity.tokens[0] ?? 0, actions, entity.word)),
                h('td', { class: 'num' }, formatPercent(entity.score)),
              ),
            ),
          ),
        );
  const perToken = h(
    'details',
    { class: 'token-labels' },
    h('summary', {}, l10n.t('Each token’s label')),
    h(
      'table',
      {},
      columnHeads([l10n.t('Token'), l10n.t('Label'), l10n.t('Probability')]),
      h(
        'tbody',
        {},
        ...prediction.tokens.flatMap((entry, index) =>
          entry.label < 0
            ? []
            : [
                h(
                  'tr',
                  { 'data-index': index },
                  h('th', { scope: 'row' }, tokenButton(analysis, index, actions)),
                  h('td', {}, prediction.labels[entry.label] ?? '?'),
                  h('td', { class: 'num' }, formatPercent(entry.probability)),
                ),
              ],
        ),
      ),
    ),
  );
  return [entities, perToken];
}

function fillMaskBody(analysis: Analysis, prediction: FillMask, actions: PredictionCardActions): HTMLElement[] {
  if (prediction.masks.length === 0) {
    return [
      h('p', { class: 'muted' }, l10n.t('The selection has no mask token: write the model’s mask token where a word should be predicted.')),
    ];
  }
  return prediction.masks.map((mask, position) =>
    h(
      'table',
      { class: 'mask-predictions', 'data-index': mask.index },
      h(
        'caption',
        {},
        l10n.t('Mask {0} of {1} (token {2}):', position + 1, prediction.masks.length, mask.index),
        ' ',
        tokenButton(analysis, mask.index, actions, l10n.t('show its attention')),
      ),
      h(
        'tbody',
        {},
        ...mask.top.map((candidate) =>
          meterRow(candidate.token.trim() === '' ? JSON.stringify(candidate.token) : candidate.token, candidate.probability),
        ),
      ),
    ),
  );
}

function textGenerationBody(prediction: TextGeneration): HTMLElement[] {
  return [
    h(
      'table',
      { class: 'probabilities next-token-card' },
      h('caption', {}, l10n.t('The most probable next tokens after the text (temperature 1; the Generate tab changes it and goes on)')),
      h('tbody', {}, ...prediction.next.map((candidate) => meterRow(JSON.stringify(candidate.token), candidate.probability))),
    ),
  ];
}

/** The card's one-line headline. */
function headline(analysis: Analysis): HTMLElement {
  const { prediction } = analysis;
  if (prediction.task === 'none') {
    return h('h2', {}, h('span', { class: 'label' }, l10n.t('Attention only')));
  }
  if (prediction.task === 'feature-extraction') {
    return h(
      'h2',
      {},
      h('span', { class: 'label' }, l10n.t('Embedding')),
      ' ',
      h('span', { class: 'probability' }, l10n.t('{0} dimensions, norm {1}', prediction.dimensions, prediction.norm.toFixed(3))),
    );
  }
  if (prediction.task === 'token-classification') {
    const types = [...new Set(prediction.entities.map((entity) => entity.label))];
    return h(
      'h2',
      {},
      h('span', { class: 'label' }, types.length > 0 ? types.join(', ') : l10n.t('no entities')),
      ' ',
      h('span', { class: 'probability' }, l10n.t('{0} entities', prediction.entities.length)),
    );
  }
  const line = headlineOf(prediction);
  return h(
    'h2',
    {},
    prediction.task === 'fill-mask' && line ? h('span', { class: 'mask-arrow' }, l10n.t('mask →')) : null,
    prediction.task === 'text-generation' && line ? h('span', { class: 'mask-arrow' }, l10n.t('next →')) : null,
    line ? ' ' : null,
    h(
      'span',
      { class: 'label' },
      prediction.task === 'text-generation' && line ? JSON.stringify(line.label) : (line?.label ?? l10n.t('no mask token')),
    ),
    ' ',
    line?.probability !== undefined ? h('span', { class: 'probability' }, formatPercent(line.probability)) : null,
  );
}

export function renderPredictionCard(analysis: Analysis, open: boolean, actions: PredictionCardActions): HTMLDetailsElement {
  const textTokens = analysis.tokens.filter((token) => !token.special).length;
  const testModelWarning = l10n.t(
    'Test model with random weights: this prediction means nothing. It exercises the same code as the real model.',
  );
  const { prediction } = analysis;
  const body =
    prediction.task === 'text-classification'
      ? textClassificationBody(prediction)
      : prediction.task === 'token-classification'
        ? tokenClassificationBody(analysis, prediction, actions)
        : prediction.task === 'fill-mask'
          ? fillMaskBody(analysis, prediction, actions)
          : prediction.task === 'text-generation'
            ? textGenerationBody(prediction)
            : prediction.task === 'none'
              ? [
                  h(
                    'p',
                    {},
                    l10n.t(
                      'These maps were written by the model elsewhere (a notebook or an attention file) and are shown as they are; there is no model here to predict, explain or generate with.',
                    ),
                  ),
                ]
              : [
                  h(
                    'p',
                    {},
                    l10n.t(
                      'A sentence-embedding model predicts nothing: the card shows its {0}-pooled embedding ({1} dimensions, L2 norm {2}); the attention is its own.',
                      prediction.pooling,
                      prediction.dimensions,
                      prediction.norm.toFixed(4),
                    ),
                  ),
                ];
  return h(
    'details',
    // Focusable so that Explain Prediction can bring the reader (and a screen reader) here.
    { class: 'prediction', id: 'prediction', 'data-task': prediction.task, tabindex: -1, 'aria-label': l10n.t('Prediction'), open },
    h(
      'summary',
      {},
      headline(analysis),
      h('span', { class: 'card-model' }, `${analysis.model.name} · ${analysis.model.dtype}`),
      analysis.model.isTestModel ? h('span', { class: 'badge warning', title: testModelWarning }, l10n.t('random weights')) : null,
      analysis.truncation ? h('span', { class: 'badge' }, l10n.t('truncated')) : null,
    ),
    analysis.model.isTestModel ? h('p', { class: 'notice warning', role: 'note' }, testModelWarning) : null,
    ...body,
    h(
      'p',
      { class: 'meta' },
      l10n.t(
        '{0} · {1} · {2} · {3} layers × {4} heads · {5} tokens + {6} special · tokenize {7} ms, model {8} ms, total {9} ms',
        analysis.model.name,
        analysis.model.dtype,
        analysis.model.task,
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
            'Truncated: the selection has {0} tokens; the model read the first {1} (characters 0–{2}).',
            analysis.truncation.textTokens,
            analysis.truncation.keptTextTokens,
            analysis.truncation.analysedEnd,
          ),
        )
      : null,
  );
}
