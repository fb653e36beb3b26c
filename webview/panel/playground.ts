/**
 * The playground walks attention step by step with real matrices: X → Q, K, V → QKᵀ → /√d_k → softmax → ×V → concat →
 * W_O, computed here by the same engine the extension uses. Two examples: the seed article's NumPy example
 * (np.random.seed(42); Q, K, V = randn(2, 3, 4)), whose numbers are NumPy's to the last digit, and multi-head attention
 * on random inputs of a chosen size, with or without the positional encoding.
 */
import * as l10n from '@vscode/l10n';
import {
  NumpyRandom,
  traceMultiHeadAttention,
  traceScaledDotProductAttention,
  type AttentionTrace,
  type Matrix,
  type TraceStep,
} from '../../src/engine';
import { h } from '../shared/dom';
import type { Exportable } from './exports';
import type { PanelContext, PanelView } from './panelContext';
import type { ViewState } from './state';

type PlaygroundState = ViewState['playground'];

/** The seed article's example, exactly as its NumPy code computes it. */
export function articleTrace(): AttentionTrace {
  const random = new NumpyRandom(42);
  const draw = () => ({ count: 2, rows: 3, cols: 4, data: random.randn(2, 3, 4) });
  const q = draw();
  const k = draw();
  const v = draw();
  return traceScaledDotProductAttention(q, k, v);
}

/** Multi-head self-attention on random X and weights (row-vector convention, heads in contiguous blocks). */
export function randomTrace(state: PlaygroundState): AttentionTrace {
  const { n, heads, seed, positional } = state;
  const d = Math.max(heads, Math.round(state.d / heads) * heads);
  const random = new NumpyRandom(seed);
  const matrix = (rows: number, cols: number, scale = 1): Matrix => ({
    rows,
    cols,
    data: random.randn(rows, cols).map((value) => value * scale),
  });
  const x = matrix(n, d);
  const weight = 1 / Math.sqrt(d);
  const params = {
    wq: matrix(d, d, weight),
    bq: new Float64Array(d),
    wk: matrix(d, d, weight),
    bk: new Float64Array(d),
    wv: matrix(d, d, weight),
    bv: new Float64Array(d),
    wo: matrix(d, d, weight),
    bo: new Float64Array(d),
  };
  return traceMultiHeadAttention(x, params, {
    heads,
    positionalEncoding: positional,
    tokens: Array.from({ length: n }, (_, index) => `t${index}`),
  });
}

/** NumPy prints 8 decimals by default; the article example is shown the same way. */
export function formatValue(value: number): string {
  return value.toFixed(8);
}

/** What a step is called and what it does, in the reader's language. */
export function stepWords(step: TraceStep, headDim: number): { title: string; explanation: string } {
  const head = step.head ?? 0;
  const columns = () => [step.firstColumn ?? 0, (step.firstColumn ?? 0) + headDim - 1] as const;
  const words: Record<TraceStep['stage'], () => [string, string]> = {
    input: () => [step.title, l10n.t('The input: one row per token.')],
    'positional-encoding': () => [
      l10n.t('Positional encoding'),
      l10n.t(
        'Attention treats its input as a set: without positions, reordering the tokens only reorders the output. Sines and cosines of different frequencies mark each position.',
      ),
    ],
    'input-with-positions': () => [step.title, l10n.t('The input with its positions added.')],
    queries: () => [
      step.title,
      step.id === 'q'
        ? l10n.t('Queries for all heads at once; each head takes a contiguous block of columns.')
        : l10n.t('Queries: what each position is looking for.'),
    ],
    keys: () => [step.title, step.id === 'k' ? l10n.t('Keys for all heads.') : l10n.t('Keys: what each position offers to be found by.')],
    values: () => [
      step.title,
      step.id === 'v' ? l10n.t('Values for all heads.') : l10n.t('Values: what each position passes on when attended to.'),
    ],
    scores: () => [step.title, l10n.t('Dot product of every query with every key: large when they point the same way.')],
    scaled: () => [
      step.title,
      l10n.t(
        'Divided by √d_k = {0} so that the scores do not grow with the dimension and saturate the softmax.',
        Math.sqrt(step.dk ?? 1).toPrecision(4),
      ),
    ],
    mask: () => [
      l10n.t('Mask'),
      l10n.t(
        '1 = may attend, 0 = masked: a masked score is set to the most negative number before the softmax, so its weight is exactly 0.',
      ),
    ],
    'key-padding-mask': () => [l10n.t('Mask'), l10n.t('1 = may attend, 0 = masked (padding keys).')],
    weights: () => [l10n.t('softmax'), l10n.t('Each row becomes a probability distribution over the keys: the attention weights.')],
    output: () => [l10n.t('weights × V'), l10n.t('Each output row is the weighted average of the value rows.')],
    'head-queries': () => [l10n.t('head {0}: Q', head), l10n.t('Columns {0}–{1} of Q.', ...columns())],
    'head-keys': () => [l10n.t('head {0}: K', head), l10n.t('Columns {0}–{1} of K.', ...columns())],
    'head-values': () => [l10n.t('head {0}: V', head), l10n.t('Columns {0}–{1} of V.', ...columns())],
    'head-scores': () => [l10n.t('head {0}: Q Kᵀ', head), l10n.t('Every query against every key.')],
    'head-scaled': () => [
      l10n.t('head {0}: / √{1}', head, step.dk ?? headDim),
      l10n.t('Scaled by 1/√d_k with d_k = {0}.', step.dk ?? headDim),
    ],
    'head-weights': () => [l10n.t('head {0}: softmax', head), l10n.t('Attention weights: each row sums to 1.')],
    'head-output': () => [l10n.t('head {0}: × V', head), l10n.t("This head's output: weighted averages of its values.")],
    concat: () => [l10n.t('Concat(heads)'), l10n.t("The heads' outputs side by side, back to the model dimension.")],
    projection: () => [step.title, l10n.t('The output projection mixes what the heads found.')],
  };
  const [title, explanation] = words[step.stage]();
  return { title: step.batch !== undefined ? l10n.t('{0} (batch {1})', title, step.batch) : title, explanation };
}

export class Playground implements PanelView {
  readonly tab = 'playground';
  readonly title = l10n.t('Playground');
  readonly needsAttention = false;
  readonly element: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly steps: HTMLElement;
  private readonly stepView: HTMLElement;
  private trace: AttentionTrace | undefined;
  private traceKey = '';

  constructor(private readonly context: PanelContext) {
    this.controls = h('div', { class: 'controls playground-controls' });
    this.steps = h('ol', { class: 'playground-steps', 'aria-label': l10n.t('Steps') });
    this.stepView = h('section', { class: 'playground-step', 'aria-live': 'polite' });
    this.element = h(
      'div',
      { class: 'playground' },
      h(
        'p',
        { class: 'meta' },
        l10n.t(
          'Attention as a computation, one step at a time, with the engine the extension uses. The article example reproduces what NumPy prints.',
        ),
      ),
      this.controls,
      h('div', { class: 'playground-body' }, h('nav', { 'aria-label': l10n.t('Playground steps') }, this.steps), this.stepView),
    );
  }

  private get current(): TraceStep | undefined {
    return this.trace?.steps[Math.min(this.context.view.playground.step, this.trace.steps.length - 1)];
  }

  redraw(): void {
    // Tables only: their colours are CSS classes, which follow the theme by themselves.
  }

  exportable(): Exportable | undefined {
    const step = this.current;
    if (!step || !this.trace) return undefined;
    const { rows, cols, values } = step.matrix;
    const words = stepWords(step, this.trace.headDim);
    return {
      name: `playground-${step.id.replace(/[^\w.-]/g, '_')}`,
      csv: () => `${Array.from({ length: rows }, (_, row) => values.slice(row * cols, (row + 1) * cols).join(',')).join('\n')}\n`,
      json: () => `${JSON.stringify({ ...step, ...words })}\n`,
    };
  }

  refresh(): void {
    const state = this.context.view.playground;
    const key = JSON.stringify({ ...state, step: 0 });
    if (key !== this.traceKey) {
      this.trace = state.example === 'article' ? articleTrace() : randomTrace(state);
      this.traceKey = key;
    }
    this.renderControls(state);
    this.renderSteps(state);
  }

  private set(patch: Partial<PlaygroundState>): void {
    this.context.update({ playground: { ...this.context.view.playground, ...patch } });
  }

  private renderControls(state: PlaygroundState): void {
    const example = h(
      'vscode-single-select',
      { id: 'playground-example', 'aria-label': l10n.t('Example') },
      h('vscode-option', { value: 'article', selected: state.example === 'article' }, l10n.t("The article's NumPy example (seed 42)")),
      h('vscode-option', { value: 'random', selected: state.example === 'random' }, l10n.t('Multi-head attention on random inputs')),
    ) as HTMLElement & { value: string };
    example.addEventListener('change', () => this.set({ example: example.value as 'article' | 'random', step: 0 }));
    const children: HTMLElement[] = [h('label', { for: 'playground-example' }, l10n.t('Example')), example];
    if (state.example === 'random') {
      const number = (id: string, label: string, value: number, min: number, max: number, key: 'seed' | 'n' | 'd' | 'heads') => {
        const field = h('vscode-textfield', {
          id,
          type: 'number',
          min,
          max,
          value,
          'aria-label': label,
          class: 'narrow',
        }) as HTMLElement & { value: string };
        field.addEventListener('change', () => {
          const parsed = Math.round(Number(field.value));
          if (Number.isFinite(parsed) && parsed >= min && parsed <= max) this.set({ [key]: parsed, step: 0 });
          else this.context.setStatus(l10n.t('{0} must be a whole number from {1} to {2}.', label, min, max));
        });
        return [h('label', { for: id }, label), field];
      };
      const positional = h('vscode-checkbox', {
        id: 'playground-positional',
        label: l10n.t('Add the positional encoding'),
        checked: state.positional,
      }) as HTMLElement & { checked: boolean };
      positional.addEventListener('change', () => this.set({ positional: positional.checked, step: 0 }));
      children.push(
        ...number('playground-seed', l10n.t('Seed'), state.seed, 0, 4294967295, 'seed'),
        ...number('playground-n', l10n.t('Tokens'), state.n, 1, 16, 'n'),
        ...number('playground-d', l10n.t('Dimension'), state.d, 2, 32, 'd'),
        ...number('playground-heads', l10n.t('Heads'), state.heads, 1, 8, 'heads'),
        positional,
      );
    }
    this.controls.replaceChildren(...children);
  }

  private renderSteps(state: PlaygroundState): void {
    const trace = this.trace!;
    const current = Math.min(state.step, trace.steps.length - 1);
    this.steps.replaceChildren(
      ...trace.steps.map((step, index) => {
        const button = h(
          'button',
          { type: 'button', class: 'step-link', 'aria-current': index === current ? 'step' : undefined, 'data-step': step.id },
          stepWords(step, trace.headDim).title,
        );
        button.addEventListener('click', () => this.set({ step: index }));
        return h('li', {}, button);
      }),
    );
    const step = trace.steps[current]!;
    const words = stepWords(step, trace.headDim);
    const previous = h('vscode-button', { secondary: true, id: 'playground-previous', disabled: current === 0 }, l10n.t('Previous'));
    const next = h('vscode-button', { id: 'playground-next', disabled: current === trace.steps.length - 1 }, l10n.t('Next'));
    previous.addEventListener('click', () => this.set({ step: Math.max(0, current - 1) }));
    next.addEventListener('click', () => this.set({ step: Math.min(trace.steps.length - 1, current + 1) }));
    this.stepView.replaceChildren(
      h('h3', {}, `${current + 1} / ${trace.steps.length}: ${words.title}`),
      h('p', {}, words.explanation),
      ...(step.fullyMaskedRows?.length
        ? [
            h(
              'p',
              { class: 'notice' },
              l10n.t('Rows {0} have every key masked: their weights are uniform.', step.fullyMaskedRows.join(', ')),
            ),
          ]
        : []),
      matrixTable(step, words.title),
      h('div', { class: 'controls' }, previous, next),
    );
  }
}

/** A small matrix as a table, each cell tinted by one of ten colour classes (media/panel.css). */
function matrixTable(step: TraceStep, title: string): HTMLElement {
  const { rows, cols, values, rowLabels, colLabels } = step.matrix;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  const level = (value: number) => (max > min ? Math.max(0, Math.min(9, Math.floor(((value - min) / (max - min)) * 9.999))) : 0);
  return h(
    'table',
    { class: 'matrix', 'data-step': step.id, 'data-rows': rows, 'data-cols': cols },
    h('caption', {}, `${title}: ${rows} × ${cols}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, ''),
        ...Array.from({ length: cols }, (_, col) => h('th', { scope: 'col' }, colLabels?.[col] ?? String(col))),
      ),
    ),
    h(
      'tbody',
      {},
      ...Array.from({ length: rows }, (_, row) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, rowLabels?.[row] ?? String(row)),
          ...Array.from({ length: cols }, (_, col) => {
            const value = values[row * cols + col]!;
            return h('td', { class: `num heat-${level(value)}` }, formatValue(value));
          }),
        ),
      ),
    ),
  );
}
