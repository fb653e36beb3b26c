/**
 * Compare: the shown analysis (A) against another (B): sentiment side by side, the difference of a per-head statistic
 * for every head, and one head's attention difference over the tokens the two texts share (aligned in order).
 */
import type { AnalysisListEntry, HeadStatisticsView, WebviewRequestResults } from '../../src/shared/protocol';
import { h } from '../shared/dom';
import { deltaClass } from './explainView';
import { HeatmapCanvas } from './heatmapCanvas';
import type { HostApi } from './hostApi';
import type { PanelContext } from './panelContext';

type Statistic = 'meanEntropy' | 'toCls' | 'toSep' | 'toPunctuation' | 'toPrevious' | 'toNext';
const STATISTICS: Array<[Statistic, string]> = [
  ['meanEntropy', 'Mean entropy (nats)'],
  ['toCls', 'Attention to [CLS]'],
  ['toSep', 'Attention to [SEP]'],
  ['toPunctuation', 'Attention to punctuation'],
  ['toPrevious', 'Attention to the previous token'],
  ['toNext', 'Attention to the next token'],
];

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export class CompareView {
  readonly element: HTMLElement;
  readonly heatmap = new HeatmapCanvas({ ariaLabel: 'Attention difference, A minus B', className: 'focus-canvas', zoomable: true, diverging: true });
  private readonly otherSelect = h('vscode-single-select', { id: 'compare-other', 'aria-label': 'Compare with' }) as HTMLElement & { value: string };
  private readonly statisticSelect = h('vscode-single-select', { id: 'compare-statistic', 'aria-label': 'Statistic' }) as HTMLElement & { value: string };
  private readonly headSelect = h('vscode-single-select', { id: 'compare-head', 'aria-label': 'Head' }) as HTMLElement & { value: string };
  private readonly sentiments = h('div', { id: 'compare-sentiment' });
  private readonly statistics = h('div', { id: 'compare-statistics' });
  private readonly alignment = h('p', { class: 'meta', id: 'compare-alignment' });
  private result: WebviewRequestResults['compare'] | undefined;

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.otherSelect.addEventListener('change', () => this.context.update({ compare: { ...this.context.view.compare, otherId: this.otherSelect.value } }));
    this.statisticSelect.addEventListener('change', () => {
      this.context.update({ compare: { ...this.context.view.compare, statistic: this.statisticSelect.value as Statistic } }, { reload: false });
      this.renderStatistics();
    });
    this.headSelect.addEventListener('change', () => {
      const [layer, head] = this.headSelect.value.split('.').map(Number);
      this.context.update({ layer: layer!, head: head! });
    });
    this.element = h(
      'div',
      { class: 'compare-view' },
      h('div', { class: 'controls' }, h('label', { for: 'compare-other' }, 'Compare with'), this.otherSelect),
      h('h3', {}, 'Sentiment'),
      this.sentiments,
      h('h3', {}, 'Per-head statistics: B − A'),
      h('div', { class: 'controls' }, h('label', { for: 'compare-statistic' }, 'Statistic'), this.statisticSelect),
      this.statistics,
      h('h3', {}, 'Attention difference for one head: A − B'),
      h('div', { class: 'controls' }, h('label', { for: 'compare-head' }, 'Head'), this.headSelect),
      this.alignment,
      this.heatmap.element,
    );
  }

  get current(): WebviewRequestResults['compare'] | undefined {
    return this.result;
  }

  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    const { analyses } = await this.api.request({ kind: 'recentAnalyses' });
    const others = analyses.filter((entry) => entry.id !== analysis.id);
    const otherId = others.some((entry) => entry.id === view.compare.otherId) ? view.compare.otherId! : others[0]?.id;
    this.otherSelect.replaceChildren(...others.map((entry) => h('vscode-option', { value: entry.id, selected: entry.id === otherId }, `${entry.preview} — ${entry.documentName}`)));
    this.statisticSelect.replaceChildren(...STATISTICS.map(([key, label]) => h('vscode-option', { value: key, selected: key === view.compare.statistic }, label)));
    const { layers, heads } = analysis.model;
    this.headSelect.replaceChildren(
      ...Array.from({ length: layers * heads }, (_, index) => {
        const layer = Math.floor(index / heads);
        const head = index % heads;
        return h('vscode-option', { value: `${layer}.${head}`, selected: layer === view.layer && head === view.head }, `Layer ${layer + 1}, head ${head + 1}`);
      }),
    );
    if (!otherId) {
      this.result = undefined;
      this.sentiments.replaceChildren(h('p', { class: 'empty' }, 'Analyse a second selection to compare it with this one (or select two passages and run Compare Selections).'));
      this.statistics.replaceChildren();
      this.alignment.textContent = '';
      return;
    }
    this.otherSelect.value = otherId;
    const result = await this.api.request({ kind: 'compare', analysisId: analysis.id, otherId, layer: view.layer, head: view.head });
    this.result = result;
    this.renderSentiment(result.a, result.b);
    this.renderStatistics();
    const m = result.labels.length;
    this.alignment.textContent = `${m} tokens align (same text, in order) out of ${analysis.tokens.length} in A; rows and columns below are those tokens. Red: A attends more; blue: B attends more.`;
    if (m > 0) this.heatmap.show({ map: new Float32Array(result.difference), labels: result.labels, caption: `A − B, layer ${view.layer + 1}, head ${view.head + 1}` });
  }

  private renderSentiment(a: AnalysisListEntry, b: AnalysisListEntry): void {
    const labels = a.sentiment.labels;
    this.sentiments.replaceChildren(
      h(
        'table',
        { class: 'compare-sentiment' },
        h('caption', {}, `A: “${a.preview}” · B: “${b.preview}”`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'A'), h('th', { scope: 'col' }, 'B'), h('th', { scope: 'col' }, 'B − A'))),
        h(
          'tbody',
          {},
          ...labels.map((label, index) => {
            const pa = a.sentiment.probabilities[index] ?? 0;
            const pb = b.sentiment.probabilities[index] ?? 0;
            return h('tr', {}, h('th', { scope: 'row' }, label), h('td', { class: 'num' }, percent(pa)), h('td', { class: 'num' }, percent(pb)), h('td', { class: `num ${deltaClass(pb - pa, 1)}` }, `${pb >= pa ? '+' : '−'}${Math.abs((pb - pa) * 100).toFixed(1)}`));
          }),
        ),
      ),
    );
  }

  private renderStatistics(): void {
    const result = this.result;
    const analysis = this.context.analysis;
    if (!result || !analysis) return;
    const statistic = this.context.view.compare.statistic;
    const { layers, heads } = analysis.model;
    const value = (list: HeadStatisticsView[], layer: number, head: number) => list.find((entry) => entry.layer === layer && entry.head === head)?.[statistic] ?? 0;
    const differences = Array.from({ length: layers }, (_, layer) => Array.from({ length: heads }, (_, head) => value(result.statisticsB, layer, head) - value(result.statisticsA, layer, head)));
    const maxAbs = Math.max(...differences.flat().map(Math.abs), 0);
    this.statistics.replaceChildren(
      h(
        'table',
        { class: 'head-grid compare-grid' },
        h('caption', {}, `${STATISTICS.find(([key]) => key === statistic)?.[1] ?? statistic}: B − A for each head`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), ...Array.from({ length: heads }, (_, head) => h('th', { scope: 'col' }, `H${head + 1}`)))),
        h(
          'tbody',
          {},
          ...differences.map((row, layer) =>
            h('tr', {}, h('th', { scope: 'row' }, `Layer ${layer + 1}`), ...row.map((difference, head) => h('td', { class: `num ${deltaClass(difference, maxAbs)}`, title: `Layer ${layer + 1}, head ${head + 1}: A ${value(result.statisticsA, layer, head).toFixed(3)}, B ${value(result.statisticsB, layer, head).toFixed(3)}` }, difference.toFixed(3)))),
          ),
        ),
      ),
    );
  }
}
