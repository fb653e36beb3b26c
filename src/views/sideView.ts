/**
 * The side view (activity bar → Attention Explorer): the model's state with the action that fixes a problem, the
 * current analysis's prediction with [CLS]'s rollout over its tokens, recent analyses, and live mode. A webview view
 * with the same CSP and protocol rules as the panel; the host sends one state message whenever anything changes.
 */
import * as vscode from 'vscode';
import type { AnalysisRecord, AnalysisStore } from '../analysis/analysisStore';
import { readerImportance, readerToken } from '../analysis/insights';
import type { InsightService } from '../analysis/insightService';
import type { LiveMode } from '../analysis/liveMode';
import type { ModelService, ModelStatus } from '../analysis/modelService';
import { previewOf } from '../shared/analysis';
import { SIDE_VIEW_ID } from '../shared/contributions';
import { DisposableStore } from '../shared/disposables';
import { messageOf } from '../shared/errors';
import { formatMegabytes } from '../shared/format';
import {
  SIDE_HOST,
  type ModelAction,
  type SideAnalysis,
  type SideCommand,
  type SideHost,
  type SideState,
  type SideWebview,
} from '../shared/sideProtocol';
import { predictionLines } from './predictionText';
import { openWebviewChannel, type WebviewChannel } from './webviewChannel';
import { webviewLoader } from './webviewHtml';

/** The side view shows the tokens of analyses up to this many tokens (512 always fit). */
const MAX_SHOWN_TOKENS = 1024;
const RECENT = 10;

export interface SideViewActions {
  run(command: SideCommand): Promise<unknown>;
}

export class SideViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = SIDE_VIEW_ID;
  private view: vscode.WebviewView | undefined;
  private channel: WebviewChannel<SideWebview, SideHost> | undefined;
  private readonly subscriptions = new DisposableStore();
  /** The last state the view was sent (the extension-host tests read it). */
  private posted: SideState | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly store: AnalysisStore,
    private readonly models: ModelService,
    private readonly insights: InsightService,
    private readonly live: LiveMode,
    private readonly actions: SideViewActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.add(models.onDidChangeStatus(() => this.refresh()));
    this.subscriptions.add(store.onDidChange(() => this.refresh()));
    this.subscriptions.add(live.onDidChange(() => this.refresh()));
  }

  /** The last state the view was sent (undefined until it was resolved). */
  get lastPosted(): SideState | undefined {
    return this.posted;
  }

  get isResolved(): boolean {
    return this.view !== undefined;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.channel?.dispose();
    this.view = view;
    const visibility = view.onDidChangeVisibility(() => {
      if (view.visible) this.refresh();
    });
    this.channel = openWebviewChannel<SideWebview, SideHost>({
      owner: view,
      load: webviewLoader(this.extensionUri),
      page: { script: 'side', stylesheet: 'side', title: 'Attention Explorer' },
      name: 'side view',
      log: this.log,
      local: SIDE_HOST,
      handlers: {},
      events: {
        ready: () => this.refresh(),
        command: ({ command }) => void this.run(command),
      },
      onDispose: () => {
        visibility.dispose();
        if (this.view !== view) return;
        this.view = undefined;
        this.channel = undefined;
      },
    });
  }

  refresh(): void {
    if (!this.view) return;
    const state = this.buildState();
    this.posted = state;
    this.channel?.rpc.notify('state', state);
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  buildState(): SideState {
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
      model: modelState(this.models.status),
      ...(latest ? { current: this.current(latest) } : {}),
      recent,
      liveMode: this.live.enabled,
      ...(this.live.status ? { liveStatus: this.live.status } : {}),
    };
  }

  private summary(record: AnalysisRecord): SideAnalysis {
    const lines = predictionLines(record.prediction);
    return {
      id: record.id,
      label: lines.label,
      ...(lines.probability !== undefined ? { probability: lines.probability } : {}),
      labels: lines.rows.slice(0, 100),
      documentName: record.source.documentName,
      line: record.source.startLine + 1,
      preview: previewOf(record.text, 80),
      stale: record.tracked?.stale === true,
      isTestModel: record.model.isTestModel,
    };
  }

  private current(record: AnalysisRecord): NonNullable<SideState['current']> {
    const tokens = record.tokens.slice(0, MAX_SHOWN_TOKENS).map((token) => token.text);
    const rollout = record.tokens.length <= MAX_SHOWN_TOKENS ? this.insights.rolloutOf(record) : undefined;
    const importance = rollout ? Array.from(readerImportance(record.tokens, record.prediction, rollout)) : undefined;
    const reader = record.tokens[readerToken(record.prediction, record.tokens)]?.text ?? '';
    return { ...this.summary(record), tokens, reader, ...(importance ? { importance } : {}) };
  }

  private async run(command: SideCommand): Promise<void> {
    try {
      await this.actions.run(command);
    } catch (error) {
      this.log.error(`Side view command ${command.command} failed: ${messageOf(error)}`);
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
export function modelState(status: ModelStatus): SideState['model'] {
  switch (status.state) {
    case 'unknown':
      return { state: 'unknown', text: vscode.l10n.t('Checking the model…'), actions: [] };
    case 'not-downloaded':
      return {
        state: 'not-downloaded',
        text: vscode.l10n.t(
          "{0} is not downloaded yet. It downloads once, on the first analysis, into VS Code's storage.",
          status.modelName,
        ),
        actions: [action('download'), action('selectModel')],
      };
    case 'downloaded':
      return {
        state: 'downloaded',
        text: vscode.l10n.t('{0} is downloaded; it loads on the first analysis.', status.modelName),
        actions: [action('selectModel')],
      };
    case 'downloading': {
      const percent = status.totalBytes > 0 ? Math.min(100, (status.loadedBytes / status.totalBytes) * 100) : 0;
      return {
        state: 'downloading',
        text: vscode.l10n.t(
          'Downloading {0}: {1} of {2} MB',
          status.modelName,
          formatMegabytes(status.loadedBytes),
          formatMegabytes(status.totalBytes),
        ),
        percent,
        actions: [action('cancelDownload')],
      };
    }
    case 'loading':
      return { state: 'loading', text: vscode.l10n.t('Loading {0}…', status.modelName), actions: [] };
    case 'ready':
      return {
        state: 'ready',
        text: vscode.l10n.t(
          '{0} is ready: {1}, {2} layers × {3} heads.',
          status.modelName,
          status.info.dtype,
          status.info.layers,
          status.info.heads,
        ),
        actions: [action('selectModel')],
      };
    case 'error': {
      const fixes: ModelAction[] =
        status.code === 'invalid-model'
          ? ['selectModel', 'openSettings']
          : status.code === 'model-unavailable'
            ? ['retry', 'selectModel']
            : ['retry'];
      return { state: 'error', text: status.message, actions: [...fixes, 'showLog' as const].map(action) };
    }
  }
}
