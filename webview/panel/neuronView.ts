/**
 * The neuron view: how one head turns one token's query into attention. From the model's own tensors: the query q,
 * every key k, their element-wise products, the dot products q·k, the scaled scores q·k/√d and their softmax, next to
 * the attention the model reported: they agree, which is the point.
 */
import * as l10n from '@vscode/l10n';
import { softmaxRows } from '../../src/engine';
import { beginCanvas, DIVERGING, themeColor } from '../shared/colorScale';
import { h } from '../shared/dom';
import { canvasPng, type Exportable } from './exports';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';

const ROW = 16;

export interface NeuronData {
  labels: string[];
  query: Float32Array;
  keys: Float32Array;
  scale: number;
  probabilities: Float32Array;
  dots: Float64Array;
  scores: Float64Array;
  softmax: Float64Array;
}

export class NeuronView implements PanelView {
  readonly tab = 'neuron';
  readonly title = l10n.t('Neuron');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly layerSelect: HTMLElement & { value: string };
  private readonly headSelect: HTMLElement & { value: string };
  private readonly tokenSelect: HTMLElement & { value: string };
  private readonly explanation: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLElement;
  private readonly table: HTMLElement;
  private data: NeuronData | undefined;
  /** Where the strips are drawn (CSS pixels). */
  private layout = { labelWidth: 0, cell: 1, gap: 0, d: 0 };

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    const select = (id: string, label: string) => h('vscode-single-select', { id, 'aria-label': label }) as HTMLElement & { value: string };
    this.layerSelect = select('neuron-layer', l10n.t('Layer'));
    this.headSelect = select('neuron-head', l10n.t('Head'));
    this.tokenSelect = select('neuron-token', l10n.t('Query token'));
    this.layerSelect.addEventListener('change', () => this.context.update({ layer: Number(this.layerSelect.value) }));
    this.headSelect.addEventListener('change', () => this.context.update({ head: Number(this.headSelect.value) }));
    this.tokenSelect.addEventListener('change', () => this.context.update({ query: Number(this.tokenSelect.value) }));
    this.explanation = h('p', { class: 'meta' });
    this.canvas = h('canvas', {
      class: 'neuron-canvas',
      tabindex: 0,
      role: 'img',
      'aria-label': l10n.t('Query, keys and their element-wise products'),
    });
    this.readout = h('p', { class: 'neuron-readout', role: 'status', 'aria-live': 'polite' }, l10n.t('Point at a cell to read it.'));
    this.table = h('div', { class: 'neuron-table' });
    this.element = h(
      'div',
      { class: 'neuron-view' },
      h(
        'div',
        { class: 'controls' },
        h('label', { for: 'neuron-layer' }, l10n.t('Layer')),
        this.layerSelect,
        h('label', { for: 'neuron-head' }, l10n.t('Head')),
        this.headSelect,
        h('label', { for: 'neuron-token' }, l10n.t('Query token')),
        this.tokenSelect,
      ),
      this.explanation,
      h('div', { class: 'neuron-body' }, h('div', { class: 'neuron-canvas-scroll' }, this.canvas), this.table),
      this.readout,
    );
    this.canvas.addEventListener('mousemove', (event) => this.onPointer(event));
  }

  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    const options = (count: number, chosen: number, label: (index: number) => string) =>
      Array.from({ length: count }, (_, index) => h('vscode-option', { value: index, selected: index === chosen }, label(index)));
    this.layerSelect.replaceChildren(...options(analysis.model.layers, view.layer, (index) => l10n.t('Layer {0}', index + 1)));
    this.headSelect.replaceChildren(...options(analysis.model.heads, view.head, (index) => l10n.t('Head {0}', index + 1)));
    const query = Math.min(view.query, analysis.tokens.length - 1);
    this.tokenSelect.replaceChildren(...options(analysis.tokens.length, query, (index) => `${index}: ${analysis.tokens[index]!.text}`));
    this.layerSelect.value = String(view.layer);
    this.headSelect.value = String(view.head);
    this.tokenSelect.value = String(query);
    const raw = await this.api.request('neuron', { analysisId: analysis.id, layer: view.layer, head: view.head, query });
    const n = raw.labels.length;
    const d = raw.query.length;
    const dots = new Float64Array(n);
    for (let key = 0; key < n; key += 1) {
      let sum = 0;
      for (let index = 0; index < d; index += 1) sum += raw.query[index]! * raw.keys[key * d + index]!;
      dots[key] = sum;
    }
    const scores = dots.map((value) => value * raw.scale);
    const softmax = softmaxRows(Float64Array.from(scores), 1, n).weights;
    this.data = { ...raw, dots, scores, softmax };
    this.explanation.textContent = l10n.t(
      'The query q of “{0}” (layer {1}, head {2}, d = {3}) against every key k: the element-wise products q⊙k, their sum q·k, the score q·k/√{3} = q·k × {4}, and the softmax over the keys. The last column is the attention the model itself reported for this token.',
      raw.labels[query] ?? '',
      view.layer + 1,
      view.head + 1,
      d,
      raw.scale.toFixed(4),
    );
    this.draw();
    this.renderTable();
  }

  redraw(): void {
    this.draw();
  }

  exportable(): Exportable | undefined {
    const data = this.data;
    if (!data) return undefined;
    const { view } = this.context;
    const d = data.query.length;
    return {
      name: `neuron-layer${view.layer + 1}-head${view.head + 1}-token${view.query}`,
      png: () => canvasPng(this.canvas),
      csv: () =>
        `key,q_dot_k,scaled,softmax,model_attention\n${data.labels.map((label, key) => [JSON.stringify(label), data.dots[key], data.scores[key], data.softmax[key], data.probabilities[key]].join(',')).join('\n')}\n`,
      json: () =>
        `${JSON.stringify({ layer: view.layer + 1, head: view.head + 1, query: view.query, labels: data.labels, q: Array.from(data.query), keys: Array.from({ length: data.labels.length }, (_, key) => Array.from(data.keys.subarray(key * d, (key + 1) * d))), scale: data.scale, attention: Array.from(data.probabilities) })}\n`,
    };
  }

  private draw(): void {
    const data = this.data;
    if (!data) return;
    const n = data.labels.length;
    const d = data.query.length;
    const labelWidth = 110;
    const gap = 16;
    // The canvas takes the width CSS gives it; cells fit the two blocks of d columns into it.
    const width = Math.max(240, this.canvas.clientWidth);
    const cell = Math.max(2, Math.min(12, Math.floor((width - labelWidth - gap) / (2 * d))));
    const height = (n + 2) * ROW;
    const context = beginCanvas(this.canvas, width, height);
    if (!context) return;
    let limit = 0;
    for (const value of data.query) limit = Math.max(limit, Math.abs(value));
    for (const value of data.keys) limit = Math.max(limit, Math.abs(value));
    let productLimit = 0;
    for (let key = 0; key < n; key += 1)
      for (let index = 0; index < d; index += 1)
        productLimit = Math.max(productLimit, Math.abs(data.query[index]! * data.keys[key * d + index]!));
    const paint = (value: number, top: number, x: number, y: number) => {
      const level = Math.round(((value / (top || 1) + 1) / 2) * 255);
      const at = Math.max(0, Math.min(255, level)) * 3;
      context.fillStyle = `rgb(${DIVERGING[at]}, ${DIVERGING[at + 1]}, ${DIVERGING[at + 2]})`;
      context.fillRect(x, y, cell, ROW - 2);
    };
    context.fillStyle = themeColor('--vscode-foreground', '#cccccc');
    context.font = `11px ${themeColor('--vscode-editor-font-family', 'monospace')}`;
    context.textBaseline = 'middle';
    context.textAlign = 'right';
    context.fillText('q', labelWidth - 6, ROW / 2);
    for (let index = 0; index < d; index += 1) paint(data.query[index]!, limit, labelWidth + index * cell, 0);
    context.fillStyle = themeColor('--vscode-descriptionForeground', '#999999');
    context.textAlign = 'left';
    context.fillText('k', labelWidth, ROW * 1.5);
    context.fillText('q ⊙ k', labelWidth + d * cell + gap, ROW * 1.5);
    for (let key = 0; key < n; key += 1) {
      const y = (key + 2) * ROW;
      context.fillStyle = themeColor('--vscode-foreground', '#cccccc');
      context.textAlign = 'right';
      context.fillText(data.labels[key]!, labelWidth - 6, y + ROW / 2);
      for (let index = 0; index < d; index += 1) {
        paint(data.keys[key * d + index]!, limit, labelWidth + index * cell, y);
        paint(data.query[index]! * data.keys[key * d + index]!, productLimit, labelWidth + d * cell + gap + index * cell, y);
      }
    }
    this.layout = { labelWidth, cell, gap, d };
  }

  private onPointer(event: MouseEvent): void {
    const data = this.data;
    if (!data) return;
    const bounds = this.canvas.getBoundingClientRect();
    const x = event.clientX - bounds.left - this.layout.labelWidth;
    const row = Math.floor((event.clientY - bounds.top) / ROW);
    const { cell, gap, d } = this.layout;
    const product = x >= d * cell + gap;
    const index = Math.floor((product ? x - d * cell - gap : x) / cell);
    if (x < 0 || index < 0 || index >= d) return;
    if (row === 0) {
      this.readout.textContent = `q[${index}] = ${data.query[index]!.toFixed(5)}`;
    } else if (row >= 2 && row - 2 < data.labels.length) {
      const key = row - 2;
      const k = data.keys[key * d + index]!;
      this.readout.textContent = product
        ? `q[${index}] × k[“${data.labels[key]}”][${index}] = ${data.query[index]!.toFixed(5)} × ${k.toFixed(5)} = ${(data.query[index]! * k).toFixed(5)}`
        : `k[“${data.labels[key]}”][${index}] = ${k.toFixed(5)}`;
    }
  }

  private renderTable(): void {
    const data = this.data!;
    const rows = data.labels.map((label, key) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, label),
        h('td', { class: 'num' }, data.dots[key]!.toFixed(4)),
        h('td', { class: 'num' }, data.scores[key]!.toFixed(4)),
        h('td', { class: 'num' }, data.softmax[key]!.toFixed(6)),
        h('td', { class: 'num model-weight' }, data.probabilities[key]!.toFixed(6)),
        h('td', {}, h('meter', { min: 0, max: 1, value: data.probabilities[key]!, 'aria-label': l10n.t('{0} attention', label) })),
      ),
    );
    this.table.replaceChildren(
      h(
        'table',
        { class: 'neuron-numbers' },
        h('caption', {}, l10n.t('From the products to the attention')),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[l10n.t('Key'), 'q·k', 'q·k/√d', l10n.t('softmax'), l10n.t("model's attention"), ''].map((label) =>
              h('th', { scope: 'col' }, label),
            ),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }
}
