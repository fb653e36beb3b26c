/**
 * Compare: the shown analysis (A) against another (B): predictions side by side, the difference of a per-head statistic
 * for every head, and one head's attention difference over the tokens the two texts share (aligned in order).
 */
import * as l10n from '@vscode/l10n';
import type { HeadStatistics } from '../../src/engine/statistics';
import { headlineOf, predictionRowsOf, type AnalysisListEntry } from '../../src/shared/analysis';
import type { Comparison } from '../../src/shared/analysisViews';
import { formatPercent } from '../../src/shared/format';
import { deltaClass } from '../shared/colorScale';
import { h } from '../shared/dom';
import { mapCsv, mapJson, type Exportable } from './exports';
import { HeatmapCanvas } from './heatmapCanvas';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';

type Statistic = 'meanEntropy' | 'toCls' | 'toSep' | 'toPunctuation' | 'toPrevious' | 'toNext';
const STATISTICS: Array<[Statistic, () => string]> = [
  ['meanEntropy', () => l10n.t('Mean entropy (nats)')],
  ['toCls', () => l10n.t('Attention to [CLS]')],
  ['toSep', () => l10n.t('Attention to [SEP]')],
  ['toPunctuation', () => l10n.t('Attention to punctuation')],
  ['toPrevious', () => l10n.t('Attention to the previous token')],
  ['toNext', () => l10n.t('Attention to the next token')],
];

export class CompareView implements PanelView {
  readonly tab = 'compare';
  readonly title = l10n.t('Compare');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly heatmap = new HeatmapCanvas({
    ariaLabel: l10n.t('Attention difference, A minus B'),
    className: 'focus-canvas',
    zoomable: true,
    diverging: true,
  });
  private readonly otherSelect = h('vscode-single-select', { id: 'compare-other', 'aria-label': l10n.t('Compare with') }) as HTMLElement & {
    value: string;
  };
  private readonly statisticSelect = h('vscode-single-select', {
    id: 'compare-statistic',
    'aria-label': l10n.t('Statistic'),
  }) as HTMLElement & { value: string };
  private readonly headSelect = h('vscode-single-select', { id: 'compare-head', 'aria-label': l10n.t('Head') }) as HTMLElement & {
    value: string;
  };
  private readonly predictions = h('div', { id: 'compare-prediction' });
  private readonly statistics = h('div', { id: 'compare-statistics' });
  private readonly alignment = h('p', { class: 'meta', id: 'compare-alignment' });
  private result: Comparison | undefined;

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.otherSelect.addEventListener('change', () =>
      this.context.update({ compare: { ...this.context.view.compare, otherId: this.otherSelect.value } }),
    );
    this.statisticSelect.addEventListener('change', () => {
      this.context.update(
        { compare: { ...this.context.view.compare, statistic: this.statisticSelect.value as Statistic } },
        { reload: false },
      );
      this.renderStatistics();
    });
    this.headSelect.addEventListener('change', () => {
      const [layer = 0, head = 0] = this.headSelect.value.split('.').map(Number);
      this.context.update({ layer, head });
    });
    this.element = h(
      'div',
      { class: 'compare-view' },
      h('div', { class: 'controls' }, h('label', { for: 'compare-other' }, l10n.t('Compare with')), this.otherSelect),
      h('h3', {}, l10n.t('Sentiment')),
      this.predictions,
      h('h3', {}, l10n.t('Per-head statistics: B − A')),
      h('div', { class: 'controls' }, h('label', { for: 'compare-statistic' }, l10n.t('Statistic')), this.statisticSelect),
      this.statistics,
      h('h3', {}, l10n.t('Attention difference for one head: A − B')),
      h('div', { class: 'controls' }, h('label', { for: 'compare-head' }, l10n.t('Head')), this.headSelect),
      this.alignment,
      this.heatmap.element,
    );
  }

  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    const { analyses } = await this.api.request('recentAnalyses', {});
    const others = analyses.filter((entry) => entry.id !== analysis.id);
    const otherId = others.some((entry) => entry.id === view.compare.otherId) ? view.compare.otherId! : others[0]?.id;
    this.otherSelect.replaceChildren(
      ...others.map((entry) =>
        h('vscode-option', { value: entry.id, selected: entry.id === otherId }, `${entry.preview} — ${entry.documentName}`),
      ),
    );
    this.statisticSelect.replaceChildren(
      ...STATISTICS.map(([key, label]) => h('vscode-option', { value: key, selected: key === view.compare.statistic }, label())),
    );
    const { layers, heads } = analysis.model;
    this.headSelect.replaceChildren(
      ...Array.from({ length: layers * heads }, (_, index) => {
        const layer = Math.floor(index / heads);
        const head = index % heads;
        return h(
          'vscode-option',
          { value: `${layer}.${head}`, selected: layer === view.layer && head === view.head },
          l10n.t('Layer {0}, head {1}', layer + 1, head + 1),
        );
      }),
    );
    const a = analyses.find((entry) => entry.id === analysis.id);
    const b = others.find((entry) => entry.id === otherId);
    if (!otherId || !a || !b) {
      this.result = undefined;
      this.predictions.replaceChildren(
        h(
          'p',
          { class: 'empty' },
          l10n.t('Analyse a second selection to compare it with this one (or select two passages and run Compare Selections).'),
        ),
      );
      this.statistics.replaceChildren();
      this.alignment.textContent = '';
      return;
    }
    this.otherSelect.value = otherId;
    const result = await this.api.request('compare', { analysisId: analysis.id, otherId, layer: view.layer, head: view.head });
    this.result = result;
    this.renderPredictions(a, b);
    this.renderStatistics();
    const m = result.labels.length;
    this.alignment.textContent = l10n.t(
      '{0} tokens align (same text, in order) out of {1} in A; rows and columns below are those tokens. Red: A attends more; blue: B attends more.',
      m,
      analysis.tokens.length,
    );
    if (m > 0)
      this.heatmap.show({
        map: result.difference,
        labels: result.labels,
        caption: l10n.t('A − B, layer {0}, head {1}', view.layer + 1, view.head + 1),
      });
  }

  redraw(): void {
    this.heatmap.draw();
  }

  exportable(): Exportable | undefined {
    const data = this.heatmap.current;
    const { analysis, view } = this.context;
    if (!data || !analysis) return undefined;
    const meta = { model: analysis.model.name, layer: view.layer + 1, head: view.head + 1, difference: 'A - B', pairs: this.result?.pairs };
    return {
      name: `attention-difference-layer${view.layer + 1}-head${view.head + 1}`,
      png: () => this.heatmap.toPng(),
      csv: () => mapCsv(data),
      json: () => mapJson(data, meta),
    };
  }

  /** Both predictions side by side, with the model each side ran; a label-by-label difference when they share labels. */
  private renderPredictions(a: AnalysisListEntry, b: AnalysisListEntry): void {
    const rowsA = predictionRowsOf(a.prediction);
    const rowsB = predictionRowsOf(b.prediction);
    const sameLabels =
      a.prediction.task === 'text-classification' &&
      b.prediction.task === 'text-classification' &&
      a.prediction.labels.join('\u0000') === b.prediction.labels.join('\u0000');
    const caption = h(
      'caption',
      {},
      l10n.t('A: “{0}” · B: “{1}”', a.preview, b.preview),
      h('br', {}),
      h('span', { class: 'compare-models' }, l10n.t('A ran {0} · B ran {1}', a.modelName, b.modelName)),
    );
    const signed = (delta: number) => `${delta >= 0 ? '+' : '−'}${Math.abs(delta * 100).toFixed(1)}`;
    const table = sameLabels
      ? h(
          'table',
          { class: 'compare-prediction' },
          caption,
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, l10n.t('Label')),
              h('th', { scope: 'col' }, 'A'),
              h('th', { scope: 'col' }, 'B'),
              h('th', { scope: 'col' }, 'B − A'),
            ),
          ),
          h(
            'tbody',
            {},
            ...rowsA.map((row, index) => {
              const pb = rowsB[index]?.probability ?? 0;
              return h(
                'tr',
                {},
                h('th', { scope: 'row' }, row.label),
                h('td', { class: 'num' }, formatPercent(row.probability)),
                h('td', { class: 'num' }, formatPercent(pb)),
                h('td', { class: `num ${deltaClass(pb - row.probability, 1)}` }, signed(pb - row.probability)),
              );
            }),
          ),
        )
      : h(
          'table',
          { class: 'compare-prediction' },
          caption,
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, l10n.t('A: {0}', headlineOf(a.prediction)?.label ?? a.prediction.task)),
              h('th', { scope: 'col' }, l10n.t('B: {0}', headlineOf(b.prediction)?.label ?? b.prediction.task)),
            ),
          ),
          h(
            'tbody',
            {},
            ...Array.from({ length: Math.max(rowsA.length, rowsB.length) }, (_, index) => {
              const cell = (row: { label: string; probability: number } | undefined) =>
                h('td', {}, row ? `${row.label} ${formatPercent(row.probability)}` : '');
              return h('tr', {}, cell(rowsA[index]), cell(rowsB[index]));
            }),
          ),
        );
    this.predictions.replaceChildren(table);
  }

  private renderStatistics(): void {
    const result = this.result;
    const analysis = this.context.analysis;
    if (!result || !analysis) return;
    const statistic = this.context.view.compare.statistic;
    const { layers, heads } = analysis.model;
    const value = (list: HeadStatistics[], layer: number, head: number) =>
      list.find((entry) => entry.layer === layer && entry.head === head)?.[statistic] ?? 0;
    const differences = Array.from({ length: layers }, (_, layer) =>
      Array.from({ length: heads }, (_, head) => value(result.statisticsB, layer, head) - value(result.statisticsA, layer, head)),
    );
    const maxAbs = Math.max(...differences.flat().map(Math.abs), 0);
    const title = STATISTICS.find(([key]) => key === statistic)?.[1]() ?? statistic;
    this.statistics.replaceChildren(
      h(
        'table',
        { class: 'head-grid compare-grid' },
        h('caption', {}, l10n.t('{0}: B − A for each head', title)),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, ''),
            ...Array.from({ length: heads }, (_, head) => h('th', { scope: 'col' }, l10n.t('H{0}', head + 1))),
          ),
        ),
        h(
          'tbody',
          {},
          ...differences.map((row, layer) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, l10n.t('Layer {0}', layer + 1)),
              ...row.map((difference, head) =>
                h(
                  'td',
                  {
                    class: `num ${deltaClass(difference, maxAbs)}`,
                    title: l10n.t(
                      'Layer {0}, head {1}: A {2}, B {3}',
                      layer + 1,
                      head + 1,
                      value(result.statisticsA, layer, head).toFixed(3),
                      value(result.statisticsB, layer, head).toFixed(3),
                    ),
                  },
                  difference.toFixed(3),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
}
