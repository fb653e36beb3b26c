/**
 * Attention Explorer's entry point. Activation only wires objects together: transformers.js, the tokenizer and the
 * model load lazily in the worker on the first analysis, so activation stays cheap for everyone sharing the host.
 */
import * as vscode from 'vscode';
import { AnalysisController, type AnalyzeOutcome } from './analysis/analysisController';
import { AnalysisStore } from './analysis/analysisStore';
import { ModelService, type ModelStatus } from './analysis/modelService';
import { modelCacheDir } from './config';
import { AnalysisWorkerClient } from './model/analysisWorker';
import { AttentionPanelManager, PANEL_VIEW_TYPE } from './views/attentionPanel';

export const COMMANDS = {
  analyzeSelection: 'attentionExplorer.analyzeSelection',
  clearModelCache: 'attentionExplorer.clearModelCache',
  showLog: 'attentionExplorer.showLog',
} as const;

/** What `activate` returns: a small surface for other extensions and the extension-host tests. */
export interface AttentionExplorerApi {
  /** Whether the attention panel is open. */
  readonly isPanelOpen: boolean;
  /** Whether the analysis worker thread is running. */
  readonly isWorkerRunning: boolean;
  /** The model's state, as the status bar and side view show it. */
  readonly modelStatus: ModelStatus;
  /** Where downloaded models are kept (under the extension's global storage). */
  readonly modelCacheDir: string;
}

export function activate(context: vscode.ExtensionContext): AttentionExplorerApi {
  const log = vscode.window.createOutputChannel('Attention Explorer', { log: true });
  const worker = new AnalysisWorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, log);
  const store = new AnalysisStore();
  const models = new ModelService(worker, context.globalStorageUri, log);
  // The panel and the controller need each other (re-analysis from the panel); the backend closes the loop.
  let controller: AnalysisController | undefined;
  const panels = new AttentionPanelManager(context.extensionUri, store, log, context.workspaceState, {
    view: (job) => models.view(job),
    reanalyze: (record) => controller?.reanalyze(record) ?? Promise.resolve(false),
  });
  controller = new AnalysisController(models, store, panels, log);
  void models.refreshStatus();

  context.subscriptions.push(
    log,
    store,
    panels,
    controller,
    models,
    { dispose: () => void worker.dispose() },
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, panels.serializer()),
    vscode.commands.registerCommand(
      COMMANDS.analyzeSelection,
      (): Promise<AnalyzeOutcome> => controller.analyzeSelection(vscode.window.activeTextEditor),
    ),
    vscode.commands.registerCommand(COMMANDS.clearModelCache, async () => {
      await models.clearCache();
      void vscode.window.showInformationMessage(vscode.l10n.t('Attention Explorer: the model cache is empty; the model downloads again on the next analysis.'));
    }),
    vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
  );

  return {
    get isPanelOpen() {
      return panels.isOpen;
    },
    get isWorkerRunning() {
      return worker.isRunning;
    },
    get modelStatus() {
      return models.status;
    },
    modelCacheDir: modelCacheDir(context.globalStorageUri),
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
