/**
 * Aggregates: one map per layer (mean or max over its heads, rollout up to it) or for the whole model (flow), the
 * entropy of every head as a small chart, and the per-head statistics Clark et al. use to name what heads do.
 */
import type { HeadStatisticsView } from '../../src/shared/protocol';
import { colorIndexer } from '../shared/colorScale';
import { h } from '../shared/dom';
import { HeatmapCanvas } from './heatmapCanvas';
import type { HostApi } from './hostApi';
import type { PanelContext } from './panelContext';

const KINDS = [
  ['mean', 'Mean over heads'],
  ['max', 'Max over heads'],
  ['rollout', 'Rollout (up to this layer)'],
  ['flow', 'Flow (all layers)'],
] as const;

/** Full attention flow costs n² maximum flows; the worker refuses it above this many tokens. */
const FLOW_TOKEN_LIMIT = 40;

type SortKey = 'head' | 'toCls' | 'toSep' | 'toPunctuation' | 'toPrevious' | 'toNext' | 'meanEntropy';

export class AggregatesView {
  readonly element: HTMLElement;
  readonly heatmap = new HeatmapCanvas({ ariaLabel: 'Aggregated attention', className: 'focus-canvas', zoomable: true });
  private readonly kindSelect: HTMLElement & { value: string };
  private readonly layerSelect: HTMLElement & { value: string };
  private readonly entropyChart: HTMLElement;
  private readonly statistics: HTMLElement;
  private stats: HeadStatisticsView[] = [];
  private sort: SortKey = 'head';

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.kindSelect = h('vscode-single-select', { id: 'aggregate-kind', 'aria-label': 'Aggregate' }) as HTMLElement & { value: string };
    this.layerSelect = h('vscode-single-select', { id: 'aggregate-layer', 'aria-label': 'Layer' }) as HTMLElement & { value: string };
    this.kindSelect.addEventListener('change', () => this.context.update({ aggregate: this.kindSelect.value as 'mean' | 'max' | 'rollout' | 'flow' }));
    this.layerSelect.addEventListener('change', () => this.context.update({ layer: Number(this.layerSelect.value) }));
    this.entropyChart = h('div', { class: 'entropy-chart' });
    this.statistics = h('div', { class: 'head-statistics' });
    this.element = h(
      'div',
      { class: 'aggregates-view' },
      h('div', { class: 'controls' }, h('label', { for: 'aggregate-kind' }, 'Aggregate'), this.kindSelect, h('label', { for: 'aggregate-layer' }, 'Layer'), this.layerSelect),
      h('p', { class: 'meta', id: 'aggregate-explanation' }),
      this.heatmap.element,
      h('h3', {}, 'Entropy of each head'),
      h('p', { class: 'meta' }, 'Mean entropy of a head\'s rows, in nats: 0 = every token attends to one token; ln n = attention spread evenly (broad heads).'),
      this.entropyChart,
      h('h3', {}, 'What each head attends to'),
      h('p', { class: 'meta' }, 'Share of attention, averaged over tokens (Clark et al., 2019). Click a column to sort; click a head to open it.'),
      this.statistics,
    );
  }

  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    const n = analysis.tokens.length;
    this.kindSelect.replaceChildren(
      ...KINDS.map(([kind, label]) => h('vscode-option', { value: kind, selected: kind === view.aggregate, disabled: kind === 'flow' && n > FLOW_TOKEN_LIMIT }, kind === 'flow' && n > FLOW_TOKEN_LIMIT ? `${label}: up to ${FLOW_TOKEN_LIMIT} tokens` : label)),
    );
    this.kindSelect.value = view.aggregate;
    this.layerSelect.replaceChildren(...Array.from({ length: analysis.model.layers }, (_, index) => h('vscode-option', { value: index, selected: index === view.layer }, `Layer ${index + 1}`)));
    this.layerSelect.value = String(view.layer);
    this.layerSelect.toggleAttribute('disabled', view.aggregate === 'flow');
    const explanation = document.getElementById('aggregate-explanation');
    if (explanation) {
      explanation.textContent = {
        mean: 'The average of the layer\'s heads.',
        max: 'For each pair, the strongest of the layer\'s heads.',
        rollout: 'Attention rollout (Abnar & Zuidema, 2020): attention plus the residual connection, multiplied through the layers up to this one. Row i: how much each input token reaches token i.',
        flow: 'Attention flow (Abnar & Zuidema, 2020): the maximum flow through the layers from each output token to each input token, rows normalised.',
      }[view.aggregate];
    }
    if (view.aggregate === 'flow' && n > FLOW_TOKEN_LIMIT) {
      this.context.setStatus(`Attention flow is offered up to ${FLOW_TOKEN_LIMIT} tokens; this analysis has ${n}. Showing rollout instead.`);
      this.context.update({ aggregate: 'rollout' });
      return;
    }
    const { labels, map } = await this.api.aggregate(analysis.id, view.aggregate, view.aggregate === 'flow' ? analysis.model.layers - 1 : view.layer, this.context.options);
    const caption = view.aggregate === 'flow' ? 'attention flow' : `layer ${view.layer + 1}, ${KINDS.find(([kind]) => kind === view.aggregate)![1].toLowerCase()}`;
    this.heatmap.setScale(this.context.scale);
    this.heatmap.show({ map, labels, caption });
    this.stats = (await this.api.request({ kind: 'headStats', analysisId: analysis.id })).heads;
    this.renderEntropy();
    this.renderStatistics();
  }

  private renderEntropy(): void {
    const analysis = this.context.analysis!;
    const { layers, heads } = analysis.model;
    const maxEntropy = Math.log(Math.max(2, analysis.tokens.length));
    const index = colorIndexer({ ...this.context.scale, threshold: 0, scale: 'linear' }, maxEntropy);
    const rows = Array.from({ length: layers }, (_, layer) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, `Layer ${layer + 1}`),
        ...Array.from({ length: heads }, (_, head) => {
          const entropy = this.stats.find((entry) => entry.layer === layer && entry.head === head)?.meanEntropy ?? 0;
          // Ten colour classes (media/panel.css): cells are few, and classes keep styles out of the markup.
          const level = Math.max(0, Math.min(9, Math.floor(index(entropy) / 26)));
          return h('td', { class: `entropy-cell heat-${level}`, title: `Layer ${layer + 1}, head ${head + 1}: ${entropy.toFixed(3)} nats` }, entropy.toFixed(2));
        }),
      ),
    );
    this.entropyChart.replaceChildren(
      h(
        'table',
        { class: 'entropy-table', 'data-max': maxEntropy.toFixed(4) },
        h('caption', {}, `Mean row entropy of each head (nats; the most possible is ln ${analysis.tokens.length} = ${maxEntropy.toFixed(2)})`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), ...Array.from({ length: heads }, (_, head) => h('th', { scope: 'col' }, `H${head + 1}`)))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private renderStatistics(): void {
    const columns: Array<[SortKey, string]> = [
      ['head', 'Head'],
      ['toCls', '→ [CLS]'],
      ['toSep', '→ [SEP]'],
      ['toPunctuation', '→ punctuation'],
      ['toPrevious', '→ previous'],
      ['toNext', '→ next'],
      ['meanEntropy', 'Entropy'],
    ];
    const tokens = this.context.analysis!.tokens;
    const sorted = [...this.stats].sort((a, b) => (this.sort === 'head' ? a.layer - b.layer || a.head - b.head : (b[this.sort] as number) - (a[this.sort] as number)));
    const header = columns.map(([key, label]) => {
      const button = h('button', { type: 'button', class: 'sort', 'aria-pressed': key === this.sort }, label);
      button.addEventListener('click', () => {
        this.sort = key;
        this.renderStatistics();
      });
      return h('th', { scope: 'col', 'aria-sort': key === this.sort ? (key === 'head' ? 'ascending' : 'descending') : 'none' }, button);
    });
    const rows = sorted.map((entry) => {
      const open = h('button', { type: 'button', class: 'link', title: 'Open this head' }, `L${entry.layer + 1} H${entry.head + 1}`);
      open.addEventListener('click', () => this.context.update({ tab: 'model', layer: entry.layer, head: entry.head, focus: true }));
      const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
      return h(
        'tr',
        {},
        h('td', {}, open),
        h('td', { class: 'num' }, percent(entry.toCls)),
        h('td', { class: 'num' }, percent(entry.toSep)),
        h('td', { class: 'num' }, percent(entry.toPunctuation)),
        h('td', { class: 'num' }, percent(entry.toPrevious)),
        h('td', { class: 'num' }, percent(entry.toNext)),
        h('td', { class: 'num' }, entry.meanEntropy.toFixed(2)),
        h('td', {}, `${tokens[entry.mostAttended.index]?.text ?? '?'} ${percent(entry.mostAttended.share)}`),
      );
    });
    this.statistics.replaceChildren(
      h(
        'table',
        { class: 'statistics-table' },
        h('caption', {}, 'Per-head statistics'),
        h('thead', {}, h('tr', {}, ...header, h('th', { scope: 'col' }, 'Most attended'))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  /** The statistics behind the tables (for exports). */
  get headStatistics(): HeadStatisticsView[] {
    return this.stats;
  }
}
