/**
 * One attention map on a canvas (never a DOM node per cell): rows are the tokens that attend (queries), columns the
 * tokens attended to (keys). The pointer or the arrow keys pick a cell; its exact weight is announced; its row and
 * column are highlighted. Long inputs zoom (wheel, + and −) and pan (drag, or the arrow keys at the edge); double-click
 * or 0 resets. The current map exports as PNG (the canvas) or SVG (one rectangle per shown cell, for papers).
 */
import * as l10n from '@vscode/l10n';
import { beginCanvas, colorIndexer, cssColor, DIVERGING, lookup, themeColor, type ScaleOptions } from '../shared/colorScale';
import { h } from '../shared/dom';
import { canvasPng } from './exports';

export interface HeatmapData {
  /** `[m, m]` row-major weights. */
  map: Float32Array;
  labels: string[];
  /** What the map is, for announcements: "layer 2, head 3". */
  caption: string;
  /** A row to outline (the attention from a mask, or from the token being explained), as a display index. */
  markedRow?: number;
  /**
   * A decoder's map: a token never attends to the tokens after it, so the upper triangle is left empty (the editor's
   * background), not painted as weight 0.
   */
  causal?: boolean;
}

export interface HeatmapOptions {
  ariaLabel: string;
  /** CSS class of the canvas (sets its size). */
  className: string;
  zoomable: boolean;
  /** Signed values (differences): red positive, blue negative, white at 0, scaled to the largest magnitude. */
  diverging?: boolean;
}

/** Labels are drawn when a cell is at least this many CSS pixels. */
const LABEL_CELL_MIN = 9;

export class HeatmapCanvas {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly readout: HTMLElement;
  private data: HeatmapData | undefined;
  private scale: ScaleOptions = { scheme: 'viridis', scale: 'linear', threshold: 0 };
  private focus = { row: 0, col: 0 };
  private hover: { row: number; col: number } | undefined;
  private zoom = 1;
  private pan = { x: 0, y: 0 };
  private drag: { x: number; y: number; panX: number; panY: number } | undefined;
  /** Where cells are drawn (CSS pixels): label margin and cell size. */
  private layout = { margin: 0, cell: 1, size: 0 };
  private image: HTMLCanvasElement | undefined;
  /** Milliseconds the last full draw took (read by the benchmark). */
  lastDrawMs = 0;
  private readonly resizes = new ResizeObserver(() => this.draw());

  constructor(private readonly options: HeatmapOptions) {
    this.canvas = h('canvas', { class: options.className, tabindex: 0, role: 'img', 'aria-label': options.ariaLabel });
    this.readout = h(
      'p',
      { class: 'heatmap-readout', role: 'status', 'aria-live': 'polite' },
      l10n.t('Point at a cell, or focus the map and use the arrow keys.'),
    );
    this.element = h('div', { class: 'heatmap' }, this.canvas, this.readout);
    this.canvas.addEventListener('mousemove', (event) => this.onPointer(event));
    this.canvas.addEventListener('mouseleave', () => {
      this.hover = undefined;
      this.draw();
    });
    this.canvas.addEventListener('keydown', (event) => this.onKey(event));
    if (options.zoomable) {
      this.canvas.addEventListener('wheel', (event) => this.onWheel(event), { passive: false });
      this.canvas.addEventListener('mousedown', (event) => {
        this.drag = { x: event.clientX, y: event.clientY, panX: this.pan.x, panY: this.pan.y };
        // Listened to only while dragging: a window listener for good would keep a disposed map alive.
        window.addEventListener('mouseup', () => (this.drag = undefined), { once: true });
      });
      this.canvas.addEventListener('dblclick', () => this.resetZoom());
    }
    this.resizes.observe(this.canvas);
  }

  /** Gives back the pixels and numbers it holds (a notebook output VS Code disposed). */
  release(): void {
    this.resizes.disconnect();
    for (const canvas of [this.canvas, this.image]) {
      if (!canvas) continue;
      canvas.width = 0;
      canvas.height = 0;
    }
    this.image = undefined;
    this.data = undefined;
  }

  setScale(scale: ScaleOptions): void {
    this.scale = scale;
    this.image = undefined;
    this.draw();
  }

  show(data: HeatmapData): void {
    const sameSize = this.data?.labels.length === data.labels.length;
    this.data = data;
    this.image = undefined;
    if (!sameSize) this.resetZoom(false);
    const m = data.labels.length;
    this.focus = { row: Math.min(this.focus.row, m - 1), col: Math.min(this.focus.col, m - 1) };
    this.canvas.setAttribute(
      'aria-label',
      l10n.t('{0}, {1}: {2} by {2}. Rows attend to columns.', this.options.ariaLabel, data.caption, m),
    );
    // The readout must never describe the map that was shown before.
    if (this.hover && this.hover.row < m && this.hover.col < m) {
      this.announce(this.hover.row, this.hover.col);
    } else {
      this.hover = undefined;
      this.readout.textContent = '';
      for (const key of ['row', 'col', 'weight']) delete this.readout.dataset[key];
    }
    this.draw();
  }

  get current(): HeatmapData | undefined {
    return this.data;
  }

  private resetZoom(redraw = true): void {
    this.zoom = 1;
    this.pan = { x: 0, y: 0 };
    if (redraw) this.draw();
  }

  /** The m×m cells as an image, coloured with the current scale (rebuilt only when data or scale change). */
  private cellImage(): HTMLCanvasElement {
    if (this.image) return this.image;
    const { map, labels, causal } = this.data!;
    const m = labels.length;
    let max = 0;
    for (const value of map)
      if ((this.options.diverging ? Math.abs(value) : value) > max) max = this.options.diverging ? Math.abs(value) : value;
    const top = max > 0 ? max : 1;
    const index = this.options.diverging ? (value: number) => Math.round(((value / top + 1) / 2) * 255) : colorIndexer(this.scale, max);
    const table = this.options.diverging ? DIVERGING : lookup(this.scale.scheme);
    const background = parseBackground();
    const pixels = new ImageData(Math.max(1, m), Math.max(1, m));
    for (let cell = 0; cell < m * m; cell += 1) {
      const colour = causal && cell % m > Math.floor(cell / m) ? -1 : index(map[cell]!);
      const offset = cell * 4;
      if (colour < 0) {
        pixels.data.set(background, offset);
      } else {
        pixels.data[offset] = table[colour * 3]!;
        pixels.data[offset + 1] = table[colour * 3 + 1]!;
        pixels.data[offset + 2] = table[colour * 3 + 2]!;
      }
      pixels.data[offset + 3] = 255;
    }
    const image = document.createElement('canvas');
    image.width = Math.max(1, m);
    image.height = Math.max(1, m);
    image.getContext('2d')?.putImageData(pixels, 0, 0);
    this.image = image;
    return image;
  }

  /** Redraws with the current theme's colours (called on theme changes too). */
  draw(): void {
    const data = this.data;
    if (!data) return;
    const started = performance.now();
    const m = data.labels.length;
    const cssSize = Math.max(120, this.canvas.clientWidth);
    const baseCell = cssSize / Math.max(1, m);
    const cell = baseCell * this.zoom;
    const labelled = cell >= LABEL_CELL_MIN;
    const margin = labelled ? Math.min(120, Math.max(...data.labels.map((label) => label.length)) * 7 + 10) : 0;
    const gridSize = cssSize - margin;
    const cellSize = (gridSize / Math.max(1, m)) * this.zoom;
    this.layout = { margin, cell: cellSize, size: cssSize };
    Object.assign(this.canvas.dataset, {
      margin: String(margin),
      cell: String(cellSize),
      panX: String(this.pan.x),
      panY: String(this.pan.y),
      zoom: String(this.zoom),
      markedRow: data.markedRow !== undefined ? String(data.markedRow) : '',
    });
    const context = beginCanvas(this.canvas, cssSize, cssSize);
    if (!context) return;
    context.save();
    context.beginPath();
    context.rect(margin, margin, gridSize, gridSize);
    context.clip();
    context.imageSmoothingEnabled = false;
    context.drawImage(this.cellImage(), margin - this.pan.x, margin - this.pan.y, cellSize * m, cellSize * m);
    if (data.markedRow !== undefined && data.markedRow < m) {
      context.strokeStyle = themeColor('--vscode-editorWarning-foreground', '#cca700');
      context.lineWidth = 2;
      context.setLineDash([4, 2]);
      context.strokeRect(margin - this.pan.x + 1, margin - this.pan.y + data.markedRow * cellSize + 1, cellSize * m - 2, cellSize - 2);
      context.setLineDash([]);
    }
    const highlight = this.hover ?? (document.activeElement === this.canvas ? this.focus : undefined);
    if (highlight) {
      context.fillStyle = 'rgba(255, 255, 255, 0.12)';
      context.fillRect(margin - this.pan.x, margin - this.pan.y + highlight.row * cellSize, cellSize * m, cellSize);
      context.fillRect(margin - this.pan.x + highlight.col * cellSize, margin - this.pan.y, cellSize, cellSize * m);
      context.strokeStyle = themeColor('--vscode-focusBorder', '#007fd4');
      context.lineWidth = 2;
      context.strokeRect(
        margin - this.pan.x + highlight.col * cellSize,
        margin - this.pan.y + highlight.row * cellSize,
        cellSize,
        cellSize,
      );
    }
    context.restore();
    if (labelled) {
      context.fillStyle = themeColor('--vscode-foreground', '#cccccc');
      context.font = `${Math.max(8, Math.min(12, cellSize * 0.8))}px ${themeColor('--vscode-editor-font-family', 'monospace')}`;
      context.textBaseline = 'middle';
      data.labels.forEach((label, index) => {
        const y = margin - this.pan.y + (index + 0.5) * cellSize;
        if (y >= margin && y <= cssSize) {
          context.textAlign = 'right';
          context.fillText(label, margin - 4, y);
        }
        const x = margin - this.pan.x + (index + 0.5) * cellSize;
        if (x >= margin && x <= cssSize) {
          context.save();
          context.translate(x, margin - 4);
          context.rotate(-Math.PI / 2);
          context.textAlign = 'left';
          context.fillText(label, 0, 0);
          context.restore();
        }
      });
    }
    this.lastDrawMs = performance.now() - started;
    this.canvas.dataset.drawMs = this.lastDrawMs.toFixed(2);
    this.canvas.dataset.background = themeColor('--vscode-editor-background', '');
  }

  private cellAt(event: MouseEvent): { row: number; col: number } | undefined {
    const bounds = this.canvas.getBoundingClientRect();
    const { margin, cell } = this.layout;
    const m = this.data?.labels.length ?? 0;
    const col = Math.floor((event.clientX - bounds.left - margin + this.pan.x) / cell);
    const row = Math.floor((event.clientY - bounds.top - margin + this.pan.y) / cell);
    return row >= 0 && col >= 0 && row < m && col < m && event.clientX - bounds.left >= margin && event.clientY - bounds.top >= margin
      ? { row, col }
      : undefined;
  }

  private describe(row: number, col: number): string {
    const data = this.data!;
    if (data.causal && col > row)
      return l10n.t(
        '“{0}” cannot attend to “{1}”, which comes after it ({2})',
        data.labels[row] ?? '',
        data.labels[col] ?? '',
        data.caption,
      );
    const weight = data.map[row * data.labels.length + col] ?? 0;
    return `“${data.labels[row]}” → “${data.labels[col]}”: ${weight.toFixed(6)} (${data.caption})`;
  }

  private announce(row: number, col: number): void {
    this.readout.textContent = this.describe(row, col);
    this.readout.dataset.row = String(row);
    this.readout.dataset.col = String(col);
    this.readout.dataset.weight = String(this.data!.map[row * this.data!.labels.length + col] ?? 0);
  }

  private onPointer(event: MouseEvent): void {
    if (!this.data) return;
    if (this.drag) {
      this.pan = { x: this.drag.panX - (event.clientX - this.drag.x), y: this.drag.panY - (event.clientY - this.drag.y) };
      this.clampPan();
      this.draw();
      return;
    }
    const started = performance.now();
    const cell = this.cellAt(event);
    if (!cell) return;
    this.hover = cell;
    this.announce(cell.row, cell.col);
    this.draw();
    this.canvas.dataset.hoverMs = (performance.now() - started).toFixed(2);
  }

  private clampPan(): void {
    const m = this.data?.labels.length ?? 0;
    const extent = this.layout.cell * m - (this.layout.size - this.layout.margin);
    this.pan = { x: Math.max(0, Math.min(Math.max(0, extent), this.pan.x)), y: Math.max(0, Math.min(Math.max(0, extent), this.pan.y)) };
  }

  private zoomBy(
    factor: number,
    anchor = { x: (this.layout.size - this.layout.margin) / 2, y: (this.layout.size - this.layout.margin) / 2 },
  ): void {
    const next = Math.max(1, Math.min(64, this.zoom * factor));
    const applied = next / this.zoom;
    this.pan = { x: (this.pan.x + anchor.x) * applied - anchor.x, y: (this.pan.y + anchor.y) * applied - anchor.y };
    this.zoom = next;
    this.draw();
    this.clampPan();
    this.draw();
  }

  private onWheel(event: WheelEvent): void {
    event.preventDefault();
    const bounds = this.canvas.getBoundingClientRect();
    this.zoomBy(event.deltaY < 0 ? 1.25 : 0.8, {
      x: event.clientX - bounds.left - this.layout.margin,
      y: event.clientY - bounds.top - this.layout.margin,
    });
  }

  private onKey(event: KeyboardEvent): void {
    if (!this.data) return;
    if (this.options.zoomable && (event.key === '+' || event.key === '=' || event.key === '-' || event.key === '0')) {
      event.preventDefault();
      if (event.key === '0') this.resetZoom();
      else this.zoomBy(event.key === '-' ? 0.8 : 1.25);
      return;
    }
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const last = this.data.labels.length - 1;
    this.focus = { row: Math.max(0, Math.min(last, this.focus.row + move[0])), col: Math.max(0, Math.min(last, this.focus.col + move[1])) };
    this.hover = undefined;
    // Keep the focused cell in view when zoomed.
    const { cell, size, margin } = this.layout;
    const view = size - margin;
    const x = this.focus.col * cell - this.pan.x;
    const y = this.focus.row * cell - this.pan.y;
    if (x < 0 || x + cell > view) this.pan.x = Math.max(0, this.focus.col * cell - view / 2);
    if (y < 0 || y + cell > view) this.pan.y = Math.max(0, this.focus.row * cell - view / 2);
    this.announce(this.focus.row, this.focus.col);
    this.draw();
  }

  /** The canvas as PNG bytes. */
  toPng(): Promise<ArrayBuffer> {
    return canvasPng(this.canvas);
  }

  /** The map as SVG: one rectangle per coloured cell and every label, in the current colours. */
  toSvg(): string {
    return heatmapSvg(this.data!, this.scale);
  }
}

function parseBackground(): [number, number, number, number] {
  const probe = document.createElement('canvas').getContext('2d');
  if (!probe) return [30, 30, 30, 255];
  probe.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
  probe.fillRect(0, 0, 1, 1);
  const [r = 30, g = 30, b = 30] = probe.getImageData(0, 0, 1, 1).data;
  return [r, g, b, 255];
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A heatmap as standalone SVG (vector: scales to any size in a paper). */
export function heatmapSvg(data: HeatmapData, scale: ScaleOptions, cell = 12): string {
  const m = data.labels.length;
  const margin = Math.min(160, Math.max(...data.labels.map((label) => label.length)) * 7 + 12);
  const size = margin + m * cell;
  let max = 0;
  for (const value of data.map) if (value > max) max = value;
  const index = colorIndexer(scale, max);
  const table = lookup(scale.scheme);
  const rects: string[] = [];
  for (let row = 0; row < m; row += 1) {
    for (let col = 0; col < m; col += 1) {
      const colour = index(data.map[row * m + col]!);
      if (colour >= 0)
        rects.push(
          `<rect x="${margin + col * cell}" y="${margin + row * cell}" width="${cell}" height="${cell}" fill="${cssColor(table, colour)}"/>`,
        );
    }
  }
  const labels = data.labels
    .map((label, position) => {
      const text = escapeXml(label);
      const centre = margin + (position + 0.5) * cell;
      return `<text x="${margin - 4}" y="${centre}" text-anchor="end" dominant-baseline="middle">${text}</text><text transform="translate(${centre} ${margin - 4}) rotate(-90)" dominant-baseline="middle">${text}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="monospace" font-size="${Math.min(11, cell)}"><title>${escapeXml(data.caption)}</title>${rects.join('')}${labels}</svg>\n`;
}

/** The display row of a marked token, if it is shown. */
export function markedRowOf(token: number | undefined, groups: readonly number[][]): { markedRow?: number } {
  if (token === undefined) return {};
  const row = groups.findIndex((group) => group.includes(token));
  return row >= 0 ? { markedRow: row } : {};
}
