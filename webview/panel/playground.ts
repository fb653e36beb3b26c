/**
 * The playground walks attention step by step with real matrices: X → Q, K, V → QKᵀ → /√d_k → softmax → ×V → concat →
 * W_O, computed here by the same engine the extension uses. Two examples: the seed article's NumPy example
 * (np.random.seed(42); Q, K, V = randn(2, 3, 4)), whose numbers are NumPy's to the last digit, and multi-head attention
 * on random inputs of a chosen size, with or without the positional encoding.
 */
import { NumpyRandom, traceMultiHeadAttention, traceScaledDotProductAttention, type AttentionTrace, type Matrix, type TraceStep } from '../../src/engine';
import { h } from '../shared/dom';
import type { PanelContext } from './panelContext';
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
  const matrix = (rows: number, cols: number, scale = 1): Matrix => ({ rows, cols, data: random.randn(rows, cols).map((value) => value * scale) });
  const x = matrix(n, d);
  const weight = 1 / Math.sqrt(d);
  const params = {
    wq: matrix(d, d, weight), bq: new Float64Array(d),
    wk: matrix(d, d, weight), bk: new Float64Array(d),
    wv: matrix(d, d, weight), bv: new Float64Array(d),
    wo: matrix(d, d, weight), bo: new Float64Array(d),
  };
  return traceMultiHeadAttention(x, params, { heads, positionalEncoding: positional, tokens: Array.from({ length: n }, (_, index) => `t${index}`) });
}

/** NumPy prints 8 decimals by default; the article example is shown the same way. */
export function formatValue(value: number): string {
  return value.toFixed(8);
}

export class Playground {
  readonly element: HTMLElement;
  private readonly controls: HTMLElement;
  private readonly steps: HTMLElement;
  private readonly stepView: HTMLElement;
  private trace: AttentionTrace | undefined;
  private traceKey = '';

  constructor(private readonly context: PanelContext) {
    this.controls = h('div', { class: 'controls playground-controls' });
    this.steps = h('ol', { class: 'playground-steps', 'aria-label': 'Steps' });
    this.stepView = h('section', { class: 'playground-step', 'aria-live': 'polite' });
    this.element = h(
      'div',
      { class: 'playground' },
      h('p', { class: 'meta' }, 'Attention as a computation, one step at a time, with the engine the extension uses. The article example reproduces what NumPy prints.'),
      this.controls,
      h('div', { class: 'playground-body' }, h('nav', { 'aria-label': 'Playground steps' }, this.steps), this.stepView),
    );
  }

  get current(): TraceStep | undefined {
    return this.trace?.steps[Math.min(this.context.view.playground.step, this.trace.steps.length - 1)];
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
    const example = h('vscode-single-select', { id: 'playground-example', 'aria-label': 'Example' },
      h('vscode-option', { value: 'article', selected: state.example === 'article' }, 'The article\'s NumPy example (seed 42)'),
      h('vscode-option', { value: 'random', selected: state.example === 'random' }, 'Multi-head attention on random inputs'),
    ) as HTMLElement & { value: string };
    example.addEventListener('change', () => this.set({ example: example.value as 'article' | 'random', step: 0 }));
    const children: HTMLElement[] = [h('label', { for: 'playground-example' }, 'Example'), example];
    if (state.example === 'random') {
      const number = (id: string, label: string, value: number, min: number, max: number, key: 'seed' | 'n' | 'd' | 'heads') => {
        const field = h('vscode-textfield', { id, type: 'number', min, max, value, 'aria-label': label, class: 'narrow' }) as HTMLElement & { value: string };
        field.addEventListener('change', () => {
          const parsed = Math.round(Number(field.value));
          if (Number.isFinite(parsed) && parsed >= min && parsed <= max) this.set({ [key]: parsed, step: 0 });
          else this.context.setStatus(`${label} must be a whole number from ${min} to ${max}.`);
        });
        return [h('label', { for: id }, label), field];
      };
      const positional = h('vscode-checkbox', { id: 'playground-positional', label: 'Add the positional encoding', checked: state.positional }) as HTMLElement & { checked: boolean };
      positional.addEventListener('change', () => this.set({ positional: positional.checked, step: 0 }));
      children.push(...number('playground-seed', 'Seed', state.seed, 0, 4294967295, 'seed'), ...number('playground-n', 'Tokens', state.n, 1, 16, 'n'), ...number('playground-d', 'Dimension', state.d, 2, 32, 'd'), ...number('playground-heads', 'Heads', state.heads, 1, 8, 'heads'), positional);
    }
    this.controls.replaceChildren(...children);
  }

  private renderSteps(state: PlaygroundState): void {
    const trace = this.trace!;
    const current = Math.min(state.step, trace.steps.length - 1);
    this.steps.replaceChildren(
      ...trace.steps.map((step, index) => {
        const button = h('button', { type: 'button', class: 'step-link', 'aria-current': index === current ? 'step' : undefined, 'data-step': step.id }, step.batch !== undefined ? `${step.title} (batch ${step.batch})` : step.title);
        button.addEventListener('click', () => this.set({ step: index }));
        return h('li', {}, button);
      }),
    );
    const step = trace.steps[current]!;
    const previous = h('vscode-button', { secondary: true, id: 'playground-previous', disabled: current === 0 }, 'Previous');
    const next = h('vscode-button', { id: 'playground-next', disabled: current === trace.steps.length - 1 }, 'Next');
    previous.addEventListener('click', () => this.set({ step: Math.max(0, current - 1) }));
    next.addEventListener('click', () => this.set({ step: Math.min(trace.steps.length - 1, current + 1) }));
    this.stepView.replaceChildren(
      h('h3', {}, `${current + 1} / ${trace.steps.length}: ${step.title}${step.batch !== undefined ? ` (batch ${step.batch})` : ''}`),
      h('p', {}, step.explanation),
      ...(step.fullyMaskedRows?.length ? [h('p', { class: 'notice' }, `Rows ${step.fullyMaskedRows.join(', ')} have every key masked: their weights are uniform.`)] : []),
      matrixTable(step),
      h('div', { class: 'controls' }, previous, next),
    );
  }
}

/** A small matrix as a table, each cell tinted by one of ten colour classes (media/panel.css). */
function matrixTable(step: TraceStep): HTMLElement {
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
    h('caption', {}, `${step.title}: ${rows} × ${cols}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), ...Array.from({ length: cols }, (_, col) => h('th', { scope: 'col' }, colLabels?.[col] ?? String(col))))),
    h(
      'tbody',
      {},
      ...Array.from({ length: rows }, (_, row) =>
        h('tr', {}, h('th', { scope: 'row' }, rowLabels?.[row] ?? String(row)), ...Array.from({ length: cols }, (_, col) => {
          const value = values[row * cols + col]!;
          return h('td', { class: `num heat-${level(value)}` }, formatValue(value));
        })),
      ),
    ),
  );
}
