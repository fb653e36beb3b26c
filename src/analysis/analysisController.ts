/**
 * Turns the editor's selection into an analysis: snapshot → worker (off the event loop) → host store → panel.
 * One analysis runs at a time; a new request cancels the one in flight.
 */
import * as vscode from 'vscode';
import { maxSelectionCharacters, readModelSource, SETTINGS } from '../config';
import type { AnalysisWorkerClient } from '../model/analysisWorker';
import { AnalysisError, isCancellation } from '../model/errors';
import { modelDisplayName } from '../model/modelSource';
import type { TokenRow } from '../shared/protocol';
import type { AttentionPanelManager } from '../views/attentionPanel';
import type { AnalysisStore } from './analysisStore';
import { snapshotSelection } from './selection';

/** What the Analyze Selection command returns (to other extensions and to tests). */
export type AnalyzeOutcome =
  | { kind: 'analysed'; analysisId: string; tokens: TokenRow[]; truncated: boolean }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'cancelled' };

export class AnalysisController implements vscode.Disposable {
  private inFlight: AbortController | undefined;

  constructor(
    private readonly worker: AnalysisWorkerClient,
    private readonly store: AnalysisStore,
    private readonly panels: AttentionPanelManager,
    private readonly log: vscode.LogOutputChannel,
    private readonly globalStorage: vscode.Uri,
  ) {}

  async analyzeSelection(editor: vscode.TextEditor | undefined): Promise<AnalyzeOutcome> {
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    try {
      if (!editor) {
        throw new AnalysisError('empty-selection', vscode.l10n.t('Open a text editor and select some text to analyze.'));
      }
      const snapshot = snapshotSelection(editor, maxSelectionCharacters());
      const source = readModelSource(this.globalStorage);
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Attention Explorer: analysing selection') },
        () => this.worker.run({ kind: 'tokenize', source, text: snapshot.text }, abort.signal),
      );
      const id = this.store.newId();
      this.store.add({
        id,
        source: snapshot.source,
        text: snapshot.text,
        tokens: result.tokens,
        exactOffsets: result.exactOffsets,
        ...(result.truncation ? { truncation: result.truncation } : {}),
        modelName: modelDisplayName(source),
        timings: { tokenizeMs: result.tokenizeMs },
        createdAt: Date.now(),
      });
      if (!result.exactOffsets) {
        this.log.warn(`Some token offsets of analysis ${id} are approximate (the tokenizer did something the aligner does not replay).`);
      }
      this.log.info(
        `Analysed ${snapshot.text.length} characters of ${snapshot.source.documentName}: ${result.tokens.length} tokens in ${result.tokenizeMs.toFixed(1)} ms (tokenizer load ${result.loadMs.toFixed(0)} ms).`,
      );
      this.panels.show(this.store.get(id)!);
      return { kind: 'analysed', analysisId: id, tokens: result.tokens, truncated: result.truncation !== undefined };
    } catch (error) {
      return this.report(error);
    } finally {
      if (this.inFlight === abort) {
        this.inFlight = undefined;
      }
    }
  }

  dispose(): void {
    this.inFlight?.abort();
  }

  private report(error: unknown): AnalyzeOutcome {
    if (isCancellation(error)) {
      return { kind: 'cancelled' };
    }
    if (error instanceof AnalysisError && (error.code === 'empty-selection' || error.code === 'selection-too-long')) {
      if (error.code === 'selection-too-long') {
        void this.offerActions(vscode.window.showWarningMessage(error.message, vscode.l10n.t('Open Settings')), SETTINGS.maxSelectionCharacters);
      } else {
        void vscode.window.showInformationMessage(error.message);
      }
      return { kind: 'refused', code: error.code, message: error.message };
    }
    const code = error instanceof AnalysisError ? error.code : 'internal';
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`Analysis failed (${code}): ${message}`);
    const setting = code === 'invalid-model' ? SETTINGS.localModelPath : code === 'model-unavailable' ? SETTINGS.hubUrl : undefined;
    const actions = setting ? [vscode.l10n.t('Open Settings'), vscode.l10n.t('Show Log')] : [vscode.l10n.t('Show Log')];
    void this.offerActions(vscode.window.showErrorMessage(vscode.l10n.t('Attention Explorer: {0}', message), ...actions), setting);
    return { kind: 'failed', code, message };
  }

  private async offerActions(choice: Thenable<string | undefined>, setting: string | undefined): Promise<void> {
    const picked = await choice;
    if (picked === vscode.l10n.t('Open Settings') && setting) {
      await vscode.commands.executeCommand('workbench.action.openSettings', setting);
    } else if (picked === vscode.l10n.t('Show Log')) {
      this.log.show(true);
    }
  }
}
