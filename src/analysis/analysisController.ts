/**
 * Turns the editor's selection into an analysis: snapshot → worker (off the event loop) → host store, then says so
 * ({@link AnalysisController.onDidAnalyze}); `extension.ts` shows it in the panel. One analysis runs at a time; a new
 * request cancels the one in flight.
 */
import * as vscode from 'vscode';
import { maxSelectionCharacters, SETTINGS } from '../config';
import { headlineOf, type Prediction, type TokenRow } from '../shared/analysis';
import { AnalysisError, isCancellation, messageOf } from '../shared/errors';
import type { AnalysisRecord, AnalysisStore } from './analysisStore';
import type { ModelService } from './modelService';
import type { ModelRequest } from '../model/modelSource';
import { snapshotRange, snapshotSelection, type SelectionSnapshot } from './selection';
import { openSourceDocument } from './sourceDocument';

/** What the Analyze Selection command returns (to other extensions and to tests). */
export type AnalyzeOutcome =
  | {
      kind: 'analysed';
      analysisId: string;
      tokens: TokenRow[];
      truncated: boolean;
      prediction: Prediction;
      /** A text classifier's labels and their probabilities (empty for other tasks). */
      labels: string[];
      probabilities: number[];
      model: AnalysisRecord['model'];
    }
  | { kind: 'refused'; code: string; message: string }
  | { kind: 'failed'; code: string; message: string; /** The buttons the error message offers. */ actions?: string[] }
  | { kind: 'cancelled' };

/** How an analysis presents itself. */
export interface AnalyzeOptions {
  /** Open or reveal the panel (default). Live mode leaves it alone and only updates it when it is open. */
  reveal?: boolean;
  /** No notifications (live mode): refusals and failures go to the log, the side view and the status bar. */
  quiet?: boolean;
  /** Run another model than the configured one (Compare Models). */
  model?: ModelRequest;
}

const ACTIONS = {
  openSettings: () => vscode.l10n.t('Open Settings'),
  useFolder: () => vscode.l10n.t('Use a Local Folder'),
  setMirror: () => vscode.l10n.t('Set a Mirror'),
  retry: () => vscode.l10n.t('Retry'),
  showLog: () => vscode.l10n.t('Show Log'),
};

/** An analysis just made, and whether it asked to be brought to the front. */
export interface AnalysedEvent {
  record: AnalysisRecord;
  reveal: boolean;
}

export class AnalysisController implements vscode.Disposable {
  private inFlight: AbortController | undefined;
  private readonly analysed = new vscode.EventEmitter<AnalysedEvent>();

  /** Fires for every analysis made, after it is in the store. */
  readonly onDidAnalyze = this.analysed.event;

  constructor(
    private readonly models: ModelService,
    private readonly store: AnalysisStore,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async analyzeSelection(editor: vscode.TextEditor | undefined, options: AnalyzeOptions = {}): Promise<AnalyzeOutcome> {
    if (!editor) {
      return this.analyze(() => {
        throw new AnalysisError('empty-selection', vscode.l10n.t('Open a text editor and select some text to analyze.'));
      }, options);
    }
    return this.analyze(() => snapshotSelection(editor, maxSelectionCharacters()), options);
  }

  /** Analyses a range of a document (hover links, live mode). */
  async analyzeRange(document: vscode.TextDocument, range: vscode.Range, options: AnalyzeOptions = {}): Promise<AnalyzeOutcome> {
    return this.analyze(() => snapshotRange(document, new vscode.Selection(range.start, range.end), maxSelectionCharacters()), options);
  }

  /**
   * Analyses a stored analysis's text again: where it is now, with the edits made since if it is stale (asked for
   * after a reload, when the tensors are gone, or from a stale hover).
   */
  async reanalyze(record: AnalysisRecord): Promise<boolean> {
    let document: vscode.TextDocument;
    try {
      document = await openSourceDocument(record.source.documentUri);
    } catch (error) {
      void vscode.window.showWarningMessage(messageOf(error));
      return false;
    }
    const tracked = this.store.locate(record, document);
    if (!tracked || tracked.end <= tracked.start) {
      void vscode.window.showWarningMessage(
        vscode.l10n.t('The analysed text is no longer in the document; select text and run Analyze Selection.'),
      );
      return false;
    }
    const range = new vscode.Range(document.positionAt(tracked.start), document.positionAt(tracked.end));
    const outcome = await this.analyzeRange(document, range);
    return outcome.kind === 'analysed';
  }

  private async analyze(snapshotOf: () => SelectionSnapshot, options: AnalyzeOptions): Promise<AnalyzeOutcome> {
    this.inFlight?.abort();
    const abort = new AbortController();
    this.inFlight = abort;
    try {
      const snapshot = snapshotOf();
      const id = this.store.newId();
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Attention Explorer: analysing selection') },
        () => this.models.analyze(id, snapshot.text, abort.signal, options.model),
      );
      const { tokenizeMs, inferenceMs, totalMs } = result.timings;
      const record: AnalysisRecord = {
        id,
        source: snapshot.source,
        text: snapshot.text,
        tokens: result.tokens,
        exactOffsets: result.exactOffsets,
        ...(result.truncation ? { truncation: result.truncation } : {}),
        model: result.model,
        prediction: result.prediction,
        timings: { tokenizeMs, inferenceMs, totalMs },
        createdAt: Date.now(),
        tracked: { start: snapshot.startOffset, end: snapshot.startOffset + snapshot.text.length, stale: false },
      };
      this.store.add(record, result.headMeans ? { headMeans: result.headMeans } : {});
      // Edits made while the model ran were not tracked yet: the text check marks the record stale if there were.
      this.store.sync(snapshot.document);
      if (!result.exactOffsets) {
        this.log.warn(`Some token offsets of analysis ${id} are approximate (the tokenizer did something the aligner does not replay).`);
      }
      const headline = headlineOf(result.prediction);
      const predicted = headline
        ? `${headline.label}${headline.probability !== undefined ? ` ${(headline.probability * 100).toFixed(1)}%` : ''}`
        : 'no prediction';
      this.log.info(
        `Analysed ${snapshot.text.length} characters of ${snapshot.source.documentName} with ${result.model.name} (${result.model.family} ${result.model.task}, ${result.model.dtype}): ${result.tokens.length} tokens, ${predicted}; tokenize ${tokenizeMs.toFixed(1)} ms, inference ${inferenceMs.toFixed(1)} ms, total ${totalMs.toFixed(0)} ms.`,
      );
      if (result.truncation && !options.quiet) {
        void vscode.window.showInformationMessage(
          vscode.l10n.t(
            'The selection has {0} tokens; the model reads {1}, so the analysis covers its first {2} characters.',
            result.truncation.textTokens,
            result.tokens.length,
            result.truncation.analysedEnd,
          ),
        );
      }
      this.analysed.fire({ record, reveal: options.reveal !== false });
      return {
        kind: 'analysed',
        analysisId: id,
        tokens: result.tokens,
        truncated: result.truncation !== undefined,
        prediction: record.prediction,
        labels: record.prediction.task === 'text-classification' ? record.prediction.labels : [],
        probabilities: record.prediction.task === 'text-classification' ? record.prediction.probabilities : [],
        model: record.model,
      };
    } catch (error) {
      return this.report(error, options.quiet === true);
    } finally {
      if (this.inFlight === abort) {
        this.inFlight = undefined;
      }
    }
  }

  dispose(): void {
    this.inFlight?.abort();
    this.analysed.dispose();
  }

  private report(error: unknown, quiet: boolean): AnalyzeOutcome {
    if (isCancellation(error)) {
      return { kind: 'cancelled' };
    }
    if (quiet) {
      const code = error instanceof AnalysisError ? error.code : 'internal';
      const message = messageOf(error);
      this.log.info(`Live analysis not made (${code}): ${message}`);
      return { kind: code === 'empty-selection' || code === 'selection-too-long' ? 'refused' : 'failed', code, message };
    }
    if (error instanceof AnalysisError && (error.code === 'empty-selection' || error.code === 'selection-too-long')) {
      if (error.code === 'selection-too-long') {
        void this.offer(vscode.window.showWarningMessage(error.message, ACTIONS.openSettings()), {
          [ACTIONS.openSettings()]: () => this.openSetting(SETTINGS.maxSelectionCharacters),
        });
      } else {
        void vscode.window.showInformationMessage(error.message);
      }
      return { kind: 'refused', code: error.code, message: error.message };
    }
    const code = error instanceof AnalysisError ? error.code : 'internal';
    const message = messageOf(error);
    this.log.error(`Analysis failed (${code}): ${message}`);
    const actions: Record<string, () => unknown> = {};
    if (code === 'model-unavailable') {
      actions[ACTIONS.retry()] = () => vscode.commands.executeCommand('attentionExplorer.analyzeSelection');
      actions[ACTIONS.setMirror()] = () => this.openSetting(SETTINGS.hubUrl);
      actions[ACTIONS.useFolder()] = () => this.openSetting(SETTINGS.localModelPath);
    } else if (code === 'invalid-model') {
      actions[ACTIONS.openSettings()] = () => this.openSetting(SETTINGS.localModelPath);
    } else if (code === 'over-budget') {
      actions[ACTIONS.openSettings()] = () => this.openSetting(SETTINGS.tensorBudget);
    }
    actions[ACTIONS.showLog()] = () => this.log.show(true);
    void this.offer(vscode.window.showErrorMessage(vscode.l10n.t('Attention Explorer: {0}', message), ...Object.keys(actions)), actions);
    return { kind: 'failed', code, message, actions: Object.keys(actions) };
  }

  private openSetting(setting: string): Thenable<unknown> {
    return vscode.commands.executeCommand('workbench.action.openSettings', setting);
  }

  private async offer(choice: Thenable<string | undefined>, actions: Record<string, () => unknown>): Promise<void> {
    const picked = await choice;
    if (picked !== undefined) await actions[picked]?.();
  }
}
