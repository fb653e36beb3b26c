/**
 * The attention panel's page: what it shows (the analysis, its head means, the view state), the frame around the
 * views (header, prediction card, notices, options, tabs), and the context every view reads. Each view is its own
 * module (`PanelView`); this class only holds the shared state and hands it to them.
 */
import * as l10n from '@vscode/l10n';
import type { Analysis, DisplayOptions } from '../../src/shared/analysis';
import { ATTENTION_VIEW_TABS, type AttentionViewTab } from '../../src/shared/attentionFile';
import { messageOf } from '../../src/shared/errors';
import type { ExportFormat, PanelFocus, PanelState } from '../../src/shared/panelProtocol';
import type { ScaleOptions } from '../shared/colorScale';
import { h } from '../shared/dom';
import { AggregatesView } from './aggregatesView';
import { CompareView } from './compareView';
import { ExplainView } from './explainView';
import { GenerationView } from './generationView';
import { HeadView } from './headView';
import type { HostApi } from './hostApi';
import { ModelView } from './modelView';
import { NeuronView } from './neuronView';
import { externalAttentionNotice, missingAttentionNotice, staleNotice } from './notices';
import type { PanelContext, PanelView } from './panelContext';
import { Playground } from './playground';
import { renderPredictionCard } from './predictionCard';
import { defaultViewState, restoreViewState, TABS, type Tab, type ViewState } from './state';
import { renderExportButtons, renderToolbar, toolbarActions } from './toolbar';
import { TokensView } from './tokensView';

/** The tabs that run the model again: an analysis from a file or a notebook has no model, and does not show them. */
const MODEL_TABS: ReadonlySet<Tab> = new Set<Tab>(['neuron', 'explain', 'generate']);

/** Whether the maps came from a file or a notebook output (no model, no document behind them). */
function isExternal(analysis: Analysis | undefined): boolean {
  return analysis?.prediction.task === 'none';
}

/** The tabs shown for an analysis. */
function tabsFor(analysis: Analysis | undefined): readonly Tab[] {
  return isExternal(analysis) ? TABS.filter((tab) => !MODEL_TABS.has(tab)) : TABS;
}

/** What the host sends to show an analysis. */
export interface ShownAnalysis {
  analysis: Analysis | null;
  attentionHeld: boolean;
  stale: boolean;
}

export class Panel implements PanelContext {
  analysis: Analysis | undefined;
  attentionHeld = false;
  view: ViewState = defaultViewState(1);
  /** Analyses whose text was edited after they were made (the host says so). */
  private readonly staleIds = new Set<string>();
  private readonly views: Record<Tab, PanelView>;
  private tabs: HTMLElement & { selectedIndex: number } = h('vscode-tabs', {});
  /** Which tabs {@link tabs} holds, and whether their views had attention to show. */
  private tabsKey: string | undefined;

  constructor(
    private readonly app: HTMLElement,
    private readonly api: HostApi,
    private readonly saveState: (state: PanelState) => void,
  ) {
    const views: PanelView[] = [
      new ModelView(this, api),
      new HeadView(this, api),
      new AggregatesView(this, api),
      new NeuronView(this, api),
      new ExplainView(this, api),
      new GenerationView(this, api),
      new CompareView(this, api),
      new Playground(this),
      new TokensView(this),
    ];
    this.views = Object.fromEntries(views.map((view) => [view.tab, view])) as Record<Tab, PanelView>;
    app.addEventListener('click', (event) => this.onTokenClick(event));
  }

  get options(): DisplayOptions {
    return { hideSpecial: this.view.hideSpecial, mergeWords: this.view.mergeWords };
  }

  get markedToken(): number | undefined {
    const marked = this.view.marked;
    return marked !== undefined && this.analysis && marked < this.analysis.tokens.length ? marked : undefined;
  }

  get scale(): ScaleOptions {
    return { scheme: this.view.scheme, scale: this.view.scale, threshold: this.view.threshold };
  }

  /** Changes the view state, saves it, and (unless told not to) refreshes the current view. */
  readonly update = (patch: Partial<ViewState>, options: { reload?: boolean } = {}): void => {
    const tabChanged = patch.tab !== undefined && patch.tab !== this.view.tab;
    this.view = { ...this.view, ...patch };
    this.save();
    if (tabChanged) this.tabs.selectedIndex = tabsFor(this.analysis).indexOf(this.view.tab);
    if (options.reload !== false) void this.refreshCurrent();
  };

  readonly setStatus = (text: string, path?: string): void => {
    const status = document.getElementById('status');
    if (!status) return;
    status.textContent = text;
    if (path) status.dataset.path = path;
    else delete status.dataset.path;
  };

  /** Brings back what the page showed before a reload (the host then sends its own copy). */
  restore(saved: PanelState | undefined): void {
    this.analysis = saved?.analysis;
    this.view = restoreViewState(saved?.view, this.analysis?.model.layers ?? 1);
    this.render();
  }

  show({ analysis, attentionHeld, stale }: ShownAnalysis): void {
    // Timestamps on the browser's shared clock, for the end-to-end benchmark's breakdown.
    this.app.dataset.receivedAt = (performance.timeOrigin + performance.now()).toFixed(1);
    if (analysis) {
      if (stale) this.staleIds.add(analysis.id);
      else this.staleIds.delete(analysis.id);
      // Keep the reader's view across analyses, within the new model's bounds.
      const fresh = analysis.id !== this.analysis?.id;
      this.view = {
        ...this.view,
        layer: Math.min(this.view.layer, analysis.model.layers - 1),
        head: Math.min(this.view.head, analysis.model.heads - 1),
        query: Math.min(this.view.query, analysis.tokens.length - 1),
        marked: fresh ? defaultMarkedToken(analysis) : this.view.marked,
      };
    }
    this.analysis = analysis ?? undefined;
    this.attentionHeld = attentionHeld;
    this.save();
    this.render();
    this.app.dataset.renderedAt = (performance.timeOrigin + performance.now()).toFixed(1);
  }

  setStale(analysisId: string, stale: boolean): void {
    if (stale) this.staleIds.add(analysisId);
    else this.staleIds.delete(analysisId);
    if (this.analysis?.id === analysisId) this.render();
  }

  /** Where the host asked the panel to look (a hover link, Open Playground, Explain Prediction). */
  focus(target: PanelFocus): void {
    const analysis = this.analysis;
    const patch: Partial<ViewState> = {};
    if (target.tab && (analysis || target.tab === 'playground') && tabsFor(analysis).includes(target.tab)) patch.tab = target.tab;
    if (target.layer !== undefined) patch.layer = Math.min(target.layer, (analysis?.model.layers ?? 1) - 1);
    if (target.head !== undefined) patch.head = Math.min(target.head, (analysis?.model.heads ?? 1) - 1);
    if (target.query !== undefined) patch.query = Math.min(target.query, (analysis?.tokens.length ?? 1) - 1);
    if (target.focus !== undefined) patch.focus = target.focus;
    if (target.compareWith !== undefined) patch.compare = { ...this.view.compare, otherId: target.compareWith };
    if (target.section === 'prediction') patch.cardOpen = true;
    if (!analysis) {
      // Nothing analysed: only the playground has something to show.
      this.view = { ...this.view, ...patch };
      this.save();
      this.render();
    } else {
      this.update(patch);
      if (patch.cardOpen) this.render();
    }
    if (target.section === 'prediction') {
      const card = document.getElementById('prediction');
      card?.scrollIntoView({ block: 'start' });
      card?.focus();
    }
  }

  /** Colour changes and theme switches: every view redraws what it holds. */
  redraw(): void {
    for (const view of Object.values(this.views)) view.redraw();
  }

  private save(): void {
    this.saveState({ version: 4, ...(this.analysis ? { analysis: this.analysis } : {}), view: this.view });
  }

  private async refreshCurrent(): Promise<void> {
    const view = this.views[this.view.tab];
    if (!this.analysis && view.tab !== 'playground') return;
    if (view.needsAttention && !this.attentionHeld) return;
    try {
      await view.refresh();
    } catch (error) {
      this.setStatus(messageOf(error));
    }
  }

  private readonly reanalyze = (): void => {
    const analysis = this.analysis;
    if (!analysis) return;
    this.api.request('reanalyze', { analysisId: analysis.id }).then(
      (result) =>
        this.setStatus(
          result.started
            ? l10n.t('Analysing again…')
            : isExternal(analysis)
              ? l10n.t(
                  'These maps came from a file or a notebook: there is no text here to analyse again. Open the file again to see them.',
                )
              : l10n.t('The analysed text is gone from the document.'),
        ),
      (error: unknown) => this.setStatus(messageOf(error)),
    );
  };

  private async export(format: ExportFormat): Promise<void> {
    const analysis = this.analysis;
    const target = analysis || this.view.tab === 'playground' ? this.views[this.view.tab].exportable() : undefined;
    const make = target?.[format];
    if (!target || !make) {
      this.setStatus(l10n.t('This view has nothing to export as {0}.', format.toUpperCase()));
      return;
    }
    try {
      let result: { path: string | null };
      if (make === 'tensor') {
        if (!analysis) return;
        // The attention file opens where the panel is now (its viewers show the grid, the head view and aggregates).
        const tab = (ATTENTION_VIEW_TABS as readonly string[]).includes(this.view.tab) ? (this.view.tab as AttentionViewTab) : 'model';
        result = await this.api.request('exportTensor', {
          analysisId: analysis.id,
          format: format === 'csv' ? 'csv' : 'json',
          view: { tab, layer: this.view.layer, head: this.view.head },
        });
      } else if (target.headMap && analysis && this.attentionHeld && (format === 'csv' || format === 'json')) {
        result = await this.api.request('exportHeadMap', {
          analysisId: analysis.id,
          format,
          suggestedName: `${target.name}.${format}`,
          ...target.headMap,
        });
      } else {
        const content = await make();
        result = await this.api.request('export', { format, suggestedName: `${target.name}.${format}`, content });
      }
      this.setStatus(result.path ? l10n.t('Saved {0}', result.path) : l10n.t('Export cancelled.'), result.path ?? undefined);
    } catch (error) {
      this.setStatus(messageOf(error));
    }
  }

  private header(): HTMLElement {
    const source = this.analysis?.source;
    return h(
      'header',
      {},
      h('h1', {}, l10n.t('Attention Explorer')),
      source && isExternal(this.analysis)
        ? h('p', { class: 'meta' }, source.documentName)
        : source
          ? h(
              'p',
              { class: 'meta' },
              l10n.t(
                '{0}, line {1}:{2} – {3}:{4}',
                source.documentName,
                source.startLine + 1,
                source.startCharacter + 1,
                source.endLine + 1,
                source.endCharacter + 1,
              ),
            )
          : null,
      h('span', { class: 'header-gap' }),
      renderExportButtons((format) => void this.export(format)),
      h('p', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' }),
    );
  }

  private render(): void {
    this.app.setAttribute('aria-busy', 'false');
    const analysis = this.analysis;
    const playground = this.views.playground;
    if (!analysis) {
      this.tabsKey = undefined;
      this.app.replaceChildren(
        this.header(),
        h(
          'p',
          { class: 'empty' },
          l10n.t(
            'Select text in an editor and run “Attention Explorer: Analyze Selection”. Meanwhile, the playground walks through attention step by step.',
          ),
        ),
        h('section', { class: 'standalone-playground', 'aria-label': l10n.t('Playground') }, playground.element),
      );
      void playground.refresh();
      return;
    }
    const tabs = tabsFor(analysis);
    // A tab this analysis does not have (restored state, or the previous analysis's tab): the grid instead.
    if (!tabs.includes(this.view.tab)) this.view = { ...this.view, tab: 'model' };
    const tabsKey = `${tabs.join(',')}|${this.attentionHeld}`;
    // The same tabs as before stay in the page as they are: building them again (web components with shadow trees)
    // costs the next analysis a whole layout of them (8–20 ms at 64 tokens).
    const keepTabs = tabsKey === this.tabsKey && this.tabs.isConnected;
    if (keepTabs) this.tabs.selectedIndex = tabs.indexOf(this.view.tab);
    else this.buildTabs(tabs, tabsKey);
    const card = renderPredictionCard(analysis, this.view.cardOpen, {
      showToken: (index) => {
        this.update({ marked: index, query: index });
        this.setStatus(l10n.t('Showing the attention from “{0}” (outlined in the maps).', analysis.tokens[index]?.text ?? ''));
      },
    });
    card.addEventListener('toggle', () => {
      if (card.open !== this.view.cardOpen) this.update({ cardOpen: card.open }, { reload: false });
    });
    const above = [
      this.header(),
      card,
      ...(this.staleIds.has(analysis.id) ? [staleNotice(this.reanalyze)] : []),
      ...(this.attentionHeld
        ? []
        : [isExternal(analysis) ? externalAttentionNotice(analysis.source.documentName) : missingAttentionNotice(this.reanalyze)]),
      renderToolbar(this.view, toolbarActions(this)),
    ];
    if (keepTabs) {
      for (const child of [...this.app.children]) if (child !== this.tabs) child.remove();
      this.tabs.before(...above);
    } else {
      this.app.replaceChildren(...above, this.tabs);
    }
    // The token table is cheap and other views link into it: it is always current.
    void this.views.tokens.refresh();
    void this.refreshCurrent();
  }

  /** The tabs of an analysis, each holding its view (or why it is not available). */
  private buildTabs(tabs: readonly Tab[], key: string): void {
    this.tabsKey = key;
    this.tabs = h('vscode-tabs', { 'selected-index': tabs.indexOf(this.view.tab) });
    for (const tab of tabs) {
      const view = this.views[tab];
      const available = !view.needsAttention || this.attentionHeld;
      this.tabs.append(
        h('vscode-tab-header', { slot: 'header', 'data-tab': tab }, view.title),
        h(
          'vscode-tab-panel',
          { id: `panel-${tab}` },
          available ? view.element : h('p', { class: 'empty' }, l10n.t('Not available until the text is analysed again (see above).')),
        ),
      );
    }
    this.tabs.addEventListener('vsc-tabs-select', (event) => {
      const tab = tabs[(event as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex];
      if (tab && tab !== this.view.tab) this.update({ tab });
    });
  }

  /** A click on any token button selects that token in the editor. */
  private onTokenClick(event: MouseEvent): void {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button.token');
    const index = Number(button?.dataset.index);
    const analysis = this.analysis;
    // Maps from a file or a notebook have no editor text to select.
    if (!button || !analysis || !Number.isInteger(index) || isExternal(analysis)) return;
    this.api
      .request('revealToken', { analysisId: analysis.id, tokenIndex: index })
      .then((result) => this.setStatus(result.revealed ? l10n.t('Selected “{0}” in the editor.', analysis.tokens[index]?.text ?? '') : ''))
      .catch((error: unknown) => this.setStatus(messageOf(error)));
  }
}

/** The token a new analysis puts in focus: its first mask, its first entity's first token, or a language model's last token. */
function defaultMarkedToken(analysis: Analysis): number | undefined {
  const { prediction } = analysis;
  if (prediction.task === 'fill-mask') return prediction.masks[0]?.index;
  if (prediction.task === 'token-classification') return prediction.entities[0]?.tokens[0];
  // A language model's last token: its query predicts the next one.
  if (prediction.task === 'text-generation') return analysis.tokens.length - 1;
  return undefined;
}
