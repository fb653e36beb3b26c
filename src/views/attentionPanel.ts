/**
 * The attention panel: one webview panel that shows the current analysis. It is restored after a window reload by
 * a serializer; its webview keeps what it shows in `setState`, and the host re-validates that state on restore.
 * Requests from the webview are validated, then answered from the host's store or, for anything that needs the
 * attention tensors, by the worker that holds them.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { tokenRange, type AnalysisRecord, type AnalysisStore } from '../analysis/analysisStore';
import type { ViewJob, WorkerJobResults } from '../model/worker/protocol';
import {
  parseMessage,
  PanelStateSchema,
  WebviewToHostSchema,
  type AnalysisListEntry,
  type AnalysisView,
  type DisplayOptions,
  type HostToWebviewMessage,
  type PanelAnalysisState,
  type PanelFocus,
  type PanelState,
  type WebviewRequest,
  type WebviewRequestResults,
} from '../shared/protocol';
import { respond } from '../shared/requestChannel';
import { encodeTokenTable } from '../shared/tokenTable';
import { renderWebviewHtml, webviewResourceRoots } from './webviewHtml';
import { receive } from './webviewMessages';

export const PANEL_VIEW_TYPE = 'attentionExplorer.panel';

/**
 * The host's copy of what the panel shows. VS Code saves a webview's `setState` with the editor layout, but a reload
 * that follows an analysis within a few seconds can save the layout before the state arrives; this copy (written
 * when the host shows an analysis) fills that gap.
 */
const PANEL_STATE_KEY = 'attentionExplorer.panelState';

/** What the panel needs from the rest of the extension. */
export interface PanelBackend {
  /** Reads an analysis the worker still holds. */
  view<TJob extends ViewJob>(job: TJob): Promise<WorkerJobResults[TJob['kind']]>;
  /** Analyses a stored analysis's document range again; false when the text there has changed. */
  reanalyze(record: AnalysisRecord): Promise<boolean>;
  /** Tints the analysed text in the editor by the record's attribution. */
  showAttribution(record: AnalysisRecord): Promise<boolean>;
}

/** How a remembered analysis is listed (the compare view's choices). */
export function listEntryOf(record: AnalysisRecord): AnalysisListEntry {
  const preview = record.text.replace(/\s+/g, ' ').trim();
  return {
    id: record.id,
    preview: preview.length > 60 ? `${preview.slice(0, 59)}…` : preview,
    documentName: record.source.documentName,
    sentiment: record.sentiment,
  };
}

function summaryOf(record: AnalysisRecord) {
  return {
    id: record.id,
    source: record.source,
    text: record.text,
    model: record.model,
    sentiment: record.sentiment,
    timings: record.timings,
    ...(record.truncation ? { truncation: record.truncation } : {}),
  };
}

/** The exact bytes of a typed array, as a standalone ArrayBuffer (a view may sit inside a larger buffer). */
function bufferOf(array: Float32Array): ArrayBuffer {
  return array.byteOffset === 0 && array.byteLength === array.buffer.byteLength && array.buffer instanceof ArrayBuffer
    ? array.buffer
    : (array.slice().buffer as ArrayBuffer);
}

export function toAnalysisView(record: AnalysisRecord): AnalysisView {
  const n = record.tokens.length;
  return {
    ...summaryOf(record),
    tokens: encodeTokenTable(record.tokens),
    ...(record.headMeans
      ? {
          attention: {
            layers: record.model.layers,
            heads: record.model.heads,
            n,
            // A copy: the webview message takes its buffer, and the record keeps its own.
            headMeans: record.headMeans.slice().buffer,
          },
        }
      : {}),
  };
}

export function toPanelState(record: AnalysisRecord): PanelState {
  return { version: 3, analysis: { ...summaryOf(record), tokens: record.tokens } };
}

const EXPORT_FILTERS: Record<string, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { 'CSV table': ['csv'] },
  json: { JSON: ['json'] },
};

export class AttentionPanelManager implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private shownAnalysisId: string | undefined;
  private pendingFocus: PanelFocus | undefined;
  private webviewReady = false;
  /** What the panel's grid asked for last: the next analysis's grid is computed ahead with it. */
  private lastGridRequest: { size: number; options: DisplayOptions } | undefined;
  private readonly disposables: vscode.Disposable[] = [];

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
      deserializeWebviewPanel: async (panel, state) => {
        const fromWebview = parseMessage(PanelStateSchema, state);
        if (!fromWebview.ok && state !== undefined) {
          this.log.warn(`Ignoring unreadable saved panel state: ${fromWebview.reason}`);
        }
        const fromHost = parseMessage(PanelStateSchema, this.workspaceState.get(PANEL_STATE_KEY));
        const analysis = (fromWebview.ok ? fromWebview.value.analysis : undefined) ?? (fromHost.ok ? fromHost.value.analysis : undefined);
        if (analysis) {
          this.restoreRecord(analysis);
        }
        this.attach(panel);
        this.shownAnalysisId = analysis?.id;
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
    const view = toAnalysisView(record);
    void this.prefetchGrid(record).then(async (prefetched) => {
      // A newer analysis took the panel meanwhile: it posts its own.
      if (this.shownAnalysisId !== record.id) return;
      if (prefetched) await this.post(prefetched);
      await this.post({ type: 'showAnalysis', analysis: view });
      if (record.tracked?.stale) await this.post({ type: 'stale', analysisId: record.id, stale: true });
    });
    void this.workspaceState.update(PANEL_STATE_KEY, toPanelState(record));
  }

  /**
   * The grid the panel is about to ask for (the size and options of its last grid request), computed in the worker
   * while the analysis is on its way. Never holds the analysis back for long: undefined after 250 ms or on error.
   */
  private async prefetchGrid(record: AnalysisRecord): Promise<HostToWebviewMessage | undefined> {
    const last = this.lastGridRequest;
    if (!last || !this.webviewReady || !record.headMeans) return undefined;
    const grid = this.backend.view({ kind: 'grid', analysisId: record.id, size: last.size, options: last.options }).catch(() => undefined);
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 250));
    const result = await Promise.race([grid, timeout]);
    if (!result) return undefined;
    return { type: 'gridPrefetch', analysisId: record.id, requestedSize: last.size, options: last.options, labels: result.labels, size: result.size, thumbnails: bufferOf(result.thumbnails) };
  }

  /**
   * Opens (or reveals) the panel and points it somewhere: a tab, a head, a token, the sentiment card. With a
   * record, shows that analysis first; without one, keeps what the panel shows (possibly nothing: the playground).
   */
  focus(target: PanelFocus, record?: AnalysisRecord): void {
    if (record && record.id !== this.shownAnalysisId) this.show(record);
    else this.open();
    // A panel just created is not listening yet: the target waits until it says it is ready.
    if (this.webviewReady) void this.post({ type: 'focus', target });
    else this.pendingFocus = target;
  }

  /** The id of the analysis the panel shows, if it is open. */
  get shownAnalysis(): string | undefined {
    return this.panel ? this.shownAnalysisId : undefined;
  }

  /** Tells the panel that the analysis it shows was edited in its document. */
  markStale(record: AnalysisRecord): void {
    if (this.panel && record.id === this.shownAnalysisId) void this.post({ type: 'stale', analysisId: record.id, stale: record.tracked?.stale === true });
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

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  dispose(): void {
    this.panel?.dispose();
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.webviewReady = false;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    panel.webview.options = { enableScripts: true, localResourceRoots: webviewResourceRoots(this.extensionUri) };
    panel.webview.html = renderWebviewHtml(panel.webview, this.extensionUri, {
      script: 'panel',
      stylesheet: 'panel',
      title: 'Attention Explorer',
    });
    const subscriptions = [
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(panel, message)),
      // A hidden webview's page is discarded; it loads again, and says ready, when shown.
      panel.onDidChangeViewState(() => {
        if (!panel.visible && panel === this.panel) this.webviewReady = false;
      }),
      panel.onDidDispose(() => {
        if (this.panel === panel) {
          this.panel = undefined;
          this.shownAnalysisId = undefined;
          // Closed by the user: nothing to bring back.
          void this.workspaceState.update(PANEL_STATE_KEY, undefined);
        }
        subscriptions.forEach((subscription) => subscription.dispose());
      }),
    ];
  }

  private post(message: HostToWebviewMessage): Thenable<boolean> {
    return this.panel ? this.panel.webview.postMessage(message) : Promise.resolve(false);
  }

  private onMessage(panel: vscode.WebviewPanel, raw: unknown): void {
    const message = receive(WebviewToHostSchema, raw, this.log, 'attention panel');
    switch (message?.type) {
      case 'ready': {
        // A fresh webview (first open, or its content was discarded while hidden) asks for what to show.
        const record = this.shownAnalysisId ? this.store.get(this.shownAnalysisId) : undefined;
        if (panel !== this.panel) return;
        this.webviewReady = true;
        if (record) {
          void this.post({ type: 'showAnalysis', analysis: toAnalysisView(record) });
          if (record.tracked?.stale) void this.post({ type: 'stale', analysisId: record.id, stale: true });
        }
        if (this.pendingFocus) void this.post({ type: 'focus', target: this.pendingFocus });
        this.pendingFocus = undefined;
        return;
      }
      case 'request':
        void respond(message.requestId, () => this.handleRequest(message.request)).then((response) => {
          if (!response.ok) this.log.warn(`Panel request ${message.request.kind} failed: ${response.error}`);
          return panel.webview.postMessage(response);
        });
        return;
    }
  }

  private record(analysisId: string): AnalysisRecord {
    const record = this.store.get(analysisId);
    if (!record) {
      throw new Error(vscode.l10n.t('This analysis is no longer available; run Analyze Selection again.'));
    }
    return record;
  }

  private async handleRequest(request: WebviewRequest): Promise<WebviewRequestResults[WebviewRequest['kind']]> {
    switch (request.kind) {
      case 'revealToken':
        return this.revealToken(request.analysisId, request.tokenIndex);
      case 'headMap': {
        this.record(request.analysisId);
        const { labels, map } = await this.backend.view({ kind: 'headMap', analysisId: request.analysisId, layer: request.layer, head: request.head, options: request.options });
        return { labels, map: bufferOf(map) };
      }
      case 'layerMaps': {
        this.record(request.analysisId);
        const { labels, maps } = await this.backend.view({ kind: 'layerMaps', analysisId: request.analysisId, layer: request.layer, options: request.options });
        return { labels, maps: bufferOf(maps) };
      }
      case 'grid': {
        this.record(request.analysisId);
        this.lastGridRequest = { size: request.size, options: request.options };
        const { labels, size, thumbnails } = await this.backend.view({ kind: 'grid', analysisId: request.analysisId, size: request.size, options: request.options });
        return { labels, size, thumbnails: bufferOf(thumbnails) };
      }
      case 'aggregate': {
        this.record(request.analysisId);
        const { labels, map } = await this.backend.view({ kind: 'aggregate', analysisId: request.analysisId, aggregate: request.aggregate, layer: request.layer, options: request.options });
        return { labels, map: bufferOf(map) };
      }
      case 'headStats':
        this.record(request.analysisId);
        return this.backend.view({ kind: 'headStats', analysisId: request.analysisId });
      case 'neuron': {
        this.record(request.analysisId);
        const neuron = await this.backend.view({ kind: 'neuron', analysisId: request.analysisId, layer: request.layer, head: request.head, query: request.query });
        return { query: bufferOf(neuron.query), keys: bufferOf(neuron.keys), scale: neuron.scale, probabilities: bufferOf(neuron.probabilities), labels: neuron.labels };
      }
      case 'export':
        return this.save(request.format, request.suggestedName, request.content);
      case 'exportTensor': {
        this.record(request.analysisId);
        const target = await this.askForFile(request.format, `attention.${request.format}`);
        if (!target) return { path: null };
        if (target.scheme !== 'file') {
          throw new Error(vscode.l10n.t('The whole tensor can only be written to a file on disk.'));
        }
        const { bytes } = await this.backend.view({ kind: 'exportTensor', analysisId: request.analysisId, format: request.format, path: target.fsPath });
        this.log.info(`Exported the attention tensor of ${request.analysisId} to ${target.fsPath} (${bytes} bytes).`);
        return { path: target.fsPath };
      }
      case 'reanalyze':
        return { started: await this.backend.reanalyze(this.record(request.analysisId)) };
      case 'headImportance':
        this.record(request.analysisId);
        return this.backend.view({ kind: 'headImportance', analysisId: request.analysisId });
      case 'attribution': {
        const record = this.record(request.analysisId);
        const result = await this.backend.view({ kind: 'attribution', analysisId: request.analysisId, mode: request.mode, unit: request.unit });
        // Kept for the editor tint: each token's drop in the predicted label's probability.
        record.attribution = { mode: result.mode, unit: result.unit, drops: Float64Array.from(result.occlusion, (delta) => (Number.isNaN(delta) ? 0 : -delta)) };
        const { occlusion, rollout, flow, ...rest } = result;
        return { ...rest, occlusion: bufferOf(occlusion), rollout: bufferOf(rollout), flow: bufferOf(flow) };
      }
      case 'ablate':
        this.record(request.analysisId);
        return this.backend.view({ kind: 'ablate', analysisId: request.analysisId, heads: request.heads, keepOnly: request.keepOnly });
      case 'showAttribution': {
        const record = this.record(request.analysisId);
        if (!record.attribution) throw new Error(vscode.l10n.t('Compute the token attribution first.'));
        return { shown: await this.backend.showAttribution(record) };
      }
      case 'compare': {
        const a = this.record(request.analysisId);
        const b = this.record(request.otherId);
        const result = await this.backend.view({ kind: 'compare', analysisId: a.id, otherId: b.id, layer: request.layer, head: request.head });
        return { a: listEntryOf(a), b: listEntryOf(b), statisticsA: result.a, statisticsB: result.b, pairs: result.pairs, labels: result.labels, difference: bufferOf(result.difference) };
      }
      case 'recentAnalyses':
        return { analyses: this.store.recent().map(listEntryOf) };
    }
  }

  private async askForFile(format: string, suggestedName: string): Promise<vscode.Uri | undefined> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const defaultUri = folder ? vscode.Uri.joinPath(folder, suggestedName) : vscode.Uri.file(path.join(os.homedir(), suggestedName));
    return vscode.window.showSaveDialog({ defaultUri, filters: EXPORT_FILTERS[format] ?? {}, saveLabel: vscode.l10n.t('Export'), title: vscode.l10n.t('Export from Attention Explorer') });
  }

  private async save(format: string, suggestedName: string, content: string | ArrayBuffer): Promise<WebviewRequestResults['export']> {
    const target = await this.askForFile(format, suggestedName);
    if (!target) return { path: null };
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : new Uint8Array(content);
    await vscode.workspace.fs.writeFile(target, bytes);
    this.log.info(`Exported ${format.toUpperCase()} to ${target.toString(true)} (${bytes.byteLength} bytes).`);
    return { path: target.scheme === 'file' ? target.fsPath : target.toString(true) };
  }

  private async revealToken(analysisId: string, tokenIndex: number): Promise<WebviewRequestResults['revealToken']> {
    const record = this.record(analysisId);
    const token = record.tokens[tokenIndex];
    if (!token) {
      throw new Error(vscode.l10n.t('This analysis is no longer available; run Analyze Selection again.'));
    }
    if (token.special) {
      return { revealed: false };
    }
    const document = await vscode.workspace.openTextDocument(vscode.Uri.parse(record.source.documentUri));
    if (this.store.locate(record, document)?.stale !== false) {
      throw new Error(vscode.l10n.t('The text changed since it was analysed; run Analyze Selection again.'));
    }
    const range = tokenRange(this.store, record, document, tokenIndex);
    if (!range) {
      return { revealed: false };
    }
    const visible = vscode.window.visibleTextEditors.find((editor) => editor.document === document);
    const editor = await vscode.window.showTextDocument(document, {
      viewColumn: visible?.viewColumn ?? vscode.ViewColumn.One,
      selection: new vscode.Selection(range.start, range.end),
    });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return { revealed: true };
  }

  /** Puts a restored panel's analysis back in the store so that its requests work after a reload. */
  private restoreRecord(state: PanelAnalysisState): void {
    if (this.store.get(state.id)) {
      return;
    }
    // The attention is not kept across reloads (the worker started afresh); the panel offers to analyse again.
    this.store.add({ ...state, exactOffsets: true, createdAt: Date.now() });
  }
}
