/**
 * One attention map as a canvas heatmap (never a DOM node per cell): rows are the tokens that attend (queries),
 * columns the tokens attended to (keys). The pointer or the arrow keys pick a cell; its weight is announced.
 */
import { scaleIndex, VIRIDIS } from '../shared/colorScale';
import { h } from '../shared/dom';

export interface HeatmapData {
  /** `[n, n]` row-major weights. */
  map: Float32Array;
  n: number;
  labels: string[];
  /** What the map is, for announcements: "layer 2, mean of 4 heads". */
  caption: string;
}

const LABEL_LIMIT = 48;

export class Heatmap {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly readout: HTMLElement;
  private data: HeatmapData | undefined;
  private focus = { row: 0, col: 0 };
  /** Where the cells are drawn, in CSS pixels: the label margin and one cell's size. */
  private layout = { margin: 0, cell: 1 };

  constructor() {
    this.canvas = h('canvas', { class: 'heatmap-canvas', tabindex: 0, role: 'img', 'aria-label': 'Attention heatmap' });
    this.readout = h('p', { class: 'heatmap-readout', role: 'status', 'aria-live': 'polite' }, 'Point at a cell, or focus the map and use the arrow keys.');
    this.element = h('div', { class: 'heatmap' }, this.canvas, this.readout);
    this.canvas.addEventListener('mousemove', (event) => this.pointAt(event));
    this.canvas.addEventListener('keydown', (event) => this.onKey(event));
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  show(data: HeatmapData): void {
    this.data = data;
    this.canvas.setAttribute('aria-label', `Attention heatmap, ${data.caption}: ${data.n} by ${data.n} tokens. Rows attend to columns.`);
    this.focus = { row: Math.min(this.focus.row, data.n - 1), col: Math.min(this.focus.col, data.n - 1) };
    this.draw();
  }

  /** Redraws with the current theme's colours (called on theme changes too). */
  draw(): void {
    const data = this.data;
    if (!data) return;
    const { n, map } = data;
    const labelled = n <= LABEL_LIMIT;
    const ratio = window.devicePixelRatio || 1;
    const cssSize = Math.max(120, this.canvas.clientWidth);
    const margin = labelled ? Math.min(110, Math.max(...data.labels.map((label) => label.length)) * 7 + 10) : 0;
    this.canvas.width = Math.round(cssSize * ratio);
    this.canvas.height = Math.round(cssSize * ratio);
    const context = this.canvas.getContext('2d');
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    const style = getComputedStyle(document.body);
    context.fillStyle = style.getPropertyValue('--vscode-editor-background').trim() || '#1e1e1e';
    context.fillRect(0, 0, cssSize, cssSize);
    let max = 0;
    for (const value of map) if (value > max) max = value;
    // Paint the cells into an n×n image, then scale it up without smoothing: crisp at any n.
    const image = new ImageData(n, n);
    for (let index = 0; index < n * n; index += 1) {
      const colour = scaleIndex(map[index]!, max) * 3;
      image.data[index * 4] = VIRIDIS[colour]!;
      image.data[index * 4 + 1] = VIRIDIS[colour + 1]!;
      image.data[index * 4 + 2] = VIRIDIS[colour + 2]!;
      image.data[index * 4 + 3] = 255;
    }
    const offscreen = new OffscreenCanvas(n, n);
    offscreen.getContext('2d')?.putImageData(image, 0, 0);
    const grid = cssSize - margin;
    context.imageSmoothingEnabled = false;
    context.drawImage(offscreen, margin, margin, grid, grid);
    if (labelled) {
      const cell = grid / n;
      context.fillStyle = style.getPropertyValue('--vscode-foreground').trim() || '#ccc';
      context.font = `${Math.max(8, Math.min(12, cell * 0.8))}px ${style.getPropertyValue('--vscode-editor-font-family') || 'monospace'}`;
      context.textBaseline = 'middle';
      data.labels.forEach((label, index) => {
        context.textAlign = 'right';
        context.fillText(label, margin - 4, margin + (index + 0.5) * cell);
        context.save();
        context.translate(margin + (index + 0.5) * cell, margin - 4);
        context.rotate(-Math.PI / 2);
        context.textAlign = 'left';
        context.fillText(label, 0, 0);
        context.restore();
      });
    }
    this.layout = { margin, cell: grid / n };
    if (document.activeElement === this.canvas) this.outlineFocus(context);
  }

  private outlineFocus(context: CanvasRenderingContext2D): void {
    const { margin, cell } = this.layout;
    context.strokeStyle = getComputedStyle(document.body).getPropertyValue('--vscode-focusBorder').trim() || '#007fd4';
    context.lineWidth = 2;
    context.strokeRect(margin + this.focus.col * cell, margin + this.focus.row * cell, cell, cell);
  }

  private describe(row: number, col: number): string {
    const data = this.data!;
    const weight = data.map[row * data.n + col] ?? 0;
    return `“${data.labels[row]}” → “${data.labels[col]}”: ${weight.toFixed(4)} (${data.caption})`;
  }

  private pointAt(event: MouseEvent): void {
    if (!this.data) return;
    const bounds = this.canvas.getBoundingClientRect();
    const { margin, cell } = this.layout;
    const col = Math.floor((event.clientX - bounds.left - margin) / cell);
    const row = Math.floor((event.clientY - bounds.top - margin) / cell);
    if (row < 0 || col < 0 || row >= this.data.n || col >= this.data.n) return;
    this.readout.textContent = this.describe(row, col);
    this.readout.dataset.row = String(row);
    this.readout.dataset.col = String(col);
  }

  private onKey(event: KeyboardEvent): void {
    if (!this.data) return;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const last = this.data.n - 1;
    this.focus = { row: Math.max(0, Math.min(last, this.focus.row + move[0])), col: Math.max(0, Math.min(last, this.focus.col + move[1])) };
    this.readout.textContent = this.describe(this.focus.row, this.focus.col);
    this.draw();
  }
}
