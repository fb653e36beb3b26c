/**
 * An attention document shown with the panel's own views: the layers × heads grid with one head in focus, the head
 * view's lines, the aggregates (mean, max, rollout, flow) and the token table, under the panel's options row and
 * Export buttons. The same module is a notebook output (the renderer) and the `.attention.json` editor's page; the
 * document's maps are served in the page (`localHost.ts`), and "Open in Attention Explorer" moves them to the panel.
 */
import * as l10n from '@vscode/l10n';
import type { DisplayOptions } from '../../src/shared/analysis';
import {
  attentionTitle,
  selfAttentions,
  importedAnalysis,
  type AttentionDocument,
  type AttentionMaps,
} from '../../src/shared/attentionFile';
import type { HeldAttention } from '../../src/shared/attentionViews';
import { messageOf } from '../../src/shared/errors';
import type { ExportFormat } from '../../src/shared/panelProtocol';
import type { ScaleOptions } from '../shared/colorScale';
import { h } from '../shared/dom';
import { AggregatesView } from '../panel/aggregatesView';
import { csvField } from '../panel/exports';
import { HeadView } from '../panel/headView';
import { HostApi } from '../panel/hostApi';
import { ModelView } from '../panel/modelView';
import type { PanelContext, PanelView } from '../panel/panelContext';
import { renderPredictionCard } from '../panel/predictionCard';
import { defaultViewState, restoreViewState, type Tab, type ViewState } from '../panel/state';
import { renderExportButtons, renderToolbar, toolbarActions } from '../panel/toolbar';
import { TokensView } from '../panel/tokensView';
import { localHostChannel } from './localHost';

/** What the page's host does for it (the notebook renderer's messaging, or the editor's webview channel). */
export interface OutputBridge {
  /** Saves a file through VS Code's save dialog; the path, or null when cancelled. */
  save(format: ExportFormat, suggestedName: string, content: string | ArrayBuffer): Promise<{ path: string | null }>;
  /** Shows the named self-attention in the Attention Explorer panel. */
  openInPanel(attention: string): Promise<{ opened: boolean }>;
  /** Keeps the view (tab, head, options) for the next time this output is drawn. */
  saveState(state: OutputState): void;
}

/** What an output keeps across re-renders and reloads. */
export interface OutputState {
  attention: string;
  view: unknown;
}

/** The most pairs the page writes as one CSV (about 40 bytes each: some 80 MB of text). */
const MAX_PAGE_CSV_PAIRS = 2_000_000;

/** The tabs an attention document has: the ones that need a model are not offered. */
const OUTPUT_TABS: readonly Tab[] = ['model', 'head', 'aggregates', 'tokens'];

export class OutputView implements PanelContext {
  analysis: PanelContext['analysis'];
  /** The page holds its document's maps itself. */
  readonly attentionHeld = true;
  view: ViewState;
  private maps: AttentionMaps;
  private held: HeldAttention;
  private readonly views: Map<Tab, PanelView>;
  private readonly statusLine = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  private tabs: HTMLElement & { selectedIndex: number } = h('vscode-tabs', {});
  private disposed = false;

  constructor(
    private readonly root: HTMLElement,
    private readonly document: AttentionDocument,
    /** The document as it arrived (JSON), saved as it is by the JSON export of the whole tensor. */
    private readonly documentJson: () => string,
    private readonly name: string,
    private readonly bridge: OutputBridge,
    saved: OutputState | undefined,
  ) {
    const shown = selfAttentions(document);
    if (shown.length === 0) {
      throw new Error(
        l10n.t('This document has only cross-attention, between two token lists; the views show a sequence attending to itself.'),
      );
    }
    this.maps = shown.find((maps) => maps.name === saved?.attention) ?? shown[0]!;
    ({ analysis: this.analysis, held: this.held } = this.load(this.maps));
    this.view = this.initialView(saved);
    const api = new HostApi(
      localHostChannel(() => this.held, {
        export: (format, suggestedName, content) => this.bridge.save(format, suggestedName, content),
        exportTensor: (format) => this.exportTensor(format),
      }),
    );
    const views: PanelView[] = [new ModelView(this, api), new HeadView(this, api), new AggregatesView(this, api), new TokensView(this)];
    this.views = new Map(views.map((view) => [view.tab, view]));
    this.render();
  }

  get options(): DisplayOptions {
    return { hideSpecial: this.view.hideSpecial, mergeWords: this.view.mergeWords };
  }

  get scale(): ScaleOptions {
    return { scheme: this.view.scheme, scale: this.view.scale, threshold: this.view.threshold };
  }

  get markedToken(): number | undefined {
    return undefined;
  }

  readonly update = (patch: Partial<ViewState>, options: { reload?: boolean } = {}): void => {
    const tabChanged = patch.tab !== undefined && patch.tab !== this.view.tab;
    this.view = { ...this.view, ...patch };
    this.save();
    if (tabChanged) this.tabs.selectedIndex = OUTPUT_TABS.indexOf(this.view.tab);
    if (options.reload !== false) void this.refreshCurrent();
  };

  readonly setStatus = (text: string): void => {
    this.statusLine.textContent = text;
  };

  /** Theme changes: the canvases re-colour (CSS cannot reach them). */
  redraw(): void {
    if (!this.disposed) for (const view of this.views.values()) view.redraw();
  }

  /** Lets go of the canvases' pixels (a notebook with many outputs must not keep them all). */
  dispose(): void {
    this.disposed = true;
    for (const view of this.views.values()) view.release?.();
    for (const canvas of this.root.querySelectorAll('canvas')) {
      canvas.width = 0;
      canvas.height = 0;
    }
    this.root.replaceChildren();
  }

  private load(maps: AttentionMaps): { analysis: NonNullable<PanelContext['analysis']>; held: HeldAttention } {
    const source = { documentName: this.name, documentUri: '', startLine: 0, startCharacter: 0, endLine: 0, endCharacter: 0 };
    return importedAnalysis(this.document, maps, `output:${maps.name}`, source);
  }

  private initialView(saved: OutputState | undefined): ViewState {
    const layers = this.maps.layers;
    if (saved) return clampView(restoreViewState(saved.view, layers), this.maps);
    const hint = this.document.view;
    const view: ViewState = { ...defaultViewState(layers), tab: hint.tab ?? 'model' };
    if (hint.layer !== undefined) view.layer = hint.layer;
    if (hint.head !== undefined) {
      view.head = hint.head;
      if (hint.tab === 'head') view.headViewHeads = [hint.head];
    }
    return clampView(view, this.maps);
  }

  private save(): void {
    this.bridge.saveState({ attention: this.maps.name, view: this.view });
  }

  private async refreshCurrent(): Promise<void> {
    if (this.disposed) return;
    const view = this.views.get(this.view.tab);
    if (!view) return;
    try {
      await view.refresh();
    } catch (error) {
      this.setStatus(messageOf(error));
    }
  }

  private switchAttention(name: string): void {
    const maps = selfAttentions(this.document).find((candidate) => candidate.name === name);
    if (!maps || maps === this.maps) return;
    this.maps = maps;
    ({ analysis: this.analysis, held: this.held } = this.load(maps));
    this.view = clampView(this.view, maps);
    this.save();
    this.render();
  }

  private async exportTensor(format: 'csv' | 'json'): Promise<{ path: string | null }> {
    const base =
      this.name
        .replace(/\.attention\.json$/i, '')
        .replace(/[^\w.() -]+/g, '_')
        .slice(0, 120) || 'attention';
    if (format === 'json') return this.bridge.save('json', `${base}.attention.json`, this.documentJson());
    // One line per pair: the page builds it as one string, which must stay far below what a string can hold.
    const pairs = this.held.layers.length * this.held.heads * this.held.n * this.held.n;
    if (pairs > MAX_PAGE_CSV_PAIRS) {
      throw new Error(
        l10n.t(
          'The whole tensor has {0} pairs, too many to write as CSV from here; use Open in Attention Explorer and export the CSV from the panel, or export JSON.',
          pairs.toLocaleString(),
        ),
      );
    }
    return this.bridge.save('csv', `${base}-${this.maps.name}.csv`, tensorCsv(this.held));
  }

  private async export(format: ExportFormat): Promise<void> {
    const target = this.views.get(this.view.tab)?.exportable();
    const make = target?.[format];
    if (!target || !make) {
      this.setStatus(l10n.t('This view has nothing to export as {0}.', format.toUpperCase()));
      return;
    }
    try {
      const result =
        make === 'tensor'
          ? await this.exportTensor(format === 'csv' ? 'csv' : 'json')
          : await this.bridge.save(format, `${target.name}.${format}`, await make());
      this.setStatus(result.path ? l10n.t('Saved {0}', result.path) : l10n.t('Export cancelled.'));
    } catch (error) {
      this.setStatus(messageOf(error));
    }
  }

  private header(): HTMLElement {
    const shown = selfAttentions(this.document);
    const picker =
      shown.length > 1
        ? (h(
            'vscode-single-select',
            { class: 'attention-picker', 'aria-label': l10n.t('Which attention') },
            ...shown.map((maps) => h('vscode-option', { value: maps.name, selected: maps === this.maps }, maps.name)),
          ) as HTMLElement & { value: string })
        : undefined;
    picker?.addEventListener('change', () => this.switchAttention(picker.value));
    const open = h(
      'button',
      { type: 'button', class: 'compact-button open-in-panel', title: l10n.t('Show these maps in the Attention Explorer panel') },
      l10n.t('Open in Attention Explorer'),
    );
    open.addEventListener('click', () => {
      this.bridge.openInPanel(this.maps.name).then(
        (result) => this.setStatus(result.opened ? l10n.t('Opened in the Attention Explorer panel.') : l10n.t('Not opened.')),
        (error: unknown) => this.setStatus(messageOf(error)),
      );
    });
    const cross = this.document.attentions.filter((maps) => maps.queries !== maps.keys);
    return h(
      'header',
      {},
      h('h1', {}, attentionTitle(this.document, this.maps)),
      h(
        'p',
        { class: 'meta' },
        l10n.t('{0} layers × {1} heads, {2} tokens', this.maps.layers, this.maps.heads, this.maps.rows),
        // Only some of the model's layers were kept (include_layers): the views number the kept ones from 1.
        this.maps.layerIndices.some((layer, index) => layer !== index)
          ? ` · ${l10n.t("the model's layers {0}, shown as layers 1 to {1}", this.maps.layerIndices.map((layer) => layer + 1).join(', '), this.maps.layers)}`
          : '',
        cross.length > 0
          ? ` · ${l10n.t('cross-attention ({0}) is in the document but not drawn here', cross.map((maps) => maps.name).join(', '))}`
          : '',
      ),
      picker ?? null,
      h('span', { class: 'header-gap' }),
      open,
      renderExportButtons((format) => void this.export(format)),
      this.statusLine,
    );
  }

  private render(): void {
    const analysis = this.analysis!;
    this.tabs = h('vscode-tabs', { 'selected-index': Math.max(0, OUTPUT_TABS.indexOf(this.view.tab)) });
    for (const tab of OUTPUT_TABS) {
      const view = this.views.get(tab)!;
      this.tabs.append(h('vscode-tab-header', { slot: 'header', 'data-tab': tab }, view.title), h('vscode-tab-panel', {}, view.element));
    }
    this.tabs.addEventListener('vsc-tabs-select', (event) => {
      const tab = OUTPUT_TABS[(event as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex];
      if (tab && tab !== this.view.tab) this.update({ tab });
    });
    const card = renderPredictionCard(analysis, false, { showToken: () => undefined });
    this.root.replaceChildren(this.header(), card, renderToolbar(this.view, toolbarActions(this)), this.tabs);
    void this.views.get('tokens')?.refresh();
    void this.refreshCurrent();
  }
}

function clampView(view: ViewState, maps: AttentionMaps): ViewState {
  const tab = OUTPUT_TABS.includes(view.tab) ? view.tab : 'model';
  return {
    ...view,
    tab,
    layer: Math.min(view.layer, maps.layers - 1),
    head: Math.min(view.head, maps.heads - 1),
    query: Math.min(view.query, maps.rows - 1),
    headViewHeads: view.headViewHeads.filter((head) => head < maps.heads),
  };
}

/** The whole tensor as the panel's CSV export writes it: one row per pair, layers and heads from 1, tokens from 0. */
function tensorCsv(held: HeldAttention): string {
  const { n, heads } = held;
  const labels = held.tokens.map((token) => csvField(token.text));
  const lines = ['layer,head,from_index,from_token,to_index,to_token,weight'];
  held.layers.forEach((data, layer) => {
    for (let head = 0; head < heads; head += 1) {
      for (let row = 0; row < n; row += 1) {
        for (let col = 0; col < n; col += 1) {
          lines.push(`${layer + 1},${head + 1},${row},${labels[row]},${col},${labels[col]},${data[(head * n + row) * n + col]}`);
        }
      }
    }
  });
  return `${lines.join('\n')}\n`;
}
