/**
 * The attention panel: one webview panel that shows the current analysis. It talks to its page through one RPC
 * channel whose tables are `src/shared/panelProtocol.ts`: every analysis view is forwarded to the worker as it is
 * (adding one is an entry in `src/shared/analysisViews.ts` and its handler in the worker, nothing here), and the few
 * requests that need the host (files, the editor) are answered here.
 *
 * The panel comes back after a window reload through a serializer. The analysis it showed is restored from the
 * host's own copy in workspace state, never from the page's saved state (a page can be made to say anything).
 */
import * as vscode from 'vscode';
import { tokenRange, type AnalysisRecord, type AnalysisStore } from '../analysis/analysisStore';
import { AnalysisSchema, listEntryOf, type Analysis, type DisplayOptions } from '../shared/analysis';
import { ANALYSIS_VIEW_REQUESTS, gridLayersPerRequest, type AnalysisViewName, type AnalysisViewRequests } from '../shared/analysisViews';
import { MAX_ATTENTION_BYTES } from '../shared/attentionFile';
import { PANEL_VIEW_TYPE } from '../shared/contributions';
import { AnalysisError } from '../shared/errors';
import { PANEL_HOST, type PanelFocus, type PanelHost, type PanelRequests, type PanelWebview } from '../shared/panelProtocol';
import { parseMessage, type ParamsOf, type ProgressOf, type RequestHandlers, type ResultOf } from '../shared/rpc';
import type { HeadMapExport, TensorDocumentInfo } from '../model/tensorExport';
import { askForExportFile, attentionFileName, saveExport } from './exportFile';
import { openWebviewChannel, PageProbe, type WebviewChannel } from './webviewChannel';
import { webviewLoader, webviewResourceRoots } from './webviewHtml';
import { hasSourceDocument, openSourceDocument } from '../analysis/sourceDocument';

/** The host's copy of the analysis the panel shows, written whenever it shows one (see the module comment). */
const PANEL_ANALYSIS_KEY = 'attentionExplorer.panelAnalysis';

/** What the panel needs from the rest of the extension. */
export interface PanelBackend {
  /** Reads an analysis the worker still holds. */
  view<K extends AnalysisViewName>(
    method: K,
    params: ParamsOf<AnalysisViewRequests[K]>,
    signal: AbortSignal,
    onProgress?: (progress: ProgressOf<AnalysisViewRequests[K]>) => void,
  ): Promise<ResultOf<AnalysisViewRequests[K]>>;
  /**
   * Writes an analysis's whole attention tensor to a file; the bytes written. JSON is an attention document, which
   * says what `document` gives (from the host's record) besides the tensor.
   */
  writeTensor(analysisId: string, format: 'csv' | 'json', file: string, document: TensorDocumentInfo, signal: AbortSignal): Promise<number>;
  /** Writes one head's map to a file; the bytes written. */
  writeHeadMap(analysisId: string, format: 'csv' | 'json', file: string, map: HeadMapExport, signal: AbortSignal): Promise<number>;
  /** Puts an analysis kept across a reload back into the store. */
  restore(analysis: Analysis): void;
  /** Analyses a stored analysis's document range again; false when the text there has changed. */
  reanalyze(record: AnalysisRecord): Promise<boolean>;
  /** Tints the analysed text in the editor by the analysis's last token attribution. */
  showAttribution(record: AnalysisRecord): Promise<boolean>;
}

/** The analysis part of a record: what the page shows and what survives a reload. */
export function analysisOf(record: AnalysisRecord): Analysis {
  const { id, source, text, tokens, model, prediction, timings, truncation } = record;
  return { id, source, text, tokens, model, prediction, timings, ...(truncation ? { truncation } : {}) };
}

export class AttentionPanelManager implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private channel: WebviewChannel<PanelWebview, PanelHost> | undefined;
  private shownAnalysisId: string | undefined;
  private pendingFocus: PanelFocus | undefined;
  private webviewReady = false;
  /** What the panel's grid asked for last: the next analysis's grid is computed ahead with it. */
  private lastGridRequest: { size: number; options: DisplayOptions } | undefined;
  /** The extension-host suite's way through the page's path (see {@link requestAsPage}). */
  private readonly probe = new PageProbe((event, payload) => {
    if (event !== 'showAnalysis') return undefined;
    const { analysis, attentionHeld } = payload as { analysis: Analysis | null; attentionHeld: boolean };
    return { analysis, attentionHeld };
  });

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: AnalysisStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly workspaceState: vscode.Memento,
    private readonly backend: PanelBackend,
  ) {}

  /** The serializer VS Code calls to bring the panel back after a reload. */
  serializer(): vscode.WebviewPanelSerializer<unknown> {
    return {
      deserializeWebviewPanel: (panel) => {
        const saved = parseMessage(AnalysisSchema, this.workspaceState.get(PANEL_ANALYSIS_KEY));
        if (saved.ok) this.backend.restore(saved.value);
        this.attach(panel);
        this.shownAnalysisId = saved.ok ? saved.value.id : undefined;
        return Promise.resolve();
      },
    };
  }

  /** Shows an analysis, opening the panel beside the editor if needed (or, with `reveal: false`, only if open). */
  show(record: AnalysisRecord, options: { reveal?: boolean } = {}): void {
    if (options.reveal === false) {
      if (!this.panel) return;
    } else {
      this.open();
    }
    this.shownAnalysisId = record.id;
    void this.prefetchGrid(record).then(() => {
      // A newer analysis took the panel meanwhile: it posts its own.
      if (this.shownAnalysisId === record.id) this.postAnalysis(record);
    });
    void this.workspaceState.update(PANEL_ANALYSIS_KEY, analysisOf(record));
  }

  /**
   * Opens (or reveals) the panel and points it somewhere: a tab, a head, a token, the prediction card. With a
   * record, shows that analysis first; without one, keeps what the panel shows (possibly nothing: the playground).
   */
  focus(target: PanelFocus, record?: AnalysisRecord): void {
    if (record && record.id !== this.shownAnalysisId) this.show(record);
    else this.open();
    // A panel just created is not listening yet: the target waits until it says it is ready.
    if (this.webviewReady) this.channel?.rpc.notify('focus', { target });
    else this.pendingFocus = target;
  }

  /** The id of the analysis the panel shows, if it is open. */
  get shownAnalysis(): string | undefined {
    return this.panel ? this.shownAnalysisId : undefined;
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** Tells the panel that the analysis it shows was edited in its document. */
  markStale(record: AnalysisRecord): void {
    if (this.panel && record.id === this.shownAnalysisId)
      this.channel?.rpc.notify('stale', { analysisId: record.id, stale: record.tracked?.stale === true });
  }

  /**
   * Handles a message exactly as if the panel's page had posted it (false when it was dropped): the extension-host
   * suite sends bursts through the path every page message takes, which it cannot reach inside the webview.
   */
  receiveAsPage(message: unknown): boolean {
    return this.channel?.rpc.receive(message) ?? false;
  }

  /**
   * Asks the host as the panel's page would (the same schemas, handlers and forwarding to the worker) and resolves
   * with the answer the page would get: the extension-host suite's way to read what a view receives.
   */
  requestAsPage(method: string, params: unknown): Promise<unknown> {
    return this.probe.request((message) => this.receiveAsPage(message), method, params);
  }

  /** What the panel's page was last sent to show (for the extension-host suite). */
  get lastShown(): { analysis: Analysis | null; attentionHeld: boolean } | undefined {
    return this.probe.lastEvent('showAnalysis') as { analysis: Analysis | null; attentionHeld: boolean } | undefined;
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private postAnalysis(record: AnalysisRecord | undefined): void {
    this.channel?.rpc.notify('showAnalysis', {
      analysis: record ? analysisOf(record) : null,
      attentionHeld: record !== undefined && this.store.holdsAttention(record.id),
      stale: record?.tracked?.stale === true,
    });
  }

  /**
   * The grid the panel is about to ask for (the size and options of its last grid request), computed in the worker
   * while the analysis is on its way and sent just before it. Never holds the analysis back for long: given up after
   * 250 ms or on error.
   */
  private async prefetchGrid(record: AnalysisRecord): Promise<void> {
    const last = this.lastGridRequest;
    if (!last || !this.webviewReady || !this.store.holdsAttention(record.id)) return;
    if (gridLayersPerRequest(record.model.layers, record.model.heads, record.tokens.length) < record.model.layers) return;
    const abort = new AbortController();
    const grid = this.backend
      .view('grid', { analysisId: record.id, size: last.size, options: last.options }, abort.signal)
      .catch(() => undefined);
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 250));
    const result = await Promise.race([grid, timeout]);
    abort.abort();
    if (result && this.shownAnalysisId === record.id) {
      this.channel?.rpc.notify('gridPrefetch', { analysisId: record.id, requestedSize: last.size, options: last.options, ...result });
    }
  }

  private open(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      vscode.l10n.t('Attention Explorer'),
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, enableFindWidget: true, localResourceRoots: webviewResourceRoots(this.extensionUri) },
    );
    this.attach(panel);
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.channel?.dispose();
    this.panel = panel;
    this.webviewReady = false;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    // A hidden webview's page is discarded; it loads again, and says ready, when shown.
    const visibility = panel.onDidChangeViewState(() => {
      if (!panel.visible && panel === this.panel) this.webviewReady = false;
    });
    this.channel = openWebviewChannel<PanelWebview, PanelHost>({
      owner: panel,
      load: webviewLoader(this.extensionUri),
      page: { script: 'panel', stylesheet: 'panel', title: 'Attention Explorer' },
      name: 'attention panel',
      log: this.log,
      local: PANEL_HOST,
      handlers: this.handlers(),
      events: { ready: () => this.onReady(panel) },
      tap: this.probe.observe,
      onDispose: () => {
        visibility.dispose();
        if (this.panel !== panel) return;
        this.panel = undefined;
        this.channel = undefined;
        this.shownAnalysisId = undefined;
        // Closed by the user: nothing to bring back.
        void this.workspaceState.update(PANEL_ANALYSIS_KEY, undefined);
      },
    });
  }

  /** A fresh page (first open, or its content was discarded while hidden) asks for what to show. */
  private onReady(panel: vscode.WebviewPanel): void {
    if (panel !== this.panel) return;
    this.webviewReady = true;
    this.postAnalysis(this.shownAnalysisId ? this.store.get(this.shownAnalysisId) : undefined);
    if (this.pendingFocus) this.channel?.rpc.notify('focus', { target: this.pendingFocus });
    this.pendingFocus = undefined;
  }

  private record(analysisId: string): AnalysisRecord {
    const record = this.store.get(analysisId);
    if (!record)
      throw new AnalysisError('attention-unavailable', vscode.l10n.t('This analysis is no longer available; run Analyze Selection again.'));
    return record;
  }

  private handlers(): RequestHandlers<PanelRequests> {
    const forwarded = {} as Record<
      string,
      (params: { analysisId: string }, context: { signal: AbortSignal; progress: (progress: unknown) => void }) => Promise<unknown>
    >;
    for (const method of Object.keys(ANALYSIS_VIEW_REQUESTS) as AnalysisViewName[]) {
      forwarded[method] = (params, { signal, progress }) => {
        this.record(params.analysisId);
        if (method === 'grid') {
          const { size, options, layers } = params as ParamsOf<AnalysisViewRequests['grid']>;
          // A long input's grid comes a few layers at a time: it is not computed ahead whole.
          if (!layers) this.lastGridRequest = { size, options };
        }
        return this.backend.view(method, params, signal, progress);
      };
    }
    return {
      ...(forwarded as unknown as RequestHandlers<AnalysisViewRequests>),
      revealToken: ({ analysisId, tokenIndex }) => this.revealToken(analysisId, tokenIndex),
      insertGenerated: ({ analysisId, text }) => this.insertGenerated(analysisId, text),
      export: ({ format, suggestedName, content }) => saveExport(format, suggestedName, content, this.log),
      exportTensor: async ({ analysisId, format, view }, { signal }) => {
        const record = this.record(analysisId);
        // JSON is an attention file, which the .attention.json editor opens: refused before the save dialog when
        // the tensor is more than a file holds (the worker checks again when it writes).
        const bytes = record.model.layers * record.model.heads * record.tokens.length ** 2 * 4;
        if (format === 'json' && bytes > MAX_ATTENTION_BYTES) {
          throw new AnalysisError(
            'invalid-request',
            vscode.l10n.t(
              'An attention file holds at most {0} MiB of weights; this analysis has {1} MiB. Export it as CSV, or analyse a shorter selection.',
              MAX_ATTENTION_BYTES / 2 ** 20,
              (bytes / 2 ** 20).toFixed(1),
            ),
          );
        }
        const target = await askForExportFile(format, format === 'json' ? attentionFileName(record.source.documentName) : 'attention.csv');
        if (!target) return { path: null };
        if (target.scheme !== 'file')
          throw new AnalysisError('invalid-request', vscode.l10n.t('The whole tensor can only be written to a file on disk.'));
        const document = { model: record.model.name, text: record.text, causal: record.model.causal, ...(view ? { view } : {}) };
        const written = await this.backend.writeTensor(analysisId, format, target.fsPath, document, signal);
        this.log.info(`Exported the attention tensor of ${analysisId} to ${target.fsPath} (${written} bytes).`);
        return { path: target.fsPath };
      },
      exportHeadMap: async ({ analysisId, format, suggestedName, layer, head, options, caption }, { signal }) => {
        const record = this.record(analysisId);
        const target = await askForExportFile(format, suggestedName);
        if (!target) return { path: null };
        if (target.scheme !== 'file')
          throw new AnalysisError('invalid-request', vscode.l10n.t('A map can only be written to a file on disk.'));
        const map = { layer, head, options, caption, model: record.model.name };
        const written = await this.backend.writeHeadMap(analysisId, format, target.fsPath, map, signal);
        this.log.info(`Exported head ${layer + 1}.${head + 1} of ${analysisId} to ${target.fsPath} (${written} bytes).`);
        return { path: target.fsPath };
      },
      reanalyze: async ({ analysisId }) => {
        const record = this.record(analysisId);
        // Maps from a file or a notebook have no text in a document to analyse: the page says so.
        return { started: hasSourceDocument(record) && (await this.backend.reanalyze(record)) };
      },
      showAttribution: async ({ analysisId }) => ({ shown: await this.backend.showAttribution(this.record(analysisId)) }),
      recentAnalyses: () => ({ analyses: this.store.recent().map(listEntryOf) }),
    };
  }

  /** Writes generated text right after the analysed range, as one undoable edit. */
  private async insertGenerated(analysisId: string, text: string): Promise<{ inserted: boolean }> {
    const record = this.record(analysisId);
    if (text === '' || !hasSourceDocument(record)) return { inserted: false };
    const document = await openSourceDocument(record.source.documentUri);
    const tracked = this.store.locate(record, document);
    if (!tracked || tracked.stale) {
      throw new AnalysisError('invalid-request', vscode.l10n.t('The text changed since it was analysed; run Analyze Selection again.'));
    }
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, document.positionAt(tracked.end), text);
    const inserted = await vscode.workspace.applyEdit(edit);
    this.log.info(`Inserted ${text.length} generated characters after analysis ${analysisId}.`);
    return { inserted };
  }

  private async revealToken(analysisId: string, tokenIndex: number): Promise<{ revealed: boolean }> {
    const record = this.record(analysisId);
    const token = record.tokens[tokenIndex];
    if (!token)
      throw new AnalysisError('invalid-request', vscode.l10n.t('This analysis is no longer available; run Analyze Selection again.'));
    if (token.special || !hasSourceDocument(record)) return { revealed: false };
    const document = await openSourceDocument(record.source.documentUri);
    if (this.store.locate(record, document)?.stale !== false) {
      throw new AnalysisError('invalid-request', vscode.l10n.t('The text changed since it was analysed; run Analyze Selection again.'));
    }
    const range = tokenRange(this.store, record, document, tokenIndex);
    if (!range) return { revealed: false };
    const visible = vscode.window.visibleTextEditors.find((editor) => editor.document === document);
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One,
      selection: new vscode.Selection(range.start, range.end),
    });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return { revealed: true };
  }
}
