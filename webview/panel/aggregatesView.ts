/**
 * Aggregates: one map per layer (mean or max over its heads, rollout up to it) or for the whole model (flow), the
 * entropy of every head as a small chart, and the per-head statistics Clark et al. use to name what heads do.
 */
import * as l10n from '@vscode/l10n';
import type { HeadStatistics } from '../../src/engine/statistics';
import type { AggregateKind } from '../../src/shared/analysisViews';
import { formatPercent } from '../../src/shared/format';
import { colorIndexer } from '../shared/colorScale';
import { h } from '../shared/dom';
import { mapCsv, mapJson, type Exportable } from './exports';
import { HeatmapCanvas, markedRowOf } from './heatmapCanvas';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';

const KIND_TITLES: Record<AggregateKind, () => string> = {
  mean: () => l10n.t('Mean over heads'),
  max: () => l10n.t('Max over heads'),
  rollout: () => l10n.t('Rollout (up to this layer)'),
  flow: () => l10n.t('Flow (all layers)'),
};
const KINDS = Object.keys(KIND_TITLES) as AggregateKind[];

/** Full attention flow costs n² maximum flows; the worker refuses it above this many tokens. */
const FLOW_TOKEN_LIMIT = 40;

type SortKey = 'head' | 'toCls' | 'toSep' | 'toPunctuation' | 'toPrevious' | 'toNext' | 'toFirst' | 'induction' | 'meanEntropy';

export class AggregatesView implements PanelView {
  readonly tab = 'aggregates';
  readonly title = l10n.t('Aggregates');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly heatmap = new HeatmapCanvas({ ariaLabel: l10n.t('Aggregated attention'), className: 'focus-canvas', zoomable: true });
  private readonly kindSelect: HTMLElement & { value: string };
  private readonly layerSelect: HTMLElement & { value: string };
  private readonly entropyChart: HTMLElement;
  private readonly statistics: HTMLElement;
  private stats: HeadStatistics[] = [];
  private sort: SortKey = 'head';

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.kindSelect = h('vscode-single-select', { id: 'aggregate-kind', 'aria-label': l10n.t('Aggregate') });
    this.layerSelect = h('vscode-single-select', { id: 'aggregate-layer', 'aria-label': l10n.t('Layer') });
    this.kindSelect.addEventListener('change', () => this.context.update({ aggregate: this.kindSelect.value as AggregateKind }));
    this.layerSelect.addEventListener('change', () => this.context.update({ layer: Number(this.layerSelect.value) }));
    this.entropyChart = h('div', { class: 'entropy-chart' });
    this.statistics = h('div', { class: 'head-statistics' });
    this.element = h(
      'div',
      { class: 'aggregates-view' },
      h(
        'div',
        { class: 'controls' },
        h('label', { for: 'aggregate-kind' }, l10n.t('Aggregate')),
        this.kindSelect,
        h('label', { for: 'aggregate-layer' }, l10n.t('Layer')),
        this.layerSelect,
      ),
      h('p', { class: 'meta', id: 'aggregate-explanation' }),
      this.heatmap.element,
      h('h3', {}, l10n.t('Entropy of each head')),
      h(
        'p',
        { class: 'meta' },
        l10n.t(
          "Mean entropy of a head's rows, in nats: 0 = every token attends to one token; ln n = attention spread evenly (broad heads).",
        ),
      ),
      this.entropyChart,
      h('h3', {}, l10n.t('What each head attends to')),
      h(
        'p',
        { class: 'meta' },
        l10n.t('Share of attention, averaged over tokens (Clark et al., 2019). Click a column to sort; click a head to open it.'),
      ),
      this.statistics,
    );
  }

  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    const n = analysis.tokens.length;
    this.kindSelect.replaceChildren(
      ...KINDS.map((kind) =>
        h(
          'vscode-option',
          { value: kind, selected: kind === view.aggregate, disabled: kind === 'flow' && n > FLOW_TOKEN_LIMIT },
          kind === 'flow' && n > FLOW_TOKEN_LIMIT
            ? l10n.t('{0}: up to {1} tokens', KIND_TITLES[kind](), FLOW_TOKEN_LIMIT)
            : KIND_TITLES[kind](),
        ),
      ),
    );
    this.kindSelect.value = view.aggregate;
    this.layerSelect.replaceChildren(
      ...Array.from({ length: analysis.model.layers }, (_, index) =>
        h('vscode-option', { value: index, selected: index === view.layer }, l10n.t('Layer {0}', index + 1)),
      ),
    );
    this.layerSelect.value = String(view.layer);
    this.layerSelect.toggleAttribute('disabled', view.aggregate === 'flow');
    // Looked up in the view's own element: in a notebook several views share one document.
    const explanation = this.element.querySelector<HTMLElement>('#aggregate-explanation');
    if (explanation) {
      explanation.textContent = {
        mean: () => l10n.t("The average of the layer's heads."),
        max: () => l10n.t("For each pair, the strongest of the layer's heads."),
        rollout: () =>
          l10n.t(
            'Attention rollout (Abnar & Zuidema, 2020): attention plus the residual connection, multiplied through the layers up to this one. Row i: how much each input token reaches token i.',
          ),
        flow: () =>
          l10n.t(
            'Attention flow (Abnar & Zuidema, 2020): the maximum flow through the layers from each output token to each input token, rows normalised.',
          ),
      }[view.aggregate]();
    }
    if (view.aggregate === 'flow' && n > FLOW_TOKEN_LIMIT) {
      this.context.setStatus(
        l10n.t('Attention flow is offered up to {0} tokens; this analysis has {1}. Showing rollout instead.', FLOW_TOKEN_LIMIT, n),
      );
      this.context.update({ aggregate: 'rollout' });
      return;
    }
    const layer = view.aggregate === 'flow' ? analysis.model.layers - 1 : view.layer;
    const { labels, groups, map } = await this.api.request('aggregate', {
      analysisId: analysis.id,
      aggregate: view.aggregate,
      layer,
      options: this.context.options,
    });
    const caption =
      view.aggregate === 'flow'
        ? l10n.t('attention flow')
        : l10n.t('layer {0}, {1}', view.layer + 1, KIND_TITLES[view.aggregate]().toLowerCase());
    this.heatmap.setScale(this.context.scale);
    this.heatmap.show({ map, labels, caption, causal: analysis.model.causal, ...markedRowOf(this.context.markedToken, groups) });
    this.stats = (await this.api.request('headStats', { analysisId: analysis.id })).heads;
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
        h('th', { scope: 'row' }, l10n.t('Layer {0}', layer + 1)),
        ...Array.from({ length: heads }, (_, head) => {
          const entropy = this.stats.find((entry) => entry.layer === layer && entry.head === head)?.meanEntropy ?? 0;
          // Ten colour classes (media/panel.css): cells are few, and classes keep styles out of the markup.
          const level = Math.max(0, Math.min(9, Math.floor(index(entropy) / 26)));
          return h(
            'td',
            {
              class: `entropy-cell heat-${level}`,
              title: l10n.t('Layer {0}, head {1}: {2} nats', layer + 1, head + 1, entropy.toFixed(3)),
            },
            entropy.toFixed(2),
          );
        }),
      ),
    );
    this.entropyChart.replaceChildren(
      h(
        'table',
        { class: 'entropy-table', 'data-max': maxEntropy.toFixed(4) },
        h(
          'caption',
          {},
          l10n.t('Mean row entropy of each head (nats; the most possible is ln {0} = {1})', analysis.tokens.length, maxEntropy.toFixed(2)),
        ),
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
        h('tbody', {}, ...rows),
      ),
    );
  }

  private renderStatistics(): void {
    // A decoder never attends to the next token and has no [CLS]/[SEP]: its patterns are sinks, previous-token and
    // induction heads.
    const causal = this.context.analysis!.model.causal;
    const columns: Array<[SortKey, string]> = causal
      ? [
          ['head', l10n.t('Head')],
          ['toFirst', l10n.t('→ first (sink)')],
          ['toPrevious', l10n.t('→ previous')],
          ['induction', l10n.t('Induction')],
          ['toPunctuation', l10n.t('→ punctuation')],
          ['meanEntropy', l10n.t('Entropy')],
        ]
      : [
          ['head', l10n.t('Head')],
          ['toCls', '→ [CLS]'],
          ['toSep', '→ [SEP]'],
          ['toPunctuation', l10n.t('→ punctuation')],
          ['toPrevious', l10n.t('→ previous')],
          ['toNext', l10n.t('→ next')],
          ['meanEntropy', l10n.t('Entropy')],
        ];
    const tokens = this.context.analysis!.tokens;
    const sorted = [...this.stats].sort((a, b) =>
      this.sort === 'head' ? a.layer - b.layer || a.head - b.head : b[this.sort] - a[this.sort],
    );
    const header = columns.map(([key, label]) => {
      const button = h('button', { type: 'button', class: 'sort', 'aria-pressed': key === this.sort }, label);
      button.addEventListener('click', () => {
        this.sort = key;
        this.renderStatistics();
      });
      return h('th', { scope: 'col', 'aria-sort': key === this.sort ? (key === 'head' ? 'ascending' : 'descending') : 'none' }, button);
    });
    const rows = sorted.map((entry) => {
      const open = h(
        'button',
        { type: 'button', class: 'link', title: l10n.t('Open this head') },
        l10n.t('L{0} H{1}', entry.layer + 1, entry.head + 1),
      );
      open.addEventListener('click', () => this.context.update({ tab: 'model', layer: entry.layer, head: entry.head, focus: true }));
      const percent = (value: number) => formatPercent(value);
      return h(
        'tr',
        {},
        h('td', {}, open),
        ...columns
          .slice(1)
          .map(([key]) =>
            h(
              'td',
              { class: 'num', 'data-statistic': key },
              key === 'meanEntropy'
                ? entry.meanEntropy.toFixed(2)
                : key === 'induction' && entry.inductionRows === 0
                  ? '–'
                  : percent(entry[key as Exclude<SortKey, 'head' | 'meanEntropy'>]),
            ),
          ),
        h('td', {}, `${tokens[entry.mostAttended.index]?.text ?? '?'} ${percent(entry.mostAttended.share)}`),
      );
    });
    this.statistics.replaceChildren(
      h(
        'table',
        { class: 'statistics-table' },
        h('caption', {}, l10n.t('Per-head statistics')),
        h('thead', {}, h('tr', {}, ...header, h('th', { scope: 'col' }, l10n.t('Most attended')))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  redraw(): void {
    this.heatmap.setScale(this.context.scale);
    this.heatmap.draw();
  }

  release(): void {
    this.heatmap.release();
  }

  exportable(): Exportable | undefined {
    const data = this.heatmap.current;
    const { analysis, view } = this.context;
    if (!data || !analysis) return undefined;
    const meta = { model: analysis.model.name, aggregate: view.aggregate, layer: view.layer + 1, headStatistics: this.stats };
    return {
      name: `attention-${view.aggregate}${view.aggregate === 'flow' ? '' : `-layer${view.layer + 1}`}`,
      png: () => this.heatmap.toPng(),
      svg: () => this.heatmap.toSvg(),
      csv: () => mapCsv(data),
      json: () => mapJson(data, meta),
    };
  }
}
