/**
 * The head view (as bertviz draws it): for one layer, each token on the left joined to the tokens it attends to on
 * the right, a colour per head, line opacity by weight. Hovering a token on the left keeps only what it attends to;
 * on the right, only what attends to it. Heads are switched on and off with their swatches.
 */
import * as l10n from '@vscode/l10n';
import { schemePaired } from 'd3-scale-chromatic';
import { beginCanvas, parseColor, themeColor } from '../shared/colorScale';
import { h } from '../shared/dom';
import { canvasPng, layerCsv, layerJson, type Exportable } from './exports';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';

const ROW = 18;
const COLUMN_GAP = 260;
/** Lines fainter than this are not drawn: at 512 tokens a layer has 3 million pairs. */
const MIN_WEIGHT = 0.02;

export function headColor(head: number): string {
  return schemePaired[head % schemePaired.length]!;
}

export class HeadView implements PanelView {
  readonly tab = 'head';
  readonly title = l10n.t('Head view');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly swatches: HTMLElement;
  private readonly layerSelect: HTMLElement & { value: string };
  private readonly readout: HTMLElement;
  private data: { labels: string[]; maps: Float32Array; layer: number } | undefined;
  private hover: { side: 'from' | 'to'; index: number } | undefined;
  /** Where the two token columns are drawn (CSS pixels). */
  private layout = { leftX: 0, rightX: 0 };

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.canvas = h('canvas', {
      class: 'head-view-canvas',
      tabindex: 0,
      role: 'img',
      'aria-label': l10n.t('Head view: lines from each token to the tokens it attends to'),
    });
    this.swatches = h('div', { class: 'swatches', role: 'group', 'aria-label': l10n.t('Heads shown') });
    this.layerSelect = h('vscode-single-select', { id: 'head-view-layer', 'aria-label': l10n.t('Layer') });
    this.layerSelect.addEventListener('change', () => this.context.update({ layer: Number(this.layerSelect.value) }));
    this.readout = h(
      'p',
      { class: 'head-view-readout', role: 'status', 'aria-live': 'polite' },
      l10n.t('Point at a token to see only its lines.'),
    );
    this.element = h(
      'div',
      { class: 'head-view' },
      h('div', { class: 'controls' }, h('label', { for: 'head-view-layer' }, l10n.t('Layer')), this.layerSelect, this.swatches),
      h(
        'p',
        { class: 'meta' },
        l10n.t('Left: tokens attending. Right: tokens attended to. Lines under {0} (or the threshold) are not drawn.', MIN_WEIGHT),
      ),
      h('div', { class: 'head-view-scroll' }, this.canvas),
      this.readout,
    );
    this.canvas.addEventListener('mousemove', (event) => this.onPointer(event));
    this.canvas.addEventListener('mouseleave', () => {
      this.hover = undefined;
      this.draw();
    });
  }

  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    this.layerSelect.replaceChildren(
      ...Array.from({ length: analysis.model.layers }, (_, index) =>
        h('vscode-option', { value: index, selected: index === view.layer }, l10n.t('Layer {0}', index + 1)),
      ),
    );
    this.layerSelect.value = String(view.layer);
    const shown = this.shownHeads();
    this.swatches.replaceChildren(
      ...Array.from({ length: analysis.model.heads }, (_, head) => {
        const swatch = h(
          'button',
          {
            type: 'button',
            class: `swatch swatch-${head % 12}`,
            'aria-pressed': shown.has(head),
            'data-head': head,
            title: l10n.t('Head {0}', head + 1),
          },
          String(head + 1),
        );
        swatch.addEventListener('click', () => {
          const next = new Set(this.shownHeads());
          if (next.has(head)) next.delete(head);
          else next.add(head);
          this.context.update(
            { headViewHeads: next.size === analysis.model.heads ? [] : [...next].sort((a, b) => a - b) },
            { reload: false },
          );
          swatch.setAttribute('aria-pressed', String(next.has(head)));
          this.draw();
        });
        return swatch;
      }),
    );
    const { labels, maps } = await this.api.request('layerMaps', {
      analysisId: analysis.id,
      layer: view.layer,
      options: this.context.options,
    });
    this.data = { labels, maps, layer: view.layer };
    this.draw();
  }

  private shownHeads(): Set<number> {
    const heads = this.context.analysis?.model.heads ?? 0;
    const chosen = this.context.view.headViewHeads;
    return new Set(chosen.length ? chosen : Array.from({ length: heads }, (_, head) => head));
  }

  draw(): void {
    const data = this.data;
    if (!data) return;
    const m = data.labels.length;
    const width = Math.max(360, this.canvas.clientWidth);
    const height = m * ROW + 20;
    const context = beginCanvas(this.canvas, width, height);
    if (!context) return;
    const leftX = Math.min(140, width / 3);
    const rightX = Math.min(width - 140, leftX + COLUMN_GAP);
    const y = (index: number) => 10 + (index + 0.5) * ROW;
    const minimum = Math.max(MIN_WEIGHT, this.context.view.threshold);
    let drawn = 0;
    for (const head of this.shownHeads()) {
      const [r, g, b] = parseColor(headColor(head));
      const offset = head * m * m;
      for (let from = 0; from < m; from += 1) {
        if (this.hover?.side === 'from' && this.hover.index !== from) continue;
        for (let to = 0; to < m; to += 1) {
          if (this.hover?.side === 'to' && this.hover.index !== to) continue;
          const weight = data.maps[offset + from * m + to]!;
          if (weight < minimum) continue;
          context.strokeStyle = `rgba(${r}, ${g}, ${b}, ${Math.min(1, weight).toFixed(3)})`;
          context.lineWidth = this.hover ? 2 : 1.5;
          context.beginPath();
          context.moveTo(leftX + 4, y(from));
          context.lineTo(rightX - 4, y(to));
          context.stroke();
          drawn += 1;
        }
      }
    }
    context.fillStyle = themeColor('--vscode-foreground', '#cccccc');
    context.font = `12px ${themeColor('--vscode-editor-font-family', 'monospace')}`;
    context.textBaseline = 'middle';
    data.labels.forEach((label, index) => {
      const emphasised = this.hover?.index === index;
      context.globalAlpha = !this.hover || emphasised ? 1 : 0.55;
      context.textAlign = 'right';
      context.fillText(label, leftX - 4, y(index));
      context.textAlign = 'left';
      context.fillText(label, rightX + 4, y(index));
    });
    context.globalAlpha = 1;
    this.canvas.dataset.lines = String(drawn);
    this.layout = { leftX, rightX };
  }

  private onPointer(event: MouseEvent): void {
    const data = this.data;
    if (!data) return;
    const bounds = this.canvas.getBoundingClientRect();
    const x = event.clientX - bounds.left;
    const index = Math.floor((event.clientY - bounds.top - 10) / ROW);
    const m = data.labels.length;
    const side = x < (this.layout.leftX + this.layout.rightX) / 2 ? 'from' : 'to';
    const next = index >= 0 && index < m ? ({ side, index } as const) : undefined;
    if (next?.side === this.hover?.side && next?.index === this.hover?.index) return;
    this.hover = next;
    if (next) {
      const heads = [...this.shownHeads()];
      const strongest = heads
        .flatMap((head) =>
          Array.from({ length: m }, (_, other) => ({
            head,
            other,
            weight:
              next.side === 'from' ? data.maps[head * m * m + next.index * m + other]! : data.maps[head * m * m + other * m + next.index]!,
          })),
        )
        .sort((a, b) => b.weight - a.weight)
        .slice(0, 3)
        .map(({ head, other, weight }) =>
          l10n.t('head {0} {1} “{2}” {3}', head + 1, next.side === 'from' ? '→' : '←', data.labels[other] ?? '', weight.toFixed(3)),
        );
      const label = data.labels[next.index] ?? '';
      this.readout.textContent =
        next.side === 'from'
          ? l10n.t('“{0}” (layer {1}) attends most: {2}', label, data.layer + 1, strongest.join('; '))
          : l10n.t('“{0}” (layer {1}) is attended most: {2}', label, data.layer + 1, strongest.join('; '));
    }
    this.draw();
  }

  redraw(): void {
    this.draw();
  }

  exportable(): Exportable | undefined {
    const data = this.data;
    const analysis = this.context.analysis;
    if (!data || !analysis) return undefined;
    return {
      name: `head-view-layer${data.layer + 1}`,
      png: () => canvasPng(this.canvas),
      svg: () => this.toSvg(),
      csv: () => layerCsv(data.labels, data.maps, data.layer),
      json: () => layerJson(data.labels, data.maps, { model: analysis.model.name, layer: data.layer + 1 }),
    };
  }

  /** The lines as SVG (vector). */
  private toSvg(): string {
    const data = this.data!;
    const m = data.labels.length;
    const leftX = 150;
    const rightX = leftX + COLUMN_GAP;
    const width = rightX + 150;
    const height = m * ROW + 20;
    const y = (index: number) => 10 + (index + 0.5) * ROW;
    const minimum = Math.max(MIN_WEIGHT, this.context.view.threshold);
    const lines: string[] = [];
    for (const head of this.shownHeads()) {
      for (let from = 0; from < m; from += 1) {
        for (let to = 0; to < m; to += 1) {
          const weight = data.maps[head * m * m + from * m + to]!;
          if (weight >= minimum)
            lines.push(
              `<line x1="${leftX + 4}" y1="${y(from)}" x2="${rightX - 4}" y2="${y(to)}" stroke="${headColor(head)}" stroke-opacity="${Math.min(1, weight).toFixed(3)}" stroke-width="1.5"/>`,
            );
        }
      }
    }
    const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const labels = data.labels
      .map(
        (label, index) =>
          `<text x="${leftX - 4}" y="${y(index)}" text-anchor="end" dominant-baseline="middle">${escape(label)}</text><text x="${rightX + 4}" y="${y(index)}" dominant-baseline="middle">${escape(label)}</text>`,
      )
      .join('');
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="12"><title>${escape(l10n.t('Head view, layer {0}', data.layer + 1))}</title>${lines.join('')}${labels}</svg>\n`;
  }
}
