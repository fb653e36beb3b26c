/**
 * Explain: why the model predicted its label, by intervention. The head-importance sweep (every head switched off
 * alone), ablation of chosen heads, token attribution (occlusion next to [CLS] rollout and flow) with a link to tint
 * the editor, and a Clark-style report of what the heads do.
 */
import { headReport, type HeadPattern } from '../../src/engine/statistics';
import type { HeadStatisticsView, WebviewRequestResults } from '../../src/shared/protocol';
import { h } from '../shared/dom';
import type { HostApi } from './hostApi';
import type { PanelContext } from './panelContext';

type Importance = WebviewRequestResults['headImportance'];
type Ablation = WebviewRequestResults['ablate'];

export interface Attribution {
  label: number;
  mode: 'mask' | 'remove';
  unit: 'token' | 'word';
  occlusion: Float32Array;
  rollout: Float32Array;
  flow: Float32Array;
}

const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(2)}`;

/** One of five diverging colour classes (media/panel.css) for a signed value against the largest magnitude. */
export function deltaClass(value: number, maxAbs: number): string {
  if (!(maxAbs > 0) || !Number.isFinite(value) || value === 0) return 'delta-0';
  const level = Math.min(5, Math.max(1, Math.ceil((Math.abs(value) / maxAbs) * 5)));
  return `delta-${value < 0 ? 'neg' : 'pos'}-${level}`;
}

const PATTERNS: Array<[HeadPattern, string]> = [
  ['toPrevious', 'Attend to the previous token'],
  ['toNext', 'Attend to the next token'],
  ['toSep', 'Attend to [SEP]'],
  ['toCls', 'Attend to [CLS]'],
  ['toPunctuation', 'Attend to punctuation'],
  ['broad', 'Broad (entropy above 80% of uniform)'],
];

export class ExplainView {
  readonly element: HTMLElement;
  private readonly grid = h('div', { class: 'importance-grid', id: 'importance-grid' });
  private readonly ablationResult = h('div', { id: 'ablation-result', role: 'status', 'aria-live': 'polite' });
  private readonly attributionTable = h('div', { id: 'attribution' });
  private readonly report = h('div', { id: 'head-report' });
  private readonly sweepButton = h('vscode-button', { id: 'run-sweep' }, 'Run the head sweep');
  private importance: Importance | undefined;
  private attribution: Attribution | undefined;
  /** Which analysis the results above belong to. */
  private shownFor: string | undefined;

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.sweepButton.addEventListener('click', () => void this.runSweep());
    const normalised = h('vscode-checkbox', { id: 'importance-normalised', label: 'Normalised (Michel et al.)', checked: context.view.explain.normalised }) as HTMLElement & { checked: boolean };
    normalised.addEventListener('change', () => {
      this.context.update({ explain: { ...this.context.view.explain, normalised: normalised.checked } }, { reload: false });
      this.renderGrid();
    });
    const ablate = h('vscode-button', { id: 'ablate-selected' }, 'Switch off the selected heads');
    const keepOnly = h('vscode-button', { id: 'keep-selected', secondary: true }, 'Keep only the selected heads');
    const clear = h('vscode-button', { id: 'clear-selection', secondary: true }, 'Clear the selection');
    ablate.addEventListener('click', () => void this.runAblation(false));
    keepOnly.addEventListener('click', () => void this.runAblation(true));
    clear.addEventListener('click', () => {
      this.context.update({ explain: { ...this.context.view.explain, ablated: [] } }, { reload: false });
      this.renderGrid();
      this.ablationResult.replaceChildren();
    });
    const mode = h('vscode-single-select', { id: 'occlusion-mode', 'aria-label': 'Occlude by' }, h('vscode-option', { value: 'mask' }, 'replacing with [MASK]'), h('vscode-option', { value: 'remove' }, 'removing')) as HTMLElement & { value: string };
    const unit = h('vscode-single-select', { id: 'occlusion-unit', 'aria-label': 'Occlude each' }, h('vscode-option', { value: 'token' }, 'token'), h('vscode-option', { value: 'word' }, 'word')) as HTMLElement & { value: string };
    mode.value = context.view.explain.mode;
    unit.value = context.view.explain.unit;
    mode.addEventListener('change', () => this.context.update({ explain: { ...this.context.view.explain, mode: mode.value as 'mask' | 'remove' } }, { reload: false }));
    unit.addEventListener('change', () => this.context.update({ explain: { ...this.context.view.explain, unit: unit.value as 'token' | 'word' } }, { reload: false }));
    const compute = h('vscode-button', { id: 'run-attribution' }, 'Compute attribution');
    compute.addEventListener('click', () => void this.runAttribution());
    const show = h('vscode-button', { id: 'show-attribution', secondary: true }, 'Tint the editor');
    show.addEventListener('click', () => void this.showInEditor());
    this.element = h(
      'div',
      { class: 'explain-view' },
      h('h3', {}, 'Head importance'),
      h('p', { class: 'meta' }, 'Each head is switched off alone (its attention weights set to 0, as a head mask does) and the text runs again — all heads in one batched run that reuses the layers below each head. A cell shows how the predicted label\'s probability changes, in percentage points: blue where the head supported the prediction, red where it worked against it.'),
      h('div', { class: 'controls' }, this.sweepButton, normalised),
      this.grid,
      h('h3', {}, 'Switch heads off'),
      h('p', { class: 'meta' }, 'Select heads in the grid above (click, or Enter/Space), then run the text with them switched off — or with every other head switched off.'),
      h('div', { class: 'controls' }, ablate, keepOnly, clear),
      this.ablationResult,
      h('h3', {}, 'Token attribution'),
      h('p', { class: 'meta' }, 'Occlusion: each token (or word) taken away in turn — all in one batched run — and the change in the predicted label\'s probability. Beside it, two attention-only estimates of what [CLS] reads: rollout and flow (Abnar & Zuidema, 2020).'),
      h('div', { class: 'controls' }, h('label', { for: 'occlusion-mode' }, 'Occlude by'), mode, h('label', { for: 'occlusion-unit' }, 'each'), unit, compute, show),
      this.attributionTable,
      h('h3', {}, 'What the heads do'),
      h('p', { class: 'meta' }, 'Heads that put more than half their attention on one kind of token (Clark et al., 2019), for this input. Click a head to open it.'),
      this.report,
    );
  }

  async refresh(): Promise<void> {
    const { analysis } = this.context;
    if (!analysis) return;
    if (this.shownFor !== analysis.id) {
      this.shownFor = analysis.id;
      this.importance = undefined;
      this.attribution = undefined;
      this.ablationResult.replaceChildren();
      this.attributionTable.replaceChildren();
    }
    this.renderGrid();
    this.renderAttribution();
    const { heads } = await this.api.request({ kind: 'headStats', analysisId: analysis.id });
    this.renderReport(heads);
  }

  /** The layers × heads grid: importance when swept, selection for ablation always. */
  private renderGrid(): void {
    const { analysis, view } = this.context;
    if (!analysis) return;
    const { layers, heads } = analysis.model;
    const selected = new Set(view.explain.ablated);
    const importance = this.importance;
    const values = importance ? (view.explain.normalised ? importance.normalised : importance.deltas) : undefined;
    const maxAbs = values ? Math.max(...values.flat().map(Math.abs)) : 0;
    const label = importance ? analysis.sentiment.labels[importance.label] ?? '?' : '';
    const rows = Array.from({ length: layers }, (_, layer) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, `Layer ${layer + 1}`),
        ...Array.from({ length: heads }, (_, head) => {
          const value = values?.[layer]?.[head];
          const index = layer * heads + head;
          const text = value === undefined ? '·' : view.explain.normalised ? value.toFixed(2) : signed(value);
          // Normalised scores are drops (positive = supported the prediction); deltas are changes (negative = supported).
          const tone = value === undefined ? 'delta-0' : view.explain.normalised ? `importance-${Math.min(4, Math.floor(value * 5))}` : deltaClass(value, maxAbs);
          const button = h(
            'button',
            {
              class: `head-cell ${tone}`,
              'aria-pressed': selected.has(index) ? 'true' : 'false',
              'data-layer': layer,
              'data-head': head,
              title: value === undefined ? `Layer ${layer + 1}, head ${head + 1}` : `Layer ${layer + 1}, head ${head + 1}: ${view.explain.normalised ? `normalised importance ${value.toFixed(3)}` : `${label} ${signed(value)} points when switched off`}`,
            },
            text,
          );
          button.addEventListener('click', () => this.toggleHead(index));
          return h('td', {}, button);
        }),
      ),
    );
    this.grid.replaceChildren(
      h(
        'table',
        { class: 'head-grid', 'data-swept': importance ? 'true' : 'false' },
        h('caption', {}, importance ? `Change in P(${label}) when each head is switched off (${view.explain.normalised ? 'normalised drop: per-layer L2, then min–max over all heads' : 'percentage points'}); before: ${percent(importance.probabilities[importance.label] ?? 0)}` : 'Heads (run the sweep to see their importance; click to select for ablation)'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), ...Array.from({ length: heads }, (_, head) => h('th', { scope: 'col' }, `H${head + 1}`)))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  private toggleHead(index: number): void {
    const selected = new Set(this.context.view.explain.ablated);
    if (selected.has(index)) selected.delete(index);
    else selected.add(index);
    this.context.update({ explain: { ...this.context.view.explain, ablated: [...selected].sort((a, b) => a - b) } }, { reload: false });
    this.renderGrid();
    (this.grid.querySelector<HTMLButtonElement>(`button[data-layer="${Math.floor(index / (this.context.analysis?.model.heads ?? 1))}"][data-head="${index % (this.context.analysis?.model.heads ?? 1)}"]`))?.focus();
  }

  private async runSweep(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    const started = performance.now();
    this.sweepButton.toggleAttribute('disabled', true);
    this.context.setStatus(`Switching off each of the ${analysis.model.layers * analysis.model.heads} heads…`);
    try {
      const result = await this.api.request({ kind: 'headImportance', analysisId: analysis.id });
      if (this.context.analysis?.id !== analysis.id) return;
      this.importance = result;
      this.renderGrid();
      this.context.setStatus(`Head sweep done in ${(performance.now() - started).toFixed(0)} ms.`);
    } catch (error) {
      this.context.setStatus(error instanceof Error ? error.message : String(error));
    } finally {
      this.sweepButton.toggleAttribute('disabled', false);
    }
  }

  private async runAblation(keepOnly: boolean): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    const { heads } = analysis.model;
    const chosen = this.context.view.explain.ablated.map((index) => ({ layer: Math.floor(index / heads), head: index % heads }));
    if (chosen.length === 0 && !keepOnly) {
      this.context.setStatus('Select at least one head in the grid first.');
      return;
    }
    try {
      const result: Ablation = await this.api.request({ kind: 'ablate', analysisId: analysis.id, heads: chosen, keepOnly });
      const labels = analysis.sentiment.labels;
      const what = keepOnly ? `Only ${chosen.length} head(s) kept` : `${chosen.length} head(s) switched off`;
      this.ablationResult.replaceChildren(
        h(
          'table',
          { class: 'ablation-table' },
          h('caption', {}, what),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'Original'), h('th', { scope: 'col' }, 'Ablated'), h('th', { scope: 'col' }, 'Change (points)'))),
          h(
            'tbody',
            {},
            ...labels.map((label, index) => {
              const before = result.original.probabilities[index] ?? 0;
              const after = result.probabilities[index] ?? 0;
              return h('tr', {}, h('th', { scope: 'row' }, label), h('td', { class: 'num' }, percent(before)), h('td', { class: 'num' }, percent(after)), h('td', { class: `num ${deltaClass(after - before, 1)}` }, signed(after - before)));
            }),
          ),
        ),
      );
    } catch (error) {
      this.context.setStatus(error instanceof Error ? error.message : String(error));
    }
  }

  private async runAttribution(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    const { mode, unit } = this.context.view.explain;
    this.context.setStatus(`Occluding each ${unit}…`);
    try {
      const result = await this.api.request({ kind: 'attribution', analysisId: analysis.id, mode, unit });
      if (this.context.analysis?.id !== analysis.id) return;
      this.attribution = { label: result.label, mode: result.mode, unit: result.unit, occlusion: new Float32Array(result.occlusion), rollout: new Float32Array(result.rollout), flow: new Float32Array(result.flow) };
      this.renderAttribution();
      this.context.setStatus(`Attribution computed over ${result.units.length} ${unit}s.`);
    } catch (error) {
      this.context.setStatus(error instanceof Error ? error.message : String(error));
    }
  }

  private async showInEditor(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    if (!this.attribution) await this.runAttribution();
    if (!this.attribution) return;
    try {
      const { shown } = await this.api.request({ kind: 'showAttribution', analysisId: analysis.id });
      this.context.setStatus(shown ? 'The analysed text is tinted by occlusion attribution (Toggle Attention Decorations turns it off).' : 'Open the document of this analysis to see the tint.');
    } catch (error) {
      this.context.setStatus(error instanceof Error ? error.message : String(error));
    }
  }

  get currentAttribution(): Attribution | undefined {
    return this.attribution;
  }

  get currentImportance(): Importance | undefined {
    return this.importance;
  }

  private renderAttribution(): void {
    const { analysis } = this.context;
    const attribution = this.attribution;
    if (!analysis || !attribution) return;
    const label = analysis.sentiment.labels[attribution.label] ?? '?';
    const maxAbs = Math.max(...Array.from(attribution.occlusion).filter(Number.isFinite).map(Math.abs), 0);
    const maxRollout = Math.max(...Array.from(attribution.rollout).filter((_, index) => !analysis.tokens[index]?.special), 0);
    const maxFlow = Math.max(...Array.from(attribution.flow).filter((_, index) => !analysis.tokens[index]?.special), 0);
    const hasFlow = attribution.flow.length === analysis.tokens.length;
    this.attributionTable.replaceChildren(
      h(
        'table',
        { class: 'attribution-table' },
        h('caption', {}, `Change in P(${label}) when each ${attribution.unit} is ${attribution.mode === 'mask' ? 'replaced by [MASK]' : 'removed'} (percentage points; blue: it supported ${label}), and [CLS]'s rollout and flow${hasFlow ? '' : ' (flow: up to 128 tokens)'}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Token'), h('th', { scope: 'col' }, 'Occlusion'), h('th', { scope: 'col' }, 'Rollout'), ...(hasFlow ? [h('th', { scope: 'col' }, 'Flow')] : []))),
        h(
          'tbody',
          {},
          ...analysis.tokens.flatMap((token, index) => {
            if (token.special) return [];
            const delta = attribution.occlusion[index]!;
            const rollout = attribution.rollout[index] ?? 0;
            const flow = attribution.flow[index] ?? 0;
            return [
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, h('button', { class: 'token', 'data-index': index, title: 'Select in the editor' }, token.text)),
                h('td', { class: `num ${deltaClass(delta, maxAbs)}` }, Number.isFinite(delta) ? signed(delta) : '–'),
                h('td', {}, h('meter', { min: 0, max: maxRollout || 1, value: rollout, 'aria-label': `rollout ${rollout.toFixed(3)}` }), ` ${rollout.toFixed(3)}`),
                ...(hasFlow ? [h('td', {}, h('meter', { min: 0, max: maxFlow || 1, value: flow, 'aria-label': `flow ${flow.toFixed(3)}` }), ` ${flow.toFixed(3)}`)] : []),
              ),
            ];
          }),
        ),
      ),
    );
  }

  private renderReport(statistics: HeadStatisticsView[]): void {
    const { analysis } = this.context;
    if (!analysis) return;
    const report = headReport(statistics, analysis.tokens.length);
    this.report.replaceChildren(
      h(
        'dl',
        { class: 'head-report' },
        ...PATTERNS.flatMap(([pattern, title]) => {
          const entries = report[pattern];
          return [
            h('dt', {}, `${title} (${entries.length})`),
            h(
              'dd',
              { 'data-pattern': pattern },
              ...(entries.length === 0
                ? [h('span', { class: 'meta' }, 'none')]
                : entries.map((entry) => {
                    const chip = h('button', { class: 'head-chip', 'data-layer': entry.layer, 'data-head': entry.head, title: `Open layer ${entry.layer + 1}, head ${entry.head + 1}` }, `${entry.layer + 1}.${entry.head + 1} (${(entry.value * 100).toFixed(0)}%)`);
                    chip.addEventListener('click', () => this.context.update({ tab: 'model', layer: entry.layer, head: entry.head, focus: true }));
                    return chip;
                  })),
            ),
          ];
        }),
      ),
    );
  }
}
