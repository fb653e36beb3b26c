/**
 * The Generate view of a language model's analysis: the most probable next tokens at a temperature, then generation
 * step by step with the model's key/value cache (greedy, or sampled with a seed shown so that a run repeats). Each new
 * token appears with its probability and the attention row of the query that chose it (the layer and head in focus),
 * over the text and the tokens generated before it. Stop ends a run between steps; Continue goes on from the cache;
 * Insert writes the generated text after the analysed range in the editor.
 */
import * as l10n from '@vscode/l10n';
import type { Candidate } from '../../src/shared/analysis';
import { MAX_TEMPERATURE, type GeneratedToken } from '../../src/shared/analysisViews';
import { messageOf } from '../../src/shared/errors';
import { formatPercent } from '../../src/shared/format';
import { beginCanvas, colorIndexer, cssColor, lookup } from '../shared/colorScale';
import { h } from '../shared/dom';
import { csvField, type Exportable } from './exports';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';
import { MAX_STEPS_PER_RUN, type ViewState } from './state';

type GenerateState = NonNullable<ViewState['generate']>;

/** CSS pixels per position of a step's attention strip (narrower for long texts). */
const STRIP_HEIGHT = 14;

export class GenerationView implements PanelView {
  readonly tab = 'generate';
  readonly title = l10n.t('Generate');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly candidates = h('tbody', {});
  private readonly candidatesCaption = h('caption', {}, '');
  private readonly controls = h('div', { class: 'controls generate-controls' });
  private readonly text = h('p', { class: 'generated-text', id: 'generated-text', 'aria-live': 'polite' });
  private readonly steps = h('ol', { class: 'generation-steps', id: 'generation-steps', 'aria-label': l10n.t('Generated tokens') });
  private readonly unavailable = h(
    'p',
    { class: 'empty' },
    l10n.t('Only a language model (GPT-2, Llama, Qwen, SmolLM) predicts a next token and generates text.'),
  );
  private readonly body: HTMLElement;
  /** The analysis the steps belong to; a new one starts over. */
  private analysisId: string | undefined;
  private generated: GeneratedToken[] = [];
  private generatedText = '';
  private done = false;
  private running = false;
  private stopRequested = false;
  /** The seed and temperature the shown steps were made with (a restart takes the current ones). */
  private madeWith: { temperature: number; seed: number | null } | undefined;

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.body = h(
      'div',
      {},
      h('h3', {}, l10n.t('Next token')),
      h('table', { class: 'probabilities next-tokens', id: 'next-tokens' }, this.candidatesCaption, this.candidates),
      h('h3', {}, l10n.t('Generation, step by step')),
      this.controls,
      this.text,
      this.steps,
    );
    this.element = h('section', { class: 'generate-view', 'aria-label': l10n.t('Next token and generation') }, this.unavailable, this.body);
  }

  private get state(): GenerateState {
    return this.context.view.generate ?? { temperature: 1, sample: false, seed: 0, count: 3 };
  }

  private set(patch: Partial<GenerateState>): void {
    this.context.update({ generate: { ...this.state, ...patch } }, { reload: false });
  }

  async refresh(): Promise<void> {
    const { analysis } = this.context;
    const causal = analysis?.model.causal === true;
    this.unavailable.hidden = causal;
    this.body.hidden = !causal;
    if (!analysis || !causal) return;
    if (analysis.id !== this.analysisId) {
      this.analysisId = analysis.id;
      this.generated = [];
      this.generatedText = '';
      this.done = false;
      this.madeWith = undefined;
    }
    this.renderControls();
    this.renderSteps();
    await this.loadCandidates();
  }

  redraw(): void {
    this.renderSteps();
  }

  exportable(): Exportable | undefined {
    if (this.generated.length === 0) return undefined;
    const rows = this.generated.map((step, index) => ({ step: index + 1, id: step.id, token: step.token, probability: step.probability }));
    return {
      name: 'generation',
      csv: () =>
        ['step,id,token,probability', ...rows.map((row) => [row.step, row.id, csvField(row.token), row.probability].join(','))].join('\n') +
        '\n',
      json: () => JSON.stringify({ ...this.madeWith, text: this.generatedText, steps: rows }, null, 2) + '\n',
    };
  }

  private async loadCandidates(): Promise<void> {
    const analysis = this.context.analysis!;
    const temperature = this.state.temperature;
    const { candidates } = await this.api.request('nextTokens', { analysisId: analysis.id, temperature });
    if (this.context.analysis?.id !== analysis.id) return;
    this.candidatesCaption.textContent =
      temperature > 0
        ? l10n.t('The most probable next tokens at temperature {0}', temperature.toFixed(2))
        : l10n.t('The most probable next tokens (greedy: temperature 0 picks the first)');
    this.candidates.replaceChildren(...candidates.map((candidate) => candidateRow(candidate)));
  }

  private renderControls(): void {
    const state = this.state;
    const temperature = h('input', {
      type: 'range',
      id: 'generate-temperature',
      min: 0,
      max: Math.min(2, MAX_TEMPERATURE),
      step: 0.05,
      value: state.temperature,
      'aria-valuetext': state.temperature.toFixed(2),
    });
    const temperatureValue = h('output', { for: 'generate-temperature', id: 'generate-temperature-value' }, state.temperature.toFixed(2));
    temperature.addEventListener('input', () => (temperatureValue.textContent = Number(temperature.value).toFixed(2)));
    temperature.addEventListener('change', () => {
      this.set({ temperature: Number(temperature.value) });
      void this.loadCandidates().catch((error: unknown) => this.context.setStatus(messageOf(error)));
    });
    const sample = h('vscode-checkbox', {
      id: 'generate-sample',
      label: l10n.t('Sample with a seed (otherwise greedy: always the most probable token)'),
      checked: state.sample,
    }) as HTMLElement & { checked: boolean };
    sample.addEventListener('change', () => this.set({ sample: sample.checked }));
    const number = (id: string, label: string, value: number, min: number, max: number, key: 'seed' | 'count') => {
      const field = h('vscode-textfield', { id, type: 'number', min, max, value, 'aria-label': label, class: 'narrow' }) as HTMLElement & {
        value: string;
      };
      field.addEventListener('change', () => {
        const parsed = Math.round(Number(field.value));
        if (Number.isFinite(parsed) && parsed >= min && parsed <= max) this.set({ [key]: parsed });
        else this.context.setStatus(l10n.t('{0} must be a whole number from {1} to {2}.', label, min, max));
      });
      return [h('label', { for: id }, label), field];
    };
    const generate = h('vscode-button', { id: 'generate-start' }, l10n.t('Generate'));
    const more = h(
      'vscode-button',
      { id: 'generate-continue', secondary: true, disabled: this.generated.length === 0 || this.done },
      l10n.t('Continue'),
    );
    const stop = h('vscode-button', { id: 'generate-stop', secondary: true, disabled: !this.running }, l10n.t('Stop'));
    const insert = h(
      'vscode-button',
      { id: 'generate-insert', secondary: true, disabled: this.generatedText === '' },
      l10n.t('Insert into the editor'),
    );
    generate.addEventListener('click', () => void this.run(true));
    more.addEventListener('click', () => void this.run(false));
    stop.addEventListener('click', () => {
      this.stopRequested = true;
    });
    insert.addEventListener('click', () => void this.insert());
    this.controls.replaceChildren(
      h('label', { for: 'generate-temperature' }, l10n.t('Temperature')),
      temperature,
      temperatureValue,
      sample,
      ...number('generate-seed', l10n.t('Seed'), state.seed, 0, 4294967295, 'seed'),
      ...number('generate-count', l10n.t('Tokens per run'), state.count, 1, MAX_STEPS_PER_RUN, 'count'),
      generate,
      more,
      stop,
      insert,
    );
  }

  /** Runs `count` steps, one request each, so that each token shows as it comes and Stop takes effect between steps. */
  private async run(restart: boolean): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis || this.running) return;
    const state = this.state;
    const temperature = state.sample ? Math.max(0.05, state.temperature) : 0;
    if (restart) {
      this.generated = [];
      this.generatedText = '';
      this.done = false;
      this.madeWith = { temperature, seed: state.sample ? state.seed : null };
    }
    this.running = true;
    this.stopRequested = false;
    this.renderControls();
    try {
      for (let index = 0; index < state.count && !this.stopRequested; index += 1) {
        const result = await this.api.request('generate', {
          analysisId: analysis.id,
          restart: restart && index === 0,
          temperature,
          seed: state.seed,
        });
        if (this.context.analysis?.id !== analysis.id) return;
        this.generatedText = result.text;
        this.done = result.done;
        if (result.step) this.generated.push(result.step);
        this.renderSteps();
        if (result.done) break;
      }
      const made = this.madeWith;
      this.context.setStatus(
        made?.seed !== null && made
          ? l10n.t(
              'Generated {0} tokens, sampled at temperature {1} with seed {2}.',
              this.generated.length,
              made.temperature.toFixed(2),
              made.seed,
            )
          : l10n.t('Generated {0} tokens greedily.', this.generated.length),
      );
    } catch (error) {
      this.context.setStatus(messageOf(error));
    } finally {
      this.running = false;
      this.renderControls();
    }
  }

  private async insert(): Promise<void> {
    const analysis = this.context.analysis;
    if (!analysis || !this.generatedText) return;
    try {
      const { inserted } = await this.api.request('insertGenerated', { analysisId: analysis.id, text: this.generatedText });
      this.context.setStatus(inserted ? l10n.t('Inserted the generated text after the selection.') : l10n.t('Nothing was inserted.'));
    } catch (error) {
      this.context.setStatus(messageOf(error));
    }
  }

  /** Each step: its token and probability, and a strip of the focused head's attention row over the positions before. */
  private renderSteps(): void {
    const analysis = this.context.analysis;
    if (!analysis) return;
    this.text.textContent = this.generatedText
      ? l10n.t('Generated: {0}', this.generatedText)
      : l10n.t('Nothing generated yet. Each step feeds one token and the cache of everything before it.');
    const { layer, head } = this.context.view;
    const { heads } = analysis.model;
    const labels = [...analysis.tokens.map((token) => token.text), ...this.generated.map((step) => step.token)];
    const table = lookup(this.context.scale.scheme);
    this.steps.replaceChildren(
      ...this.generated.map((step, index) => {
        const offset = (layer * heads + head) * step.positions;
        const row = step.attention.subarray(offset, offset + step.positions);
        let best = 0;
        for (let position = 1; position < row.length; position += 1) if (row[position]! > row[best]!) best = position;
        const description = l10n.t(
          'Step {0}: “{1}”, p = {2}; layer {3} head {4} attends most to “{5}” ({6})',
          index + 1,
          step.token,
          formatPercent(step.probability),
          layer + 1,
          head + 1,
          labels[best] ?? '?',
          (row[best] ?? 0).toFixed(3),
        );
        const canvas = h('canvas', { class: 'step-attention', role: 'img', 'aria-label': description, 'data-positions': step.positions });
        requestAnimationFrame(() => paintStrip(canvas, row, table, this.context.scale));
        return h(
          'li',
          { 'data-step': index, 'data-token-id': step.id, 'data-probability': step.probability, 'data-positions': step.positions },
          h('code', { class: 'generated-token' }, JSON.stringify(step.token)),
          ' ',
          h('span', { class: 'probability' }, formatPercent(step.probability)),
          ' ',
          canvas,
          h('span', { class: 'muted' }, l10n.t('most attended: “{0}” ({1})', labels[best] ?? '?', (row[best] ?? 0).toFixed(3))),
        );
      }),
    );
  }
}

function candidateRow(candidate: Candidate): HTMLElement {
  const label = JSON.stringify(candidate.token);
  return h(
    'tr',
    { 'data-token-id': candidate.id },
    h('th', { scope: 'row' }, h('code', {}, label)),
    h('td', {}, h('meter', { min: 0, max: 1, value: candidate.probability, 'aria-label': l10n.t('{0} probability', label) })),
    h('td', { class: 'num' }, formatPercent(candidate.probability)),
  );
}

/** One attention row as a strip of cells, coloured by the panel's scale against the row's largest weight. */
function paintStrip(
  canvas: HTMLCanvasElement,
  row: Float32Array,
  table: Uint8ClampedArray,
  scale: Parameters<typeof colorIndexer>[0],
): void {
  const width = Math.max(60, canvas.clientWidth || 240);
  const context = beginCanvas(canvas, width, STRIP_HEIGHT);
  if (!context) return;
  let max = 0;
  for (const value of row) max = Math.max(max, value);
  const index = colorIndexer(scale, max);
  const cell = width / Math.max(1, row.length);
  row.forEach((value, position) => {
    const colour = index(value);
    if (colour < 0) return;
    context.fillStyle = cssColor(table, colour);
    context.fillRect(position * cell, 0, Math.ceil(cell), STRIP_HEIGHT);
  });
}
