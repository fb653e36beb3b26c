/**
 * The status bar item: the model's state and the last analysis's label. Clicking it opens the side view, which
 * shows the same with the actions that fix a problem.
 */
import * as vscode from 'vscode';
import type { AnalysisStore } from '../analysis/analysisStore';
import type { ModelService, ModelStatus } from '../analysis/modelService';
import { predictionLines } from './predictionText';
import { DisposableStore } from '../shared/disposables';

export class AttentionStatusBar implements vscode.Disposable {
  private readonly subscriptions = new DisposableStore();

  /** Takes over `item` (`startupStatusItem`'s) and disposes it with itself. */
  constructor(
    private readonly models: ModelService,
    private readonly store: AnalysisStore,
    private readonly item: vscode.StatusBarItem,
  ) {
    this.subscriptions.add(item);
    this.subscriptions.add(models.onDidChangeStatus(() => this.update()));
    this.subscriptions.add(store.onDidChange(() => this.update()));
    this.update();
    this.item.show();
  }

  /** The text shown now (read by the extension-host tests). */
  get text(): string {
    return this.item.text;
  }

  /** The tooltip's Markdown source now (read by the extension-host tests). */
  get tooltipMarkdown(): string {
    const tooltip = this.item.tooltip;
    return tooltip instanceof vscode.MarkdownString ? tooltip.value : (tooltip ?? '');
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private update(): void {
    const status = this.models.status;
    const latest = this.store.latest();
    const lines = latest ? predictionLines(latest.prediction) : undefined;
    const label =
      latest && lines
        ? `${lines.label}${lines.probability !== undefined ? ` ${(lines.probability * 100).toFixed(0)}%` : ''}${latest.tracked?.stale ? ` ${vscode.l10n.t('(edited)')}` : ''}`
        : undefined;
    const { icon, text, state } = present(status, label);
    this.item.text = `$(${icon}) ${text}`;
    this.item.backgroundColor = status.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    // Labels come from the model's config, error text from file names and servers: text, never Markdown (a label
    // "[Update](https://…)" must not become a link).
    const tooltip = new vscode.MarkdownString().appendMarkdown(`**${vscode.l10n.t('Attention Explorer')}**\n\n`).appendText(state);
    if (latest && label) {
      tooltip.appendMarkdown('\n\n').appendText(vscode.l10n.t('Last analysis: {0} ({1})', label, latest.source.documentName));
    }
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = {
      label: `${vscode.l10n.t('Attention Explorer')}: ${state}${label ? `. ${vscode.l10n.t('Last analysis: {0}', label)}` : ''}`,
    };
  }
}

function present(status: ModelStatus, label: string | undefined): { icon: string; text: string; state: string } {
  switch (status.state) {
    case 'downloading': {
      const percent = status.totalBytes > 0 ? Math.round((status.loadedBytes / status.totalBytes) * 100) : 0;
      return { icon: 'cloud-download', text: `${percent}%`, state: vscode.l10n.t('Downloading {0}: {1}%', status.modelName, percent) };
    }
    case 'loading':
      return { icon: 'loading~spin', text: label ?? vscode.l10n.t('Attention'), state: vscode.l10n.t('Loading {0}…', status.modelName) };
    case 'error':
      return { icon: 'error', text: vscode.l10n.t('Attention'), state: vscode.l10n.t('Model error: {0}', status.message) };
    case 'ready':
      return {
        icon: 'eye',
        text: label ?? vscode.l10n.t('Attention'),
        state: vscode.l10n.t('{0} is ready ({1})', status.modelName, status.info.dtype),
      };
    case 'downloaded':
      return {
        icon: 'eye',
        text: label ?? vscode.l10n.t('Attention'),
        state: vscode.l10n.t('{0} is downloaded; it loads on the first analysis.', status.modelName),
      };
    case 'not-downloaded':
      return {
        icon: 'eye',
        text: label ?? vscode.l10n.t('Attention'),
        state: vscode.l10n.t('{0} is not downloaded yet; it downloads once, on the first analysis.', status.modelName),
      };
    case 'unknown':
      return { icon: 'eye', text: label ?? vscode.l10n.t('Attention'), state: vscode.l10n.t('Checking the model…') };
  }
}
