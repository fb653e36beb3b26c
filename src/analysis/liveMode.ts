/**
 * Live mode (opt-in): re-analyses the selection as it changes, after a pause in selecting (debounced), without
 * opening the panel or showing notifications. A new selection cancels the analysis in flight (the controller runs
 * one at a time).
 */
import * as vscode from 'vscode';
import { liveModeDelay, liveModeEnabled, SETTINGS } from '../config';
import { DisposableStore } from '../shared/disposables';
import type { AnalysisController, AnalyzeOutcome } from './analysisController';

export class LiveMode implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastKey: string | undefined;
  private statusText: string | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly subscriptions = new DisposableStore();
  /** Resolves when the analysis a selection change started has finished (for tests). */
  private settled: Promise<AnalyzeOutcome | undefined> = Promise.resolve(undefined);

  /** Fires when live mode is switched or its status changes. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly controller: AnalysisController) {
    this.subscriptions.add(this.changed);
    this.subscriptions.add(vscode.window.onDidChangeTextEditorSelection((event) => this.onSelection(event.textEditor)));
    this.subscriptions.add(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(SETTINGS.liveMode)) {
          this.lastKey = undefined;
          this.setStatus(liveModeEnabled() ? vscode.l10n.t('Select text to analyze it.') : undefined);
          if (liveModeEnabled() && vscode.window.activeTextEditor) this.onSelection(vscode.window.activeTextEditor);
        }
      }),
    );
    this.subscriptions.addCallback(() => {
      if (this.timer) clearTimeout(this.timer);
    });
    if (liveModeEnabled()) this.statusText = vscode.l10n.t('Select text to analyze it.');
  }

  get enabled(): boolean {
    return liveModeEnabled();
  }

  get status(): string | undefined {
    return this.enabled ? this.statusText : undefined;
  }

  /** Switches live mode (a user setting, so it holds across windows). */
  async setEnabled(enabled: boolean): Promise<void> {
    await vscode.workspace.getConfiguration().update(SETTINGS.liveMode, enabled, vscode.ConfigurationTarget.Global);
  }

  /** The outcome of the latest live analysis once it has finished. */
  whenSettled(): Promise<AnalyzeOutcome | undefined> {
    return this.settled;
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private onSelection(editor: vscode.TextEditor): void {
    if (!this.enabled || editor.document.uri.scheme === 'output') return;
    if (this.timer) clearTimeout(this.timer);
    const selection = editor.selection;
    if (selection.isEmpty) {
      this.setStatus(vscode.l10n.t('Select text to analyze it.'));
      return;
    }
    const key = `${editor.document.uri.toString()}|${editor.document.version}|${editor.document.offsetAt(selection.start)}|${editor.document.offsetAt(selection.end)}`;
    if (key === this.lastKey) return;
    let resolve: (outcome: AnalyzeOutcome | undefined) => void = () => undefined;
    this.settled = new Promise((done) => (resolve = done));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastKey = key;
      this.setStatus(vscode.l10n.t('Analysing the selection…'));
      void this.controller.analyzeSelection(editor, { reveal: false, quiet: true }).then((outcome) => {
        if (outcome.kind === 'analysed') this.setStatus(vscode.l10n.t('Analysed the selection.'));
        else if (outcome.kind !== 'cancelled') this.setStatus(outcome.message);
        resolve(outcome);
      });
    }, liveModeDelay());
  }

  private setStatus(text: string | undefined): void {
    this.statusText = text;
    this.changed.fire();
  }
}
