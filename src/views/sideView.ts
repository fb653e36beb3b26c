/**
 * The side view (activity bar → Attention Explorer): the model's state with the action that fixes a problem, the
 * current analysis's sentiment with [CLS]'s rollout over its tokens, recent analyses, and live mode. A webview view
 * with the same CSP and protocol rules as the panel; the host sends one state message whenever anything changes.
 */
import * as vscode from 'vscode';
import type { AnalysisRecord, AnalysisStore } from '../analysis/analysisStore';
import { clsImportance } from '../analysis/insights';
import type { InsightService } from '../analysis/insightService';
import type { LiveMode } from '../analysis/liveMode';
import type { ModelService, ModelStatus } from '../analysis/modelService';
import { SideToHostSchema, type ModelAction, type SideAnalysis, type SideCommand, type SideStateMessage } from '../shared/protocol';
import { SIDE_VIEW_ID } from './statusBar';
import { renderWebviewHtml, webviewResourceRoots } from './webviewHtml';
import { receive } from './webviewMessages';

/** The side view shows the tokens of analyses up to this many tokens (512 always fit). */
const MAX_SHOWN_TOKENS = 1024;
const RECENT = 10;

export interface SideViewActions {
  run(command: SideCommand): Promise<unknown>;
}

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

export class SideViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = SIDE_VIEW_ID;
  private view: vscode.WebviewView | undefined;
  private readonly subscriptions: vscode.Disposable[];
  /** Every state message posted, newest last (the extension-host tests read the latest). */
  private posted: SideStateMessage | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: AnalysisStore,
    private readonly models: ModelService,
    private readonly insights: InsightService,
    private readonly live: LiveMode,
    private readonly actions: SideViewActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions = [models.onDidChangeStatus(() => this.refresh()), store.onDidChange(() => this.refresh()), live.onDidChange(() => this.refresh())];
  }

  /** The last state the view was sent (undefined until it was resolved). */
  get lastPosted(): SideStateMessage | undefined {
    return this.posted;
  }

  get isResolved(): boolean {
    return this.view !== undefined;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.options = { enableScripts: true, localResourceRoots: webviewResourceRoots(this.extensionUri) };
    view.webview.html = renderWebviewHtml(view.webview, this.extensionUri, { script: 'side', stylesheet: 'side', title: 'Attention Explorer' });
    const subscriptions = [
      view.webview.onDidReceiveMessage((message: unknown) => void this.onMessage(message)),
      view.onDidChangeVisibility(() => {
        if (view.visible) this.refresh();
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        subscriptions.forEach((subscription) => subscription.dispose());
      }),
    ];
  }

  refresh(): void {
    if (!this.view) return;
    const state = this.buildState();
    this.posted = state;
    void this.view.webview.postMessage(state);
  }

  dispose(): void {
    this.subscriptions.forEach((subscription) => subscription.dispose());
  }

  buildState(): SideStateMessage {
    const latest = this.store.latest();
    // The same text analysed again shows once, as its newest analysis.
    const seen = new Set<string>();
    const recent = this.store
      .recent()
      .filter((record) => {
        const key = `${record.source.documentUri}|${record.tracked?.start ?? record.source.startLine}|${record.text}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, RECENT)
      .map((record) => this.summary(record));
    return {
      type: 'sideState',
      model: modelState(this.models.status),
      ...(latest ? { current: this.current(latest) } : {}),
      recent,
      liveMode: this.live.enabled,
      ...(this.live.status ? { liveStatus: this.live.status } : {}),
      strings: {
        title: vscode.l10n.t('Attention Explorer'),
        model: vscode.l10n.t('Model'),
        current: vscode.l10n.t('Current analysis'),
        none: vscode.l10n.t('Nothing analysed yet. Select text in an editor and run Analyze Selection, or turn on live mode.'),
        importance: vscode.l10n.t('What the prediction reads: [CLS]\'s attention rollout over the tokens'),
        noImportance: vscode.l10n.t('The attention of this analysis is no longer kept; analyze it again to see it.'),
        stale: vscode.l10n.t('Out of date: the text changed after it was analysed.'),
        testModel: vscode.l10n.t('Test model with random weights: this prediction means nothing.'),
        recent: vscode.l10n.t('Recent analyses'),
        live: vscode.l10n.t('Live mode: analyse the selection as it changes'),
        analyze: vscode.l10n.t('Analyze Selection'),
        panel: vscode.l10n.t('Show Attention Panel'),
        reopen: vscode.l10n.t('Reopen in the panel'),
      },
    };
  }

  private summary(record: AnalysisRecord): SideAnalysis {
    const { labels, probabilities } = record.sentiment;
    const best = probabilities.indexOf(Math.max(...probabilities));
    const preview = record.text.replace(/\s+/g, ' ').trim();
    return {
      id: record.id,
      label: labels[best] ?? '',
      probability: probabilities[best] ?? 0,
      labels: labels.map((label, index) => ({ label, probability: probabilities[index] ?? 0 })),
      documentName: record.source.documentName,
      line: record.source.startLine + 1,
      preview: preview.length > 80 ? `${preview.slice(0, 79)}…` : preview,
      stale: record.tracked?.stale === true,
      isTestModel: record.model.isTestModel,
    };
  }

  private current(record: AnalysisRecord): NonNullable<SideStateMessage['current']> {
    const tokens = record.tokens.slice(0, MAX_SHOWN_TOKENS).map((token) => token.text);
    let importance: number[] | undefined;
    if (record.headMeans && record.tokens.length <= MAX_SHOWN_TOKENS) {
      importance = Array.from(clsImportance(record.tokens, this.insights.rolloutFor(record, record.headMeans)));
    }
    return { ...this.summary(record), tokens, ...(importance ? { importance } : {}) };
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message = receive(SideToHostSchema, raw, this.log, 'side view');
    switch (message?.type) {
      case 'ready':
        this.refresh();
        return;
      case 'command':
        try {
          await this.actions.run(message.command);
        } catch (error) {
          this.log.error(`Side view command ${message.command.command} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
    }
  }
}

function action(kind: ModelAction): { action: ModelAction; label: string } {
  const labels: Record<ModelAction, () => string> = {
    download: () => vscode.l10n.t('Download the model'),
    cancelDownload: () => vscode.l10n.t('Cancel'),
    retry: () => vscode.l10n.t('Retry'),
    selectModel: () => vscode.l10n.t('Select Model…'),
    openSettings: () => vscode.l10n.t('Open Settings'),
    showLog: () => vscode.l10n.t('Show Log'),
  };
  return { action: kind, label: labels[kind]() };
}

/** The model's state as one sentence and the actions that make sense in it. */
export function modelState(status: ModelStatus): SideStateMessage['model'] {
  switch (status.state) {
    case 'unknown':
      return { state: 'unknown', text: vscode.l10n.t('Checking the model…'), actions: [] };
    case 'not-downloaded':
      return { state: 'not-downloaded', text: vscode.l10n.t('{0} is not downloaded yet. It downloads once, on the first analysis, into VS Code\'s storage.', status.modelName), actions: [action('download'), action('selectModel')] };
    case 'downloaded':
      return { state: 'downloaded', text: vscode.l10n.t('{0} is downloaded; it loads on the first analysis.', status.modelName), actions: [action('selectModel')] };
    case 'downloading': {
      const percent = status.totalBytes > 0 ? Math.min(100, (status.loadedBytes / status.totalBytes) * 100) : 0;
      return { state: 'downloading', text: vscode.l10n.t('Downloading {0}: {1} of {2} MB', status.modelName, megabytes(status.loadedBytes), megabytes(status.totalBytes)), percent, actions: [action('cancelDownload')] };
    }
    case 'loading':
      return { state: 'loading', text: vscode.l10n.t('Loading {0}…', status.modelName), actions: [] };
    case 'ready':
      return {
        state: 'ready',
        text: vscode.l10n.t('{0} is ready: {1}, {2} layers × {3} heads.', status.modelName, status.info.dtype, status.info.layers, status.info.heads),
        actions: [action('selectModel')],
      };
    case 'error': {
      const fixes: ModelAction[] = status.code === 'invalid-model' ? ['selectModel', 'openSettings'] : status.code === 'model-unavailable' ? ['retry', 'selectModel'] : ['retry'];
      return { state: 'error', text: status.message, actions: [...fixes, 'showLog' as const].map(action) };
    }
  }
}
