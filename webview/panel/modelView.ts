/**
 * The model view: every layer × head as a grid of small heatmaps on one canvas, and a large focus view of the chosen
 * head. Thumbnails come downsampled from the worker (each pixel the maximum of its block); hovering reads the exact
 * weight from the full head, fetched once. Arrow keys move between heads, Enter opens one, Escape goes back.
 */
import * as l10n from '@vscode/l10n';
import { beginCanvas, colorIndexer, lookup, themeColor, type ScaleOptions } from '../shared/colorScale';
import { h } from '../shared/dom';
import { canvasPng, mapCsv, mapJson, type Exportable } from './exports';
import { HeatmapCanvas, markedRowOf } from './heatmapCanvas';
import { gridLayersPerRequest } from '../../src/shared/analysisViews';
import type { HostApi } from './hostApi';
import type { PanelContext, PanelView } from './panelContext';

/** The largest thumbnail the worker is asked for (72 heads × 64² values at 512 tokens). */
export const THUMBNAIL_SIZE = 64;
/** Room for the layer labels left of the tiles, in CSS pixels. */
const GRID_LEFT = 56;

interface Grid {
  labels: string[];
  size: number;
  thumbnails: Float32Array;
  layers: number;
  heads: number;
  /** Key/value heads: query heads that share one are drawn together, a wider gap between groups. */
  kvHeads: number;
  /** A decoder's maps: tiles leave their upper triangle empty. */
  causal: boolean;
  /** The analysis and display options the thumbnails were made for. */
  key: string;
  /** The thumbnail size asked for (the worker sends less when there are fewer tokens). */
  requested: number;
  /** Layers whose thumbnails have arrived, from the top (a long input's grid comes a few layers at a time). */
  layersReady: number;
}

export class ModelView implements PanelView {
  readonly tab = 'model';
  readonly title = l10n.t('Model');
  readonly needsAttention = true;
  readonly element: HTMLElement;
  private readonly gridCanvas: HTMLCanvasElement;
  /** The painted tiles and labels, kept so that hover and keyboard highlights only copy them back. */
  private readonly gridImage = document.createElement('canvas');
  private readonly gridResizes = new ResizeObserver(() => this.onGridResize());
  private readonly gridReadout: HTMLElement;
  private readonly gridSection: HTMLElement;
  private readonly focusSection: HTMLElement;
  private readonly focusTitle: HTMLElement;
  private readonly tableHolder: HTMLElement;
  readonly focus: HeatmapCanvas;
  private grid: Grid | undefined;
  /** Counts grid fetches: a long grid arriving in parts stops when a newer fetch starts. */
  private gridGeneration = 0;
  private layout = { left: 0, top: 0, tile: 0, gap: 0, perGroup: 1, groupGap: 0 };
  private hovered: { layer: number; head: number; row: number; col: number } | undefined;
  private showTable = false;
  /** Milliseconds the last full grid draw took (read by the benchmark). */
  lastGridDrawMs = 0;

  constructor(
    private readonly context: PanelContext,
    private readonly api: HostApi,
  ) {
    this.gridCanvas = h('canvas', {
      class: 'grid-canvas',
      tabindex: 0,
      role: 'img',
      'aria-label': l10n.t('Attention of every layer and head'),
    });
    this.gridReadout = h(
      'p',
      { class: 'grid-readout', role: 'status', 'aria-live': 'polite' },
      l10n.t('Point at a head, or focus the grid and use the arrow keys; click or press Enter to open a head.'),
    );
    this.gridSection = h(
      'section',
      { class: 'grid-section', 'aria-label': l10n.t('All heads') },
      h('p', { class: 'meta' }, l10n.t('Rows: layers. Columns: heads. Each map: rows attend to columns.')),
      this.gridCanvas,
      this.gridReadout,
    );
    this.focus = new HeatmapCanvas({ ariaLabel: l10n.t('Attention of one head'), className: 'focus-canvas', zoomable: true });
    this.focusTitle = h('h3', {});
    this.tableHolder = h('div', { class: 'table-alternative' });
    const back = h('vscode-button', { secondary: true, id: 'back-to-grid' }, l10n.t('All heads'));
    back.addEventListener('click', () => this.context.update({ focus: false }));
    const tableToggle = h('vscode-checkbox', { id: 'table-toggle', label: l10n.t('Show as table') });
    tableToggle.addEventListener('change', () => {
      this.showTable = (tableToggle as HTMLElement & { checked: boolean }).checked;
      this.renderTable();
    });
    this.focusSection = h(
      'section',
      { class: 'focus-section', 'aria-label': l10n.t('One head') },
      h('div', { class: 'controls' }, back, this.focusTitle, tableToggle),
      h('p', { class: 'meta' }, l10n.t('Wheel or + and − to zoom, drag to pan, double-click or 0 to reset. Rows attend to columns.')),
      this.focus.element,
      this.tableHolder,
    );
    this.element = h('div', { class: 'model-view' }, this.gridSection, this.focusSection);
    this.gridCanvas.addEventListener('mousemove', (event) => this.onGridPointer(event));
    this.gridCanvas.addEventListener('click', () => {
      if (this.hovered) this.context.update({ layer: this.hovered.layer, head: this.hovered.head, focus: true });
    });
    this.gridCanvas.addEventListener('keydown', (event) => this.onGridKey(event));
    this.gridCanvas.addEventListener('mouseleave', () => {
      this.hovered = undefined;
      this.composeGrid();
    });
    this.gridCanvas.addEventListener('focus', () => this.composeGrid());
    this.gridCanvas.addEventListener('blur', () => this.composeGrid());
    this.gridResizes.observe(this.gridCanvas);
  }

  release(): void {
    this.gridResizes.disconnect();
    this.focus.release();
    for (const canvas of [this.gridCanvas, this.gridImage]) {
      canvas.width = 0;
      canvas.height = 0;
    }
    this.grid = undefined;
  }

  /** Reloads what the current state needs. */
  async refresh(): Promise<void> {
    const { analysis, view } = this.context;
    if (!analysis) return;
    this.gridSection.hidden = view.focus;
    this.focusSection.hidden = !view.focus;
    if (view.focus) {
      const { labels, groups, map } = await this.api.headMap(analysis.id, view.layer, view.head, this.context.options);
      this.focusTitle.textContent = l10n.t('Layer {0}, head {1}', view.layer + 1, view.head + 1);
      this.focus.setScale(this.context.scale);
      this.focus.show({
        map,
        labels,
        caption: l10n.t('layer {0}, head {1}', view.layer + 1, view.head + 1),
        causal: analysis.model.causal,
        ...markedRowOf(this.context.markedToken, groups),
      });
      this.renderTable();
      return;
    }
    // Coming back from a head keeps the thumbnails; a new analysis, new display options or tiles grown larger
    // than the thumbnails fetch them again.
    const { hideSpecial, mergeWords } = this.context.options;
    const size = Math.max(this.grid?.requested ?? 0, this.thumbnailSize(analysis.model.heads));
    const key = `${analysis.id}|${hideSpecial}|${mergeWords}`;
    if (this.grid?.key !== key || this.grid.requested < size) {
      const { layers, heads, kvHeads, causal } = analysis.model;
      const step = gridLayersPerRequest(layers, heads, analysis.tokens.length);
      const generation = ++this.gridGeneration;
      this.gridCanvas.dataset.requestedAt = (performance.timeOrigin + performance.now()).toFixed(1);
      let grid: Grid | undefined;
      for (let first = 0; first < layers; first += step) {
        const count = Math.min(step, layers - first);
        const part = await this.api.grid(analysis.id, size, this.context.options, step < layers ? { first, count } : undefined);
        // Another analysis or other options asked for since: that request draws.
        if (generation !== this.gridGeneration) return;
        const cells = part.size * part.size;
        if (!grid) {
          grid = {
            labels: part.labels,
            size: part.size,
            thumbnails: step < layers ? new Float32Array(layers * heads * cells) : part.thumbnails,
            layers,
            heads,
            kvHeads,
            causal,
            key,
            requested: size,
            layersReady: 0,
          };
          this.grid = grid;
        }
        if (step < layers) grid.thumbnails.set(part.thumbnails, first * heads * cells);
        grid.layersReady = first + count;
        this.gridCanvas.dataset.layersReady = String(grid.layersReady);
        if (grid.layersReady < layers) this.drawGrid();
      }
      this.gridCanvas.dataset.receivedAt = (performance.timeOrigin + performance.now()).toFixed(1);
      if (step === layers) this.gridCanvas.dataset.source = this.api.lastGridSource;
    }
    this.drawGrid();
  }

  redraw(): void {
    this.focus.setScale(this.context.scale);
    this.drawGrid();
    this.focus.draw();
  }

  exportable(): Exportable | undefined {
    const { analysis, view } = this.context;
    if (!analysis) return undefined;
    const focus = view.focus ? this.focus.current : undefined;
    if (!focus) {
      return this.grid
        ? { name: 'attention-all-heads', png: () => canvasPng(this.gridCanvas), svg: () => this.gridSvg(), csv: 'tensor', json: 'tensor' }
        : undefined;
    }
    const meta = { model: analysis.model.name, layer: view.layer + 1, head: view.head + 1, options: this.context.options };
    return {
      name: `attention-layer${view.layer + 1}-head${view.head + 1}`,
      png: () => this.focus.toPng(),
      svg: () => this.focus.toSvg(),
      csv: () => mapCsv(focus),
      json: () => mapJson(focus, meta),
      headMap: { layer: view.layer, head: view.head, options: this.context.options, caption: focus.caption },
    };
  }

  /**
   * Thumbnails as large as a tile is in device pixels (in steps of 8, at most THUMBNAIL_SIZE): each pixel then shows
   * the maximum of its block, where larger thumbnails would be thinned out again by scaling down, and cost
   * transfer time (72 heads × 64² pooled cells travel as 590 KB of bfloat16).
   */
  private thumbnailSize(heads: number): number {
    const width = Math.max(200, this.gridCanvas.clientWidth);
    const gap = heads > 8 ? 4 : 6;
    const tile = Math.max(8, Math.floor((width - GRID_LEFT - gap * heads) / heads));
    const pixels = Math.ceil(tile * (window.devicePixelRatio || 1));
    return Math.min(THUMBNAIL_SIZE, Math.max(16, Math.ceil(pixels / 8) * 8));
  }

  private onGridResize(): void {
    const grid = this.grid;
    const analysis = this.context.analysis;
    if (grid && analysis && !this.gridSection.hidden && grid.size < grid.labels.length && this.thumbnailSize(grid.heads) > grid.requested) {
      void this.refresh().catch((error: unknown) => this.context.setStatus(error instanceof Error ? error.message : String(error)));
      return;
    }
    this.drawGrid();
  }

  /** Paints every tile (the expensive part) into an offscreen image, then puts it on screen. */
  drawGrid(): void {
    const grid = this.grid;
    if (!grid || this.gridSection.hidden) return;
    const started = performance.now();
    const width = Math.max(200, this.gridCanvas.clientWidth);
    const left = GRID_LEFT;
    const gap = grid.heads > 8 ? 4 : 6;
    const grouped = grid.kvHeads < grid.heads;
    const perGroup = grouped ? grid.heads / grid.kvHeads : 1;
    const groupGap = grouped ? 3 * gap : 0;
    const tile = Math.max(8, Math.floor((width - left - gap * grid.heads - groupGap * (grid.kvHeads - 1)) / grid.heads));
    const headerTop = grouped ? 36 : 22;
    const height = headerTop + grid.layers * (tile + gap);
    this.layout = { left, top: headerTop, tile, gap, perGroup, groupGap };
    Object.assign(this.gridCanvas.dataset, {
      left: String(left),
      top: String(headerTop),
      tile: String(tile),
      gap: String(gap),
      perGroup: String(perGroup),
      groupGap: String(groupGap),
    });
    this.gridCanvas.dataset.layers = String(grid.layers);
    this.gridCanvas.dataset.heads = String(grid.heads);
    this.gridCanvas.dataset.tokens = String(grid.labels.length);
    this.gridCanvas.dataset.thumbnail = String(grid.size);
    this.gridCanvas.setAttribute(
      'aria-label',
      l10n.t('Attention of {0} layers × {1} heads; arrow keys move between heads, Enter opens one', grid.layers, grid.heads),
    );
    this.gridCanvas.classList.toggle('tall', height > 600);
    const context = beginCanvas(this.gridImage, width, height);
    if (!context) return;
    context.fillStyle = themeColor('--vscode-foreground', '#cccccc');
    context.font = `11px ${themeColor('--vscode-font-family', 'sans-serif')}`;
    context.textBaseline = 'middle';
    const table = lookup(this.context.scale.scheme);
    const s = grid.size;
    // A layer's tiles are painted side by side into one image and put on a canvas once, then scaled from it tile by
    // tile: one pixel upload per layer instead of one per head.
    const image = new ImageData(s * grid.heads, s);
    const rowCanvas = document.createElement('canvas');
    rowCanvas.width = s * grid.heads;
    rowCanvas.height = s;
    const rowContext = rowCanvas.getContext('2d')!;
    context.imageSmoothingEnabled = false;
    for (let layer = 0; layer < grid.layers; layer += 1) {
      context.textAlign = 'right';
      context.fillText(l10n.t('Layer {0}', layer + 1), left - 6, headerTop + layer * (tile + gap) + tile / 2);
      for (let head = 0; head < grid.heads; head += 1) {
        if (layer === 0) {
          context.textAlign = 'center';
          context.fillText(l10n.t('H{0}', head + 1), this.headLeft(head) + tile / 2, headerTop - 9);
          if (grouped && head % perGroup === 0) {
            const group = head / perGroup;
            const span = perGroup * (tile + gap) - gap;
            context.fillText(l10n.t('KV head {0}', group + 1), this.headLeft(head) + span / 2, 9);
          }
        }
        const offset = (layer * grid.heads + head) * s * s;
        let max = 0;
        for (let index = 0; index < s * s; index += 1) max = Math.max(max, grid.thumbnails[offset + index]!);
        paintTile(image, head * s, grid.thumbnails.subarray(offset, offset + s * s), this.context.scale, max, table, grid.causal);
      }
      rowContext.putImageData(image, 0, 0);
      for (let head = 0; head < grid.heads; head += 1)
        context.drawImage(rowCanvas, head * s, 0, s, s, this.headLeft(head), headerTop + layer * (tile + gap), tile, tile);
    }
    this.gridCanvas.width = this.gridImage.width;
    this.gridCanvas.height = this.gridImage.height;
    this.gridCanvas.dataset.cssWidth = String(width);
    this.gridCanvas.dataset.cssHeight = String(height);
    this.composeGrid();
    this.lastGridDrawMs = performance.now() - started;
    this.gridCanvas.dataset.drawMs = this.lastGridDrawMs.toFixed(2);
    // On the shared clock of every frame in the browser: the benchmark times a command in the workbench to this.
    this.gridCanvas.dataset.drawnAt = (performance.timeOrigin + performance.now()).toFixed(1);
    this.gridCanvas.dataset.background = themeColor('--vscode-editor-background', '');
  }

  /** The painted tiles plus the highlight of the hovered or selected head: all a pointer move needs to redo. */
  private composeGrid(): void {
    const context = this.gridCanvas.getContext('2d');
    if (!context || this.gridImage.width === 0) return;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.drawImage(this.gridImage, 0, 0);
    if (document.activeElement !== this.gridCanvas && !this.hovered) return;
    const { top, tile, gap } = this.layout;
    const target = this.hovered ?? this.context.view;
    const ratio = this.gridImage.width / Number(this.gridCanvas.dataset.cssWidth || this.gridImage.width);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.strokeStyle = themeColor('--vscode-focusBorder', '#007fd4');
    context.lineWidth = 2;
    context.strokeRect(this.headLeft(target.head) - 1, top + target.layer * (tile + gap) - 1, tile + 2, tile + 2);
  }

  /** Where a head's tiles start (CSS pixels): heads in order, a wider gap after each key/value group. */
  private headLeft(head: number): number {
    const { left, tile, gap, perGroup, groupGap } = this.layout;
    return left + head * (tile + gap) + Math.floor(head / perGroup) * groupGap;
  }

  private onGridPointer(event: MouseEvent): void {
    const grid = this.grid;
    if (!grid) return;
    const started = performance.now();
    const bounds = this.gridCanvas.getBoundingClientRect();
    const { left, top, tile, gap } = this.layout;
    const x = event.clientX - bounds.left - left;
    const y = event.clientY - bounds.top - top;
    const pointerX = event.clientX - bounds.left;
    let head = -1;
    for (let candidate = 0; candidate < grid.heads; candidate += 1) if (pointerX >= this.headLeft(candidate)) head = candidate;
    const layer = Math.floor(y / (tile + gap));
    const inTile = { x: head >= 0 ? pointerX - this.headLeft(head) : -1, y: y - layer * (tile + gap) };
    if (head < 0 || layer < 0 || head >= grid.heads || layer >= grid.layers || inTile.x >= tile || inTile.y >= tile || x < 0 || y < 0)
      return;
    const m = grid.labels.length;
    const row = Math.min(m - 1, Math.floor((inTile.y / tile) * m));
    const col = Math.min(m - 1, Math.floor((inTile.x / tile) * m));
    const changedTile = this.hovered?.layer !== layer || this.hovered.head !== head;
    this.hovered = { layer, head, row, col };
    if (grid.size === m) {
      const weight = grid.thumbnails[(layer * grid.heads + head) * m * m + row * m + col]!;
      this.describe(layer, head, row, col, weight);
    } else {
      // Downsampled: read the exact weight from the full head (fetched once, then local).
      void this.api.headMap(this.context.analysis!.id, layer, head, this.context.options).then(({ map }) => {
        if (this.hovered?.layer === layer && this.hovered.head === head && this.hovered.row === row && this.hovered.col === col) {
          this.describe(layer, head, row, col, map[row * m + col]!);
        }
      });
    }
    if (changedTile) this.composeGrid();
    this.gridCanvas.dataset.hoverMs = (performance.now() - started).toFixed(2);
  }

  private describe(layer: number, head: number, row: number, col: number, weight: number): void {
    const labels = this.grid!.labels;
    this.gridReadout.textContent = l10n.t(
      'Layer {0}, head {1}: “{2}” → “{3}”: {4}',
      layer + 1,
      head + 1,
      labels[row] ?? '',
      labels[col] ?? '',
      weight.toFixed(6),
    );
    Object.assign(this.gridReadout.dataset, {
      layer: String(layer),
      head: String(head),
      row: String(row),
      col: String(col),
      weight: String(weight),
    });
  }

  private onGridKey(event: KeyboardEvent): void {
    const grid = this.grid;
    if (!grid) return;
    const { layer, head } = this.context.view;
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.context.update({ focus: true });
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const next = {
      layer: Math.max(0, Math.min(grid.layers - 1, layer + move[0])),
      head: Math.max(0, Math.min(grid.heads - 1, head + move[1])),
    };
    this.hovered = undefined;
    this.context.update(next, { reload: false });
    this.gridReadout.textContent = l10n.t('Layer {0}, head {1}. Press Enter to open it.', next.layer + 1, next.head + 1);
    this.composeGrid();
  }

  /** The table alternative of the focused head: each query token's five most attended tokens. */
  private renderTable(): void {
    this.tableHolder.replaceChildren();
    const data = this.focus.current;
    if (!this.showTable || !data) return;
    const m = data.labels.length;
    const rows = data.labels.map((label, row) => {
      const ranked = Array.from(data.map.subarray(row * m, (row + 1) * m), (weight, col) => ({ weight, col }))
        .sort((a, b) => b.weight - a.weight)
        .slice(0, 5);
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, label),
        ...ranked.map(({ weight, col }) => h('td', {}, `${data.labels[col]} ${weight.toFixed(4)}`)),
      );
    });
    this.tableHolder.append(
      h(
        'table',
        { class: 'attention-table' },
        h('caption', {}, l10n.t('{0}: the five tokens each token attends to most', data.caption)),
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col' }, l10n.t('Token')), ...[1, 2, 3, 4, 5].map((rank) => h('th', { scope: 'col' }, `#${rank}`))),
        ),
        h('tbody', {}, ...rows),
      ),
    );
  }

  /** The grid as SVG: each head a group of rectangles (vector, for papers). */
  private gridSvg(): string {
    const grid = this.grid!;
    const s = grid.size;
    const cell = Math.max(1, Math.floor(96 / s));
    const tile = s * cell;
    const gap = 8;
    const left = 70;
    const top = 24;
    const width = left + grid.heads * (tile + gap);
    const height = top + grid.layers * (tile + gap);
    const table = lookup(this.context.scale.scheme);
    const parts: string[] = [];
    for (let layer = 0; layer < grid.layers; layer += 1) {
      parts.push(
        `<text x="${left - 8}" y="${top + layer * (tile + gap) + tile / 2}" text-anchor="end" dominant-baseline="middle">${l10n.t('Layer {0}', layer + 1)}</text>`,
      );
      for (let head = 0; head < grid.heads; head += 1) {
        if (layer === 0)
          parts.push(
            `<text x="${left + head * (tile + gap) + tile / 2}" y="${top / 2}" text-anchor="middle">${l10n.t('H{0}', head + 1)}</text>`,
          );
        const offset = (layer * grid.heads + head) * s * s;
        let max = 0;
        for (let index = 0; index < s * s; index += 1) max = Math.max(max, grid.thumbnails[offset + index]!);
        const index = colorIndexer(this.context.scale, max);
        const rects: string[] = [];
        for (let cellIndex = 0; cellIndex < s * s; cellIndex += 1) {
          const colour = index(grid.thumbnails[offset + cellIndex]!);
          if (colour >= 0)
            rects.push(
              `<rect x="${(cellIndex % s) * cell}" y="${Math.floor(cellIndex / s) * cell}" width="${cell}" height="${cell}" fill="rgb(${table[colour * 3]},${table[colour * 3 + 1]},${table[colour * 3 + 2]})"/>`,
            );
        }
        parts.push(
          `<g transform="translate(${left + head * (tile + gap)} ${top + layer * (tile + gap)})"><title>${l10n.t('Layer {0}, head {1}', layer + 1, head + 1)}</title>${rects.join('')}</g>`,
        );
      }
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">${parts.join('')}</svg>\n`;
  }
}

/**
 * Colours one thumbnail into an image, its left edge at column `left` (background where the scale leaves cells
 * uncoloured, and a causal map's upper triangle: a downsampled block above the diagonal holds only keys after all its
 * queries).
 */
function paintTile(
  image: ImageData,
  left: number,
  values: Float32Array,
  scale: ScaleOptions,
  max: number,
  table: Uint8ClampedArray,
  causal: boolean,
): void {
  const index = colorIndexer(scale, max);
  const side = Math.round(Math.sqrt(values.length));
  for (let cell = 0; cell < values.length; cell += 1) {
    const row = Math.floor(cell / side);
    const column = cell - row * side;
    const colour = causal && column > row ? -1 : index(values[cell]!);
    const offset = (row * image.width + left + column) * 4;
    if (colour < 0) {
      image.data[offset] = 0;
      image.data[offset + 1] = 0;
      image.data[offset + 2] = 0;
      image.data[offset + 3] = 0;
    } else {
      image.data[offset] = table[colour * 3]!;
      image.data[offset + 1] = table[colour * 3 + 1]!;
      image.data[offset + 2] = table[colour * 3 + 2]!;
      image.data[offset + 3] = 255;
    }
  }
}
