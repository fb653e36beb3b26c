/**
 * Explain: why the model predicted its label, by intervention. The head-importance sweep (every head switched off
 * alone), ablation of chosen heads, token attribution (occlusion next to [CLS] rollout and flow) with a link to tint
 * the editor, and a Clark-style report of what the heads do.
 */
import * as l10n from '@vscode/l10n';
import { headReport, type HeadPattern, type HeadStatistics } from '../../src/engine/statistics';
import type { Ablation, Attribution, HeadImportance, JobProgress } from '../../src/shared/analysisViews';
import { isCancellation, messageOf } from '../../src/shared/errors';
import { formatPercent, formatPoints } from '../../src/shared/format';
import { deltaClass } from '../shared/colorScale';
import { h } from '../shared/dom';
import type { Exportable } from './exports';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';

const percent = (value: number) => formatPercent(value, 2);

const PATTERNS: Array<[HeadPattern, () => string]> = [
  ['toPrevious', () => l10n.t('Attend to the previous token')],
  ['toNext', () => l10n.t('Attend to the next token')],
  ['toSep', () => l10n.t('Attend to [SEP]')],
  ['toCls', () => l10n.t('Attend to [CLS]')],
  ['toPunctuation', () => l10n.t('Attend to punctuation')],
  ['broad', () => l10n.t('Broad (entropy above 80% of uniform)')],
];

export class ExplainView implements PanelView {
  readonly tab = 'explain';
  readonly title = l10n.t('Explain');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly grid = h('div', { class: 'importance-grid', id: 'importance-grid' });
  private readonly ablationResult = h('div', { id: 'ablation-result', role: 'status', 'aria-live': 'polite' });
  private readonly attributionTable = h('div', { id: 'attribution' });
  private readonly report = h('div', { id: 'head-report' });
  /** What is explained: the label, or the label at a token, or a mask's top token. */
  private readonly targetLine = h('p', { id: 'explain-target', class: 'explain-target', role: 'status' });
  private readonly sweepButton = h('vscode-button', { id: 'run-sweep' }, l10n.t('Run the head sweep'));
  private readonly jobButtons: HTMLElement[] = [this.sweepButton];
  /** The heavy job under way (one at a time: the worker runs them so anyway), with its progress and Cancel. */
  private job: { abort: AbortController; analysisId: string } | undefined;
  private readonly jobBar = h('vscode-progress-bar', { id: 'job-progress', 'aria-label': l10n.t('Progress') });
  private readonly jobText = h('span', { id: 'job-text', role: 'status', 'aria-live': 'polite' });
  private readonly jobCancel = h('vscode-button', { id: 'job-cancel', secondary: true }, l10n.t('Cancel'));
  private readonly jobStrip = h('div', { class: 'job-strip', id: 'job-strip', hidden: true }, this.jobBar, this.jobText, this.jobCancel);
  private importance: HeadImportance | undefined;
  private attribution: Attribution | undefined;
  /** Which analysis the results above belong to. */
  private shownFor: string | undefined;

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.sweepButton.addEventListener('click', () => void this.runSweep());
    const normalised = h('vscode-checkbox', {
      id: 'importance-normalised',
      label: l10n.t('Normalised (Michel et al.)'),
      checked: context.view.explain.normalised,
    }) as HTMLElement & { checked: boolean };
    normalised.addEventListener('change', () => {
      this.context.update({ explain: { ...this.context.view.explain, normalised: normalised.checked } }, { reload: false });
      this.renderGrid();
    });
    const ablate = h('vscode-button', { id: 'ablate-selected' }, l10n.t('Switch off the selected heads'));
    const keepOnly = h('vscode-button', { id: 'keep-selected', secondary: true }, l10n.t('Keep only the selected heads'));
    const clear = h('vscode-button', { id: 'clear-selection', secondary: true }, l10n.t('Clear the selection'));
    this.jobCancel.addEventListener('click', () => this.job?.abort.abort());
    ablate.addEventListener('click', () => void this.runAblation(false));
    keepOnly.addEventListener('click', () => void this.runAblation(true));
    clear.addEventListener('click', () => {
      this.context.update({ explain: { ...this.context.view.explain, ablated: [] } }, { reload: false });
      this.renderGrid();
      this.ablationResult.replaceChildren();
    });
    const mode = h(
      'vscode-single-select',
      { id: 'occlusion-mode', 'aria-label': l10n.t('Occlude by') },
      h('vscode-option', { value: 'mask' }, l10n.t('replacing with [MASK]')),
      h('vscode-option', { value: 'remove' }, l10n.t('removing')),
    ) as HTMLElement & { value: string };
    const unit = h(
      'vscode-single-select',
      { id: 'occlusion-unit', 'aria-label': l10n.t('Occlude each') },
      h('vscode-option', { value: 'token' }, l10n.t('token')),
      h('vscode-option', { value: 'word' }, l10n.t('word')),
    ) as HTMLElement & { value: string };
    mode.value = context.view.explain.mode;
    unit.value = context.view.explain.unit;
    mode.addEventListener('change', () =>
      this.context.update({ explain: { ...this.context.view.explain, mode: mode.value as 'mask' | 'remove' } }, { reload: false }),
    );
    unit.addEventListener('change', () =>
      this.context.update({ explain: { ...this.context.view.explain, unit: unit.value as 'token' | 'word' } }, { reload: false }),
    );
    const compute = h('vscode-button', { id: 'run-attribution' }, l10n.t('Compute attribution'));
    compute.addEventListener('click', () => void this.runAttribution());
    const show = h('vscode-button', { id: 'show-attribution', secondary: true }, l10n.t('Tint the editor'));
    show.addEventListener('click', () => void this.showInEditor());
    this.jobButtons.push(ablate, keepOnly, compute, show);
    this.element = h(
      'div',
      { class: 'explain-view' },
      this.targetLine,
      this.jobStrip,
      h('h3', {}, l10n.t('Head importance')),
      h(
        'p',
        { class: 'meta' },
        l10n.t(
          "Each head is switched off alone (its attention weights set to 0, as a head mask does) and the text runs again — all heads in one batched run that reuses the layers below each head. A cell shows how the predicted label's probability changes, in percentage points: blue where the head supported the prediction, red where it worked against it.",
        ),
      ),
      h('div', { class: 'controls' }, this.sweepButton, normalised),
      this.grid,
      h('h3', {}, l10n.t('Switch heads off')),
      h(
        'p',
        { class: 'meta' },
        l10n.t(
          'Select heads in the grid above (click, or Enter/Space), then run the text with them switched off — or with every other head switched off.',
        ),
      ),
      h('div', { class: 'controls' }, ablate, keepOnly, clear),
      this.ablationResult,
      h('h3', {}, l10n.t('Token attribution')),
      h(
        'p',
        { class: 'meta' },
        l10n.t(
          "Occlusion: each token (or word) taken away in turn — all in one batched run — and the change in the predicted label's probability. Beside it, two attention-only estimates of what [CLS] reads: rollout and flow (Abnar & Zuidema, 2020).",
        ),
      ),
      h(
        'div',
        { class: 'controls' },
        h('label', { for: 'occlusion-mode' }, l10n.t('Occlude by')),
        mode,
        h('label', { for: 'occlusion-unit' }, l10n.t('each')),
        unit,
        compute,
        show,
      ),
      this.attributionTable,
      h('h3', {}, l10n.t('What the heads do')),
      h(
        'p',
        { class: 'meta' },
        l10n.t(
          'Heads that put more than half their attention on one kind of token (Clark et al., 2019), for this input. Click a head to open it.',
        ),
      ),
      this.report,
    );
  }

  async refresh(): Promise<void> {
    const { analysis } = this.context;
    if (!analysis) return;
    this.renderTarget();
    const shownFor = `${analysis.id}|${this.target().target?.position ?? ''}`;
    if (this.shownFor !== shownFor) {
      this.shownFor = shownFor;
      // A new analysis (or target): what was being explained is no longer shown, so its job stops.
      this.job?.abort.abort();
      this.importance = undefined;
      this.attribution = undefined;
      this.ablationResult.replaceChildren();
      this.attributionTable.replaceChildren();
    }
    this.renderGrid();
    this.renderAttribution();
    const { heads } = await this.api.request('headStats', { analysisId: analysis.id });
    this.renderReport(heads);
  }

  private renderTarget(): void {
    const { analysis } = this.context;
    if (!analysis) return;
    const position = this.target().target?.position;
    const token = position !== undefined ? (analysis.tokens[position]?.text ?? '?') : '';
    const text = {
      'text-classification': () => l10n.t('Explaining the predicted label of the whole text (the classifier reads the first token).'),
      'token-classification': () =>
        position !== undefined
          ? l10n.t('Explaining the label of token {0} “{1}”. Pick another token in the prediction card.', position, token)
          : l10n.t('Explaining the label of the first token. Pick a token in the prediction card.'),
      'fill-mask': () =>
        position !== undefined
          ? l10n.t('Explaining the most probable token at mask {0} “{1}”.', position, token)
          : l10n.t('Explaining the most probable token at the first mask.'),
      'text-generation': () => l10n.t('Explaining the most probable next token after the text (read at its last token, “{0}”).', token),
      'feature-extraction': () =>
        l10n.t('A sentence-embedding model predicts nothing, so there is nothing to explain; its attention is in the other tabs.'),
      none: () => l10n.t('These maps came from a notebook or a file: there is no model here to explain them with.'),
    }[analysis.prediction.task]();
    this.targetLine.textContent = text;
  }

  /** The token whose prediction is explained: the one in focus, for a task that predicts per token. */
  private target(): { target?: { position: number } } {
    const { analysis, markedToken } = this.context;
    const perToken = analysis?.prediction.task === 'token-classification' || analysis?.prediction.task === 'fill-mask';
    return perToken && markedToken !== undefined ? { target: { position: markedToken } } : {};
  }

  redraw(): void {
    // Tables only: their colours are CSS classes, which follow the theme by themselves.
  }

  exportable(): Exportable | undefined {
    const { analysis } = this.context;
    const importance = this.importance;
    const attribution = this.attribution;
    if (!analysis || (!importance && !attribution)) return undefined;
    const tokens = analysis.tokens;
    const occlusionOf = (index: number) =>
      attribution && Number.isFinite(attribution.occlusion[index]!) ? attribution.occlusion[index]! : null;
    return {
      name: 'explanation',
      json: () =>
        `${JSON.stringify({
          model: analysis.model.name,
          labels: (importance ?? attribution)!.labels,
          position: (importance ?? attribution)!.position,
          ...(importance
            ? { headImportance: { label: importance.label, deltas: importance.deltas, normalised: importance.normalised } }
            : {}),
          ...(attribution
            ? {
                attribution: {
                  label: attribution.label,
                  mode: attribution.mode,
                  unit: attribution.unit,
                  tokens: tokens.map((token, index) => ({
                    index,
                    text: token.text,
                    special: token.special,
                    occlusion: occlusionOf(index),
                    rollout: attribution.rollout[index],
                    flow: attribution.flow[index] ?? null,
                  })),
                },
              }
            : {}),
        })}\n`,
      ...(attribution
        ? {
            csv: () =>
              `index,token,occlusion_delta,rollout,flow\n${tokens.map((token, index) => [index, JSON.stringify(token.text), occlusionOf(index) ?? '', attribution.rollout[index], attribution.flow[index] ?? ''].join(',')).join('\n')}\n`,
          }
        : {}),
    };
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
    const label = importance ? (importance.labels[importance.label] ?? '?') : '';
    const rows = Array.from({ length: layers }, (_, layer) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, l10n.t('Layer {0}', layer + 1)),
        ...Array.from({ length: heads }, (_, head) => {
          const value = values?.[layer]?.[head];
          const index = layer * heads + head;
          const text = value === undefined ? '·' : view.explain.normalised ? value.toFixed(2) : formatPoints(value);
          // Normalised scores are drops (positive = supported the prediction); deltas are changes (negative = supported).
          const tone =
            value === undefined
              ? 'delta-0'
              : view.explain.normalised
                ? `importance-${Math.min(4, Math.floor(value * 5))}`
                : deltaClass(value, maxAbs);
          const title =
            value === undefined
              ? l10n.t('Layer {0}, head {1}', layer + 1, head + 1)
              : view.explain.normalised
                ? l10n.t('Layer {0}, head {1}: normalised importance {2}', layer + 1, head + 1, value.toFixed(3))
                : l10n.t('Layer {0}, head {1}: {2} {3} points when switched off', layer + 1, head + 1, label, formatPoints(value));
          const button = h(
            'button',
            {
              class: `head-cell ${tone}`,
              'aria-pressed': selected.has(index) ? 'true' : 'false',
              'data-layer': layer,
              'data-head': head,
              title,
            },
            text,
          );
          button.addEventListener('click', () => this.toggleHead(index));
          return h('td', {}, button);
        }),
      ),
    );
    const caption = importance
      ? view.explain.normalised
        ? l10n.t(
            'Change in P({0}) when each head is switched off (normalised drop: per-layer L2, then min–max over all heads); before: {1}',
            label,
            percent(importance.probabilities[importance.label] ?? 0),
          )
        : l10n.t(
            'Change in P({0}) when each head is switched off (percentage points); before: {1}',
            label,
            percent(importance.probabilities[importance.label] ?? 0),
          )
      : l10n.t('Heads (run the sweep to see their importance; click to select for ablation)');
    this.grid.replaceChildren(
      h(
        'table',
        { class: 'head-grid', 'data-swept': importance ? 'true' : 'false' },
        h('caption', {}, caption),
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

  private toggleHead(index: number): void {
    const selected = new Set(this.context.view.explain.ablated);
    if (selected.has(index)) selected.delete(index);
    else selected.add(index);
    this.context.update({ explain: { ...this.context.view.explain, ablated: [...selected].sort((a, b) => a - b) } }, { reload: false });
    this.renderGrid();
    const heads = this.context.analysis?.model.heads ?? 1;
    this.grid.querySelector<HTMLButtonElement>(`button[data-layer="${Math.floor(index / heads)}"][data-head="${index % heads}"]`)?.focus();
  }

  /**
   * Runs one heavy request with the job strip: its buttons disabled, progress (or its place in the worker's queue)
   * shown, Cancel. Resolves with undefined when it was cancelled or failed (the status line says which).
   */
  private async runJob<T>(
    analysisId: string,
    what: string,
    start: (options: { signal: AbortSignal; onProgress: (progress: JobProgress) => void }) => Promise<T>,
  ): Promise<T | undefined> {
    if (this.job) return undefined;
    const abort = new AbortController();
    this.job = { abort, analysisId };
    for (const button of this.jobButtons) button.toggleAttribute('disabled', true);
    this.jobBar.value = undefined;
    this.jobText.textContent = what;
    this.jobStrip.hidden = false;
    this.context.setStatus(what);
    const onProgress = ({ done, total, queued }: JobProgress) => {
      if (queued) {
        this.jobBar.value = undefined;
        this.jobText.textContent = l10n.t('{0} (waiting for {1} other job(s) to finish)', what, queued);
        return;
      }
      this.jobBar.max = total;
      this.jobBar.value = done;
      this.jobText.textContent = l10n.t('{0} {1}%', what, total > 0 ? Math.floor((100 * done) / total) : 0);
    };
    try {
      return await start({ signal: abort.signal, onProgress });
    } catch (error) {
      this.context.setStatus(isCancellation(error) ? l10n.t('Cancelled.') : messageOf(error));
      return undefined;
    } finally {
      this.job = undefined;
      this.jobStrip.hidden = true;
      for (const button of this.jobButtons) button.toggleAttribute('disabled', false);
    }
  }

  private async runSweep(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    const started = performance.now();
    const what = l10n.t('Switching off each of the {0} heads…', analysis.model.layers * analysis.model.heads);
    const result = await this.runJob(analysis.id, what, (options) =>
      this.api.request('headImportance', { analysisId: analysis.id, ...this.target() }, options),
    );
    if (!result || this.context.analysis?.id !== analysis.id) return;
    this.importance = result;
    this.renderGrid();
    this.context.setStatus(l10n.t('Head sweep done in {0} ms.', (performance.now() - started).toFixed(0)));
  }

  private async runAblation(keepOnly: boolean): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    const { heads } = analysis.model;
    const chosen = this.context.view.explain.ablated.map((index) => ({ layer: Math.floor(index / heads), head: index % heads }));
    if (chosen.length === 0 && !keepOnly) {
      this.context.setStatus(l10n.t('Select at least one head in the grid first.'));
      return;
    }
    const what = keepOnly ? l10n.t('Running with only the selected heads…') : l10n.t('Running with the selected heads switched off…');
    const result: Ablation | undefined = await this.runJob(analysis.id, what, (options) =>
      this.api.request('ablate', { analysisId: analysis.id, heads: chosen, keepOnly, ...this.target() }, options),
    );
    if (!result || this.context.analysis?.id !== analysis.id) return;
    const labels = result.original.labels;
    const caption = keepOnly ? l10n.t('Only {0} head(s) kept', chosen.length) : l10n.t('{0} head(s) switched off', chosen.length);
    this.ablationResult.replaceChildren(
      h(
        'table',
        { class: 'ablation-table' },
        h('caption', {}, caption),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, l10n.t('Label')),
            h('th', { scope: 'col' }, l10n.t('Original')),
            h('th', { scope: 'col' }, l10n.t('Ablated')),
            h('th', { scope: 'col' }, l10n.t('Change (points)')),
          ),
        ),
        h(
          'tbody',
          {},
          ...labels.map((label, index) => {
            const before = result.original.probabilities[index] ?? 0;
            const after = result.probabilities[index] ?? 0;
            return h(
              'tr',
              {},
              h('th', { scope: 'row' }, label),
              h('td', { class: 'num' }, percent(before)),
              h('td', { class: 'num' }, percent(after)),
              h('td', { class: `num ${deltaClass(after - before, 1)}` }, formatPoints(after - before)),
            );
          }),
        ),
      ),
    );
    this.context.setStatus(l10n.t('Ablation done.'));
  }

  private async runAttribution(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    const { unit } = this.context.view.explain;
    // A language model's tokenizer has no mask token: its tokens are removed.
    const mode = analysis.model.causal ? 'remove' : this.context.view.explain.mode;
    const what = unit === 'word' ? l10n.t('Occluding each word…') : l10n.t('Occluding each token…');
    // Each unit's change as soon as the worker has it: on long texts the table fills while the job runs.
    const partial = new Float32Array(analysis.tokens.length).fill(Number.NaN);
    let last: JobProgress | undefined;
    const result = await this.runJob(analysis.id, what, (options) =>
      this.api.request(
        'attribution',
        { analysisId: analysis.id, mode, unit, ...this.target() },
        {
          signal: options.signal,
          onProgress: (progress) => {
            options.onProgress(progress);
            if (!progress.occluded?.length || this.context.analysis?.id !== analysis.id) return;
            for (const occluded of progress.occluded) for (const index of occluded.indices) partial[index] = occluded.delta;
            last = progress;
            this.renderPartialOcclusion(partial, progress, false);
          },
        },
      ),
    );
    if (this.context.analysis?.id !== analysis.id) return;
    if (!result) {
      // Cancelled or failed: what was computed stays, said to be partial.
      if (last) this.renderPartialOcclusion(partial, last, true);
      return;
    }
    this.attribution = result;
    this.renderAttribution();
    this.context.setStatus(
      unit === 'word'
        ? l10n.t('Attribution computed over {0} words.', result.units.length)
        : l10n.t('Attribution computed over {0} tokens.', result.units.length),
    );
  }

  private async showInEditor(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis) return;
    if (!this.attribution) await this.runAttribution();
    if (!this.attribution) return;
    try {
      const { shown } = await this.api.request('showAttribution', { analysisId: analysis.id });
      this.context.setStatus(
        shown
          ? l10n.t('The analysed text is tinted by occlusion attribution (Toggle Attention Decorations turns it off).')
          : l10n.t('Open the document of this analysis to see the tint.'),
      );
    } catch (error) {
      this.context.setStatus(messageOf(error));
    }
  }

  /** The occlusion column as far as it is known, while the job runs (the full table replaces it). */
  private renderPartialOcclusion(deltas: Float32Array, progress: JobProgress, stopped: boolean): void {
    const { analysis } = this.context;
    if (!analysis) return;
    const known = Array.from(deltas).filter(Number.isFinite);
    const maxAbs = Math.max(...known.map(Math.abs), 0);
    this.attributionTable.replaceChildren(
      h(
        'table',
        { class: 'attribution-table', 'data-partial': String(known.length) },
        h(
          'caption',
          {},
          stopped
            ? l10n.t('Occlusion stopped: {0} of {1} runs were done, the tokens they covered are shown.', progress.done, progress.total)
            : l10n.t('Occlusion so far: {0} of {1} runs done; the rest follows.', progress.done, progress.total),
        ),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, l10n.t('Token')), h('th', { scope: 'col' }, l10n.t('Occlusion')))),
        h(
          'tbody',
          {},
          ...analysis.tokens.flatMap((token, index) => {
            if (token.special) return [];
            const delta = deltas[index]!;
            return [
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, token.text),
                h('td', { class: `num ${deltaClass(delta, maxAbs)}` }, Number.isFinite(delta) ? formatPoints(delta) : '…'),
              ),
            ];
          }),
        ),
      ),
    );
  }

  private renderAttribution(): void {
    const { analysis } = this.context;
    const attribution = this.attribution;
    if (!analysis || !attribution) return;
    const label = attribution.labels[attribution.label] ?? '?';
    const maxAbs = Math.max(...Array.from(attribution.occlusion).filter(Number.isFinite).map(Math.abs), 0);
    const maxRollout = Math.max(...Array.from(attribution.rollout).filter((_, index) => !analysis.tokens[index]?.special), 0);
    const maxFlow = Math.max(...Array.from(attribution.flow).filter((_, index) => !analysis.tokens[index]?.special), 0);
    const hasFlow = attribution.flow.length === analysis.tokens.length;
    const how = {
      'mask-token': () =>
        l10n.t(
          "Change in P({0}) when each token is replaced by [MASK] (percentage points; blue: it supported {0}), and [CLS]'s rollout and flow",
          label,
        ),
      'mask-word': () =>
        l10n.t(
          "Change in P({0}) when each word is replaced by [MASK] (percentage points; blue: it supported {0}), and [CLS]'s rollout and flow",
          label,
        ),
      'remove-token': () =>
        l10n.t(
          "Change in P({0}) when each token is removed (percentage points; blue: it supported {0}), and [CLS]'s rollout and flow",
          label,
        ),
      'remove-word': () =>
        l10n.t(
          "Change in P({0}) when each word is removed (percentage points; blue: it supported {0}), and [CLS]'s rollout and flow",
          label,
        ),
    }[`${attribution.mode}-${attribution.unit}` as const]();
    this.attributionTable.replaceChildren(
      h(
        'table',
        { class: 'attribution-table' },
        h('caption', {}, hasFlow ? how : l10n.t('{0} (flow: up to 128 tokens)', how)),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, l10n.t('Token')),
            h('th', { scope: 'col' }, l10n.t('Occlusion')),
            h('th', { scope: 'col' }, l10n.t('Rollout')),
            ...(hasFlow ? [h('th', { scope: 'col' }, l10n.t('Flow'))] : []),
          ),
        ),
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
                h(
                  'th',
                  { scope: 'row' },
                  h('button', { class: 'token', 'data-index': index, title: l10n.t('Select in the editor') }, token.text),
                ),
                h('td', { class: `num ${deltaClass(delta, maxAbs)}` }, Number.isFinite(delta) ? formatPoints(delta) : '–'),
                h(
                  'td',
                  {},
                  h('meter', { min: 0, max: maxRollout || 1, value: rollout, 'aria-label': l10n.t('rollout {0}', rollout.toFixed(3)) }),
                  ` ${rollout.toFixed(3)}`,
                ),
                ...(hasFlow
                  ? [
                      h(
                        'td',
                        {},
                        h('meter', { min: 0, max: maxFlow || 1, value: flow, 'aria-label': l10n.t('flow {0}', flow.toFixed(3)) }),
                        ` ${flow.toFixed(3)}`,
                      ),
                    ]
                  : []),
              ),
            ];
          }),
        ),
      ),
    );
  }

  private renderReport(statistics: HeadStatistics[]): void {
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
            h('dt', {}, `${title()} (${entries.length})`),
            h(
              'dd',
              { 'data-pattern': pattern },
              ...(entries.length === 0
                ? [h('span', { class: 'meta' }, l10n.t('none'))]
                : entries.map((entry) => {
                    const chip = h(
                      'button',
                      {
                        class: 'head-chip',
                        'data-layer': entry.layer,
                        'data-head': entry.head,
                        title: l10n.t('Open layer {0}, head {1}', entry.layer + 1, entry.head + 1),
                      },
                      `${entry.layer + 1}.${entry.head + 1} (${(entry.value * 100).toFixed(0)}%)`,
                    );
                    chip.addEventListener('click', () =>
                      this.context.update({ tab: 'model', layer: entry.layer, head: entry.head, focus: true }),
                    );
                    return chip;
                  })),
            ),
          ];
        }),
      ),
    );
  }
}
