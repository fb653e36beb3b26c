/**
 * Everything the extension does, loaded by the startup bundle (`src/extension.ts`) on first use: a command, the panel
 * or side view opening, an `.attention.json` editor, a notebook output's message. Loading only wires objects
 * together: transformers.js, the tokenizer and the model load later still, in the worker, on the first analysis.
 */
import * as v from 'valibot';
import * as vscode from 'vscode';
import { AnalysisController, type AnalyzeOutcome } from './analysis/analysisController';
import { AnalysisStore, type AnalysisRecord } from './analysis/analysisStore';
import { importAttention, type AttentionImport } from './analysis/attentionImport';
import { InsightService } from './analysis/insightService';
import { LiveMode } from './analysis/liveMode';
import { ModelService, type ModelStatus } from './analysis/modelService';
import { modelCacheDir, SETTINGS } from './config';
import { AnalysisWorkerClient } from './model/analysisWorker';
import type { AttentionSource } from './model/attentionImport';
import type { WorkerDiagnostics } from './model/worker/protocol';
import type { Analysis } from './shared/analysis';
import { ATTENTION_FILE_SUFFIX } from './shared/attentionFile';
import { PanelFocusSchema } from './shared/panelProtocol';
import type { SideCommand, SideState } from './shared/sideProtocol';
import { messageOf } from './shared/errors';
import { ATTENTION_FILE_VIEW_TYPE, COMMANDS, type CommandName } from './shared/contributions';
import { AttentionFileEditorProvider, type AttentionViewerActions } from './views/attentionFileEditor';
import { AttentionPanelManager } from './views/attentionPanel';
import { AttentionDecorations, type AppliedDecorations } from './views/decorations';
import { AttentionHoverProvider } from './views/hoverProvider';
import { NotebookOutputs } from './views/notebookOutputs';
import { PredictionDecorations, type AppliedPredictions } from './views/predictionDecorations';
import { pickOtherModel, selectModel, type SelectModelOutcome } from './views/selectModel';
import { SideViewProvider } from './views/sideView';
import { AttentionStatusBar } from './views/statusBar';
import { hasSourceDocument, openSourceDocument } from './analysis/sourceDocument';

/** Set by esbuild's banner and footer around the bundle's evaluation (absent when not bundled). */
declare const __attnBundleStart: number | undefined;
declare const __attnBundleEnd: number | undefined;

const FocusArgumentSchema = v.object({ analysisId: v.pipe(v.string(), v.maxLength(64)), ...PanelFocusSchema.entries });
const AnalysisArgumentSchema = v.object({ analysisId: v.pipe(v.string(), v.maxLength(64)) });

/** What `activate` returns: a small surface for other extensions and the extension-host tests. */
export interface AttentionExplorerApi {
  /** Whether the attention panel is open. */
  readonly isPanelOpen: boolean;
  /** The analysis the panel shows, if open. */
  readonly panelAnalysisId: string | undefined;
  /** Whether the analysis worker thread is running. */
  readonly isWorkerRunning: boolean;
  /** The model's state, as the status bar and side view show it. */
  readonly modelStatus: ModelStatus;
  /** Where downloaded models are kept (under the extension's global storage). */
  readonly modelCacheDir: string;
  /** The status bar item's text. */
  readonly statusBarText: string;
  /** The status bar item's tooltip, as Markdown source. */
  readonly statusBarTooltip: string;
  /** The state the side view was last sent (undefined until it was opened). */
  readonly sideViewState: SideState | undefined;
  /** Whether an analysis is stale (its text was edited); undefined for an unknown id. */
  isStale(analysisId: string): boolean | undefined;
  /** The tint applied to an editor (undefined: none). */
  decorationsOf(editor: vscode.TextEditor): AppliedDecorations | undefined;
  /** The entities or mask predictions shown in an editor (undefined: none). */
  predictionsOf(editor: vscode.TextEditor): AppliedPredictions | undefined;
  /** Resolves with the outcome of the latest live-mode analysis once it has finished. */
  liveModeSettled(): Promise<AnalyzeOutcome | undefined>;
  /**
   * How long our code took (milliseconds): at activation, evaluating the startup bundle and `activate` itself; on
   * first use, evaluating the rest and wiring it together.
   */
  readonly activation: { evaluateMs: number; activateMs: number; loadEvaluateMs: number; loadMs: number };
  /** Every error-level line this session's log received (tests check bad input never produces one). */
  readonly loggedErrors: readonly string[];
  /** How many analysis worker threads have been started (tests check a burst of commands starts one). */
  readonly workerStarts: number;
  /** What the worker and its client hold now (tests check nothing leaks after a burst). */
  diagnostics(): Promise<WorkerDiagnostics & { pendingRequests: number }>;
  /** Handles a message as if the panel's page had posted it (tests of bursts from the webview); false if dropped. */
  receiveAsPanel(message: unknown): boolean;
  /**
   * Asks the host as the panel's page would (its schemas, handlers, forwarding to the worker) and resolves with the
   * answer the page would get, e.g. `requestAsPanel('headMap', { analysisId, layer, head, options })`.
   */
  requestAsPanel(method: string, params: unknown): Promise<unknown>;
  /** What the panel's page was last sent to show: the analysis, and whether its head means came with it. */
  readonly panelShown: { analysis: Analysis | null; attentionHeld: boolean } | undefined;
  /**
   * Imports an attention document and shows it in the panel, as "Open in Attention Explorer" does: `source` is a
   * parsed document (a notebook output's data), a file path the worker reads, or a file's text; `attention` its
   * self-attention's name (default "attention"); `documentName` what the panel calls it. Rejects with the message a
   * viewer would show.
   */
  importAttention(request: { source: AttentionSource; attention?: string; documentName?: string }): Promise<{ analysisId: string }>;
  /** Asks as the page of the `.attention.json` editor open on `uri` would (`openInPanel`, `export`). */
  requestAsAttentionFileEditor(uri: vscode.Uri, method: string, params: unknown): Promise<unknown>;
  /** Delivers a message as if that editor's page had posted it (its `ready`); false if no such editor or dropped. */
  receiveAsAttentionFileEditor(uri: vscode.Uri, message: unknown): boolean;
  /** What an `.attention.json` editor's page was last sent: `showDocument` ({ name, length }) or `showError` ({ message }). */
  attentionFileEditorSent(event: 'showDocument' | 'showError'): unknown;
  /** Asks as an attention output of a notebook editor would, over the renderer messaging channel's path. */
  requestAsNotebookOutput(editor: vscode.NotebookEditor, method: string, params: unknown): Promise<unknown>;
  /** Notebook editors whose outputs have an open channel to the host. */
  readonly notebookOutputChannels: number;
}

/** What the startup bundle hands over: what activation had to create itself, and how long it took. */
export interface Startup {
  /** The log channel (activation logs its timing there). */
  log: vscode.LogOutputChannel;
  /** The status bar item activation showed ({@link AttentionStatusBar} takes it over). */
  statusItem: vscode.StatusBarItem;
  /** The notebook renderer's messaging, created at activation so that no output's message is missed. */
  rendererMessaging: vscode.NotebookRendererMessaging | undefined;
  activation: { evaluateMs: number; activateMs: number };
  /** When the startup bundle began loading this one (`performance.now()`). */
  loadStart: number;
}

/** What the startup bundle's registrations forward to. */
export interface Features {
  commands: Record<CommandName, (...args: unknown[]) => unknown>;
  panelSerializer: vscode.WebviewPanelSerializer;
  sideView: vscode.WebviewViewProvider;
  attentionFiles: vscode.CustomReadonlyEditorProvider;
  hover: vscode.HoverProvider;
  notebookOutputs: Pick<NotebookOutputs, 'receive'>;
  api: AttentionExplorerApi;
}

/** Wires the extension together; its disposables join `context.subscriptions`. */
export function startFeatures(context: vscode.ExtensionContext, startup: Startup): Features {
  const loadedAt = performance.now();
  const loggedErrors: string[] = [];
  const log = countingErrors(startup.log, loggedErrors);
  const worker = new AnalysisWorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, log);
  const store = new AnalysisStore();
  const models = new ModelService(worker, context.globalStorageUri, log);
  const insights = new InsightService(store, {
    view: (method, params) => models.view(method, params),
    lastAttribution: (analysisId) => models.lastAttribution(analysisId),
  });
  const decorations = new AttentionDecorations(store, insights);
  const predictionDecorations = new PredictionDecorations(store);
  const controller = new AnalysisController(models, store, log);
  const panels = new AttentionPanelManager(context.extensionUri, store, log, context.workspaceState, {
    view: (method, params, signal, onProgress) => models.view(method, params, signal, onProgress),
    writeTensor: (analysisId, format, file, document, signal) => models.writeTensor({ analysisId, format, path: file, document }, signal),
    writeHeadMap: (analysisId, format, file, map, signal) => models.writeHeadMap({ analysisId, format, path: file, map }, signal),
    restore: (analysis) => {
      store.restore(analysis);
      // The analysed document may be open already: start following it now.
      for (const document of vscode.workspace.textDocuments) store.sync(document);
    },
    reanalyze: (record) => controller.reanalyze(record),
    showAttribution: (record) => decorations.showAttribution(record),
  });
  // Attention from an .attention.json file or a notebook output: the worker reads it, the panel shows it.
  const openAttention = async (request: AttentionImport, signal?: AbortSignal): Promise<AnalysisRecord> => {
    const { record, view } = await importAttention(models, store, log, request, signal);
    if (view.tab !== undefined || view.layer !== undefined || view.head !== undefined) panels.focus(view, record);
    else panels.show(record);
    return record;
  };
  const viewerActions: AttentionViewerActions = {
    openInPanel: async (request, signal) => void (await openAttention(request, signal)),
  };
  const attentionFiles = new AttentionFileEditorProvider(context.extensionUri, viewerActions, log);
  const notebookOutputs = new NotebookOutputs(viewerActions, log, startup.rendererMessaging);
  const live = new LiveMode(controller);
  const statusBar = new AttentionStatusBar(models, store, startup.statusItem);
  const commands = new CommandHandlers(controller, store, panels, decorations, models, log);
  const sideView = new SideViewProvider(
    context.extensionUri,
    store,
    models,
    insights,
    live,
    { run: (command) => commands.side(command, live) },
    log,
  );
  void models.refreshStatus();

  context.subscriptions.push(
    store,
    panels,
    controller,
    models,
    live,
    decorations,
    predictionDecorations,
    statusBar,
    sideView,
    notebookOutputs,
    { dispose: () => void worker.dispose() },
    vscode.workspace.onDidChangeTextDocument((event) => store.applyChange(event)),
    vscode.workspace.onDidOpenTextDocument((document) => store.sync(document)),
    controller.onDidAnalyze(({ record, reveal }) => panels.show(record, { reveal })),
    store.onDidChange((change) => {
      void vscode.commands.executeCommand('setContext', 'attentionExplorer.hasAnalysis', store.latest() !== undefined);
      if (change.kind === 'stale') panels.markStale(change.record);
    }),
  );
  const handlers: Features['commands'] = {
    analyzeSelection: (): Promise<AnalyzeOutcome> => controller.analyzeSelection(vscode.window.activeTextEditor),
    showPanel: () => commands.showPanel(),
    explainPrediction: () => commands.explainPrediction(),
    compareSelections: (): Promise<CompareOutcome> => commands.compareSelections(),
    compareModels: (choice?: unknown): Promise<CompareOutcome> => commands.compareModels(choice),
    toggleDecorations: () => commands.toggleDecorations(),
    showSurprisal: () => commands.showSurprisal(),
    openPlayground: () => panels.focus({ tab: 'playground' }),
    selectModel: (choice?: unknown): Promise<SelectModelOutcome> => selectModel(choice),
    clearModelCache: async () => {
      await models.clearCache();
      void vscode.window.showInformationMessage(
        vscode.l10n.t('Attention Explorer: the model cache is empty; the model downloads again on the next analysis.'),
      );
    },
    showLog: () => log.show(),
    openAttentionFile: () => openAttentionFile(),
    focusInPanel: (argument?: unknown) => commands.focusInPanel(argument),
    reanalyze: (argument?: unknown) => commands.reanalyze(argument),
  };

  const activation = {
    ...startup.activation,
    loadEvaluateMs: typeof __attnBundleStart === 'number' && typeof __attnBundleEnd === 'number' ? __attnBundleEnd - __attnBundleStart : 0,
    loadMs: performance.now() - startup.loadStart,
  };
  log.info(
    `Loaded on first use in ${activation.loadMs.toFixed(1)} ms (the bundle evaluated in ${activation.loadEvaluateMs.toFixed(1)} ms, wiring took ${(performance.now() - loadedAt).toFixed(1)} ms).`,
  );

  const api: AttentionExplorerApi = {
    get isPanelOpen() {
      return panels.isOpen;
    },
    get panelAnalysisId() {
      return panels.shownAnalysis;
    },
    get isWorkerRunning() {
      return worker.isRunning;
    },
    get modelStatus() {
      return models.status;
    },
    modelCacheDir: modelCacheDir(context.globalStorageUri),
    get loggedErrors() {
      return loggedErrors;
    },
    get workerStarts() {
      return worker.starts;
    },
    async diagnostics() {
      const inWorker = await worker.request('diagnostics', {});
      return { ...inWorker, pendingRequests: worker.pendingCount };
    },
    get statusBarText() {
      return statusBar.text;
    },
    get statusBarTooltip() {
      return statusBar.tooltipMarkdown;
    },
    receiveAsPanel: (message) => panels.receiveAsPage(message),
    requestAsPanel: (method, params) => panels.requestAsPage(method, params),
    get panelShown() {
      return panels.lastShown;
    },
    importAttention: async ({ source, attention = 'attention', documentName = 'attention' }) => ({
      analysisId: (await openAttention({ source, attention, documentName })).id,
    }),
    requestAsAttentionFileEditor: (uri, method, params) => attentionFiles.requestAsPage(uri, method, params),
    receiveAsAttentionFileEditor: (uri, message) => attentionFiles.receiveAsPage(uri, message),
    attentionFileEditorSent: (event) => attentionFiles.lastSent(event),
    requestAsNotebookOutput: (editor, method, params) => notebookOutputs.requestAsOutput(editor, method, params),
    get notebookOutputChannels() {
      return notebookOutputs.openChannels;
    },
    get sideViewState() {
      return sideView.lastPosted;
    },
    isStale: (analysisId) => {
      const record = store.get(analysisId);
      return record ? record.tracked?.stale === true : undefined;
    },
    decorationsOf: (editor) => decorations.appliedTo(editor),
    predictionsOf: (editor) => predictionDecorations.appliedTo(editor),
    liveModeSettled: () => live.whenSettled(),
    activation,
  };
  return {
    commands: handlers,
    panelSerializer: panels.serializer(),
    sideView,
    attentionFiles,
    hover: new AttentionHoverProvider(store, insights),
    notebookOutputs,
    api,
  };
}

/** Open Attention File…: picks a `.attention.json` file and opens it in its editor. False when none was picked. */
async function openAttentionFile(): Promise<boolean> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    canSelectFolders: false,
    // macOS filters by the last extension only: JSON as well, so that attention files can be picked there too.
    filters: { [vscode.l10n.t('Attention files')]: [ATTENTION_FILE_SUFFIX.slice(1)], JSON: ['json'] },
    openLabel: vscode.l10n.t('Open'),
    title: vscode.l10n.t('Open Attention File'),
  });
  const uri = picked?.[0];
  if (!uri) return false;
  await vscode.commands.executeCommand('vscode.openWith', uri, ATTENTION_FILE_VIEW_TYPE);
  return true;
}

/** The log channel, with its error-level lines also kept in `errors` (bounded). */
function countingErrors(channel: vscode.LogOutputChannel, errors: string[]): vscode.LogOutputChannel {
  return new Proxy(channel, {
    get(target, property, receiver) {
      if (property === 'error') {
        return (message: string | Error, ...args: unknown[]) => {
          if (errors.length < 1000) errors.push(message instanceof Error ? message.message : message);
          target.error(message, ...args);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** What Compare Selections returns (to tests). */
export type CompareOutcome =
  { kind: 'compared'; a: string; b: string; models?: [string, string] } | { kind: 'notCompared'; reason: string };

/** The commands beyond Analyze Selection, with the messages a user sees when one cannot do its job. */
class CommandHandlers {
  constructor(
    private readonly controller: AnalysisController,
    private readonly store: AnalysisStore,
    private readonly panels: AttentionPanelManager,
    private readonly decorations: AttentionDecorations,
    private readonly models: ModelService,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  showPanel(): void {
    this.panels.focus({}, this.store.latest());
  }

  /** The Explain view of the selection's analysis (analysing the selection first if needed). */
  async explainPrediction(): Promise<AnalyzeOutcome | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (editor && !editor.selection.isEmpty && !this.selectionIsAnalysed(editor)) {
      const outcome = await this.controller.analyzeSelection(editor);
      if (outcome.kind !== 'analysed') return outcome;
    }
    const latest = this.store.latest();
    if (!latest) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Select some text and run Explain Prediction (or Analyze Selection) first.'));
      return undefined;
    }
    this.panels.focus({ tab: 'explain', section: 'prediction' }, latest);
    return undefined;
  }

  /**
   * Compares two analyses in the panel: the editor's first two selections (analysed now, in order), or else the last
   * two analyses (the older as A).
   */
  async compareSelections(): Promise<CompareOutcome> {
    const editor = vscode.window.activeTextEditor;
    const selections = editor?.selections.filter((selection) => !selection.isEmpty) ?? [];
    let pair: [AnalysisRecord, AnalysisRecord] | undefined;
    if (editor && selections.length >= 2) {
      const ids: string[] = [];
      for (const selection of selections.slice(0, 2)) {
        const outcome = await this.controller.analyzeRange(editor.document, selection, { reveal: false });
        if (outcome.kind !== 'analysed')
          return { kind: 'notCompared', reason: outcome.kind === 'cancelled' ? 'cancelled' : outcome.message };
        ids.push(outcome.analysisId);
      }
      const [a, b] = ids.map((id) => this.store.get(id));
      if (a && b) pair = [a, b];
    } else {
      const [newest, older] = this.store.recent();
      if (newest && older) pair = [older, newest];
    }
    if (!pair) {
      const reason = vscode.l10n.t(
        'Select two passages (hold Alt and select the second) or analyse two selections, then run Compare Selections.',
      );
      void vscode.window.showInformationMessage(reason);
      return { kind: 'notCompared', reason };
    }
    this.panels.focus({ tab: 'compare', compareWith: pair[1].id }, pair[0]);
    return { kind: 'compared', a: pair[0].id, b: pair[1].id };
  }

  /**
   * The selection analysed by the configured model (A) and by another (B, picked or passed as `{ modelId }` or
   * `{ localModelPath }`), side by side in the compare view. Both models stay loaded.
   */
  async compareModels(argument?: unknown): Promise<CompareOutcome> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) {
      const reason = vscode.l10n.t('Select the text to analyse with two models, then run Compare Models on Selection.');
      void vscode.window.showInformationMessage(reason);
      return { kind: 'notCompared', reason };
    }
    const other = await pickOtherModel(argument);
    if (other.kind !== 'selected') return { kind: 'notCompared', reason: other.kind === 'refused' ? other.message : 'cancelled' };
    let request;
    try {
      request = this.models.requestFor(other.choice);
    } catch (error) {
      const reason = messageOf(error);
      void vscode.window.showWarningMessage(reason);
      return { kind: 'notCompared', reason };
    }
    const selection = editor.selection;
    const a = await this.controller.analyzeRange(editor.document, selection, { reveal: false });
    if (a.kind !== 'analysed') return { kind: 'notCompared', reason: a.kind === 'cancelled' ? 'cancelled' : a.message };
    const b = await this.controller.analyzeRange(editor.document, selection, { reveal: false, model: request });
    if (b.kind !== 'analysed') return { kind: 'notCompared', reason: b.kind === 'cancelled' ? 'cancelled' : b.message };
    const [first, second] = [this.store.get(a.analysisId), this.store.get(b.analysisId)];
    if (first) this.panels.focus({ tab: 'compare', compareWith: b.analysisId }, first);
    return { kind: 'compared', a: a.analysisId, b: b.analysisId, models: [first?.model.name ?? '', second?.model.name ?? ''] };
  }

  async toggleDecorations(): Promise<boolean> {
    const enabled = await this.decorations.setEnabled(!this.decorations.isEnabled);
    const editor = vscode.window.activeTextEditor;
    if (enabled && (!editor || this.store.ofDocument(editor.document.uri).length === 0)) {
      void vscode.window.showInformationMessage(
        vscode.l10n.t('Attention decorations are on: they tint text analysed in this editor. Select text and run Analyze Selection.'),
      );
    }
    return enabled;
  }

  /** Tints by surprisal (a language model's −log₂ p per token): sets `decorations.mode` and turns the tint on. */
  async showSurprisal(): Promise<boolean> {
    await vscode.workspace.getConfiguration().update(SETTINGS.decorationsMode, 'surprisal', vscode.ConfigurationTarget.Global);
    const shown = await this.decorations.setEnabled(true);
    const editor = vscode.window.activeTextEditor;
    const newest = editor ? this.store.ofDocument(editor.document.uri)[0] : undefined;
    if (newest && !newest.model.causal) {
      void vscode.window.showInformationMessage(
        vscode.l10n.t(
          'Surprisal needs a language model (GPT-2, Llama, Qwen): this text was analysed by {0}, so its tint shows attention instead.',
          newest.model.name,
        ),
      );
    }
    return shown;
  }

  focusInPanel(argument: unknown): boolean {
    const parsed = v.safeParse(FocusArgumentSchema, argument);
    if (!parsed.success) {
      this.log.warn('Focus in panel: ignored an unusable argument.');
      return false;
    }
    const { analysisId, ...target } = parsed.output;
    const record = this.store.get(analysisId);
    if (!record) {
      void vscode.window.showInformationMessage(vscode.l10n.t('This analysis is no longer available; run Analyze Selection again.'));
      return false;
    }
    this.panels.focus(target, record);
    return true;
  }

  async reanalyze(argument: unknown): Promise<boolean> {
    const parsed = v.safeParse(AnalysisArgumentSchema, argument);
    const record = parsed.success ? this.store.get(parsed.output.analysisId) : undefined;
    if (!record) {
      void vscode.window.showInformationMessage(vscode.l10n.t('This analysis is no longer available; run Analyze Selection again.'));
      return false;
    }
    return this.controller.reanalyze(record);
  }

  /** What the side view's buttons do. */
  async side(command: SideCommand, live: LiveMode): Promise<unknown> {
    switch (command.command) {
      case 'analyzeSelection':
        return vscode.commands.executeCommand(COMMANDS.analyzeSelection);
      case 'showPanel':
        return this.showPanel();
      case 'openRecent': {
        const record = this.store.get(command.analysisId);
        if (!record) return undefined;
        this.panels.show(record);
        // Maps from a file or a notebook have no document to go back to.
        return hasSourceDocument(record) ? this.revealSource(record) : undefined;
      }
      case 'setLiveMode':
        return live.setEnabled(command.enabled);
      case 'modelAction':
        switch (command.action) {
          case 'download':
            return this.models.prepare().catch((error: unknown) => this.log.error(`Download failed: ${messageOf(error)}`));
          case 'cancelDownload':
            return this.models.cancelDownload();
          case 'retry':
            return this.models.prepare().catch((error: unknown) => this.log.error(`Loading the model failed: ${messageOf(error)}`));
          case 'selectModel':
            return vscode.commands.executeCommand(COMMANDS.selectModel);
          case 'openSettings':
            return vscode.commands.executeCommand('workbench.action.openSettings', '@ext:attention-explorer.attention-explorer');
          case 'showLog':
            return this.log.show(true);
        }
    }
  }

  private selectionIsAnalysed(editor: vscode.TextEditor): boolean {
    const start = editor.document.offsetAt(editor.selection.start);
    const end = editor.document.offsetAt(editor.selection.end);
    return this.store.ofDocument(editor.document.uri).some((record) => {
      const tracked = this.store.locate(record, editor.document);
      return tracked !== undefined && !tracked.stale && tracked.start === start && tracked.end === end;
    });
  }

  private async revealSource(record: AnalysisRecord): Promise<void> {
    const document = await openSourceDocument(record.source.documentUri).catch((error: unknown) => {
      void vscode.window.showWarningMessage(messageOf(error));
      return undefined;
    });
    if (!document) return;
    const tracked = this.store.locate(record, document);
    if (!tracked) return;
    const range = new vscode.Range(document.positionAt(tracked.start), document.positionAt(tracked.end));
    await vscode.window.showTextDocument(document, {
      viewColumn: vscode.ViewColumn.One,
      selection: new vscode.Selection(range.start, range.end),
      preserveFocus: false,
    });
  }
}
