/**
 * The host's view of the model: which one the settings name, its state for the UI (not downloaded, downloading %,
 * ready, error), the download notification with its Cancel button, and clearing the cache. The heavy work happens
 * in the worker; this only passes requests along and keeps score.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { affectsModel, modelCacheDir, readModelRequest, SETTINGS, tensorBudgetBytes, type OtherModel } from '../config';
import type { AnalysisWorkerClient } from '../model/analysisWorker';
import type { AnalysisResult } from '../model/analyzer';
import type { ImportedAttention } from '../model/attentionImport';
import { hubCacheFolder, modelDisplayName, modelRequestKey, requiredFiles, type ModelRequest } from '../model/modelSource';
import type { DownloadProgress } from '../model/modelStore';
import type { WorkerRequests } from '../model/worker/protocol';
import type { ModelInfo } from '../shared/analysis';
import type { AnalysisViewName, AnalysisViewRequests } from '../shared/analysisViews';
import { DisposableStore } from '../shared/disposables';
import { AnalysisError, isCancellation, messageOf } from '../shared/errors';
import { formatMegabytes } from '../shared/format';
import type { ParamsOf, ProgressOf, ResultOf } from '../shared/rpc';

export type ModelStatus =
  | { state: 'unknown' }
  | { state: 'not-downloaded'; modelName: string }
  | { state: 'downloaded'; modelName: string }
  | { state: 'downloading'; modelName: string; loadedBytes: number; totalBytes: number }
  | { state: 'loading'; modelName: string }
  | { state: 'ready'; modelName: string; info: ModelInfo }
  | { state: 'error'; modelName: string; code: string; message: string };

export class ModelService implements vscode.Disposable {
  private current: ModelStatus = { state: 'unknown' };
  private readonly changed = new vscode.EventEmitter<ModelStatus>();
  private readonly subscriptions = new DisposableStore();
  private loadedKey: string | undefined;
  /** One notification per model being fetched, shared by every request waiting for it. */
  private readonly downloads = new Map<string, DownloadNotification>();

  /** Fires whenever the model's state changes. */
  readonly onDidChangeStatus = this.changed.event;

  constructor(
    private readonly worker: AnalysisWorkerClient,
    private readonly globalStorage: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.add(this.changed);
    worker.setTensorBudget(tensorBudgetBytes());
    this.subscriptions.add(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(SETTINGS.tensorBudget)) worker.setTensorBudget(tensorBudgetBytes());
        if (affectsModel(event)) {
          this.loadedKey = undefined;
          void this.refreshStatus();
        }
      }),
    );
  }

  get status(): ModelStatus {
    return this.current;
  }

  /** Looks at the disk (nothing is loaded) to say whether the configured model still has to be downloaded. */
  async refreshStatus(): Promise<ModelStatus> {
    let request: ModelRequest;
    try {
      request = readModelRequest(this.globalStorage);
    } catch (error) {
      this.setStatus({
        state: 'error',
        modelName: '',
        code: error instanceof AnalysisError ? error.code : 'internal',
        message: messageOf(error),
      });
      return this.current;
    }
    const modelName = modelDisplayName(request.source);
    if (this.loadedKey === modelRequestKey(request) && this.current.state === 'ready') {
      return this.current;
    }
    const folder = request.source.kind === 'hub' ? hubCacheFolder(request.source) : request.source.folder;
    const present = await Promise.all(
      requiredFiles(request.dtype).map((file) =>
        fs.promises.access(path.join(folder, file)).then(
          () => true,
          () => false,
        ),
      ),
    );
    this.setStatus(present.every(Boolean) ? { state: 'downloaded', modelName } : { state: 'not-downloaded', modelName });
    return this.current;
  }

  /**
   * Runs one analysis in the worker; a download on the way shows a cancellable notification. The worker keeps the
   * full attention tensor under `analysisId` (see {@link view}).
   */
  analyze(analysisId: string, text: string, signal: AbortSignal, otherModel?: ModelRequest): Promise<AnalysisResult> {
    return this.withModel(
      signal,
      (request, abort, onProgress) => this.worker.request('analyze', { analysisId, request, text }, { signal: abort, onProgress }),
      otherModel,
    );
  }

  /** The request for another model with the configured weights, hub and offline settings (Compare Models). */
  requestFor(other: OtherModel): ModelRequest {
    return readModelRequest(this.globalStorage, other);
  }

  /** Downloads (if needed) and loads the configured model without analysing anything: the side view's Download. */
  async prepare(signal: AbortSignal = new AbortController().signal): Promise<ModelInfo> {
    return this.withModel(signal, (request, abort, onProgress) =>
      this.worker.request('prepare', { request }, { signal: abort, onProgress }),
    );
  }

  /** Cancels the downloads in progress, if any (the notification's Cancel does the same). */
  cancelDownload(): void {
    for (const download of [...this.downloads.values()]) download.cancel();
  }

  private async withModel<TResult extends AnalysisResult | ModelInfo>(
    signal: AbortSignal,
    run: (request: ModelRequest, abort: AbortSignal, onProgress: (progress: DownloadProgress) => void) => Promise<TResult>,
    /** A model other than the configured one (Compare Models): it leaves the model status alone. */
    otherModel?: ModelRequest,
  ): Promise<TResult> {
    const request = otherModel ?? readModelRequest(this.globalStorage);
    const modelName = modelDisplayName(request.source);
    const key = modelRequestKey(request);
    // The status (status bar, side view) is the configured model's; another model's progress shows in its notification.
    const setStatus = otherModel ? () => undefined : (status: ModelStatus) => this.setStatus(status);
    if (this.loadedKey !== key) setStatus({ state: 'loading', modelName });
    // Requests for the same model share its download in the worker, and here its notification. Its Cancel stops the
    // download for all of them; a request cancelled otherwise (a new selection in live mode) only stops waiting.
    let download = this.downloads.get(key);
    if (!download || download.cancelled) {
      download = new DownloadNotification(modelName);
      download.onCancel(() => void this.worker.request('cancelLoad', { request }).catch(() => undefined));
      this.downloads.set(key, download);
    }
    download.users += 1;
    const abort = new AbortController();
    const forward = () => abort.abort();
    signal.addEventListener('abort', forward, { once: true });
    const stopForwarding = download.onCancel(forward);
    try {
      const result = await run(request, abort.signal, (progress) => {
        setStatus({ state: 'downloading', modelName, loadedBytes: progress.loadedBytes, totalBytes: progress.totalBytes });
        download.report(progress);
      });
      if (!otherModel) this.loadedKey = key;
      setStatus({ state: 'ready', modelName, info: 'model' in result ? result.model : result });
      return result;
    } catch (error) {
      if (isCancellation(error)) {
        if (download.cancelled) {
          this.log.info(`Download of ${modelName} cancelled.`);
          void this.refreshStatus();
        } else if (this.current.state !== 'ready') {
          void this.refreshStatus();
        }
      } else {
        if (!otherModel) this.loadedKey = undefined;
        setStatus({
          state: 'error',
          modelName,
          code: error instanceof AnalysisError ? error.code : 'internal',
          message: messageOf(error),
        });
      }
      throw error;
    } finally {
      signal.removeEventListener('abort', forward);
      stopForwarding();
      download.users -= 1;
      if (download.users === 0) {
        download.close();
        if (this.downloads.get(key) === download) this.downloads.delete(key);
      }
    }
  }

  /** Reads an analysis the worker still holds: maps, aggregates, statistics, neurons, interventions. */
  view<K extends AnalysisViewName>(
    method: K,
    params: ParamsOf<AnalysisViewRequests[K]>,
    signal?: AbortSignal,
    onProgress?: (progress: ProgressOf<AnalysisViewRequests[K]>) => void,
  ): Promise<ResultOf<AnalysisViewRequests[K]>> {
    return this.worker.request(method, params, { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) });
  }

  /**
   * Reads an attention document in the worker, which keeps its attention under `analysisId` as it keeps a model's
   * (no model is loaded for it, and the model's status is left alone).
   */
  importAttention(params: ParamsOf<WorkerRequests['importAttention']>, signal?: AbortSignal): Promise<ImportedAttention> {
    return this.worker.request('importAttention', params, signal ? { signal } : {});
  }

  /**
   * Writes an analysis's whole attention tensor to a file (the worker streams it); the bytes written. JSON is an
   * attention document, with what `document` says besides the tensor.
   */
  async writeTensor(params: ParamsOf<WorkerRequests['writeTensor']>, signal?: AbortSignal): Promise<number> {
    return (await this.worker.request('writeTensor', params, signal ? { signal } : {})).bytes;
  }

  /** Writes one head's map to a file (the worker streams it); the bytes written. */
  async writeHeadMap(params: ParamsOf<WorkerRequests['writeHeadMap']>, signal?: AbortSignal): Promise<number> {
    return (await this.worker.request('writeHeadMap', params, signal ? { signal } : {})).bytes;
  }

  /**
   * The token attribution last computed for an analysis (per token, the drop in the predicted label's probability),
   * if the worker still has it. Never starts a worker for this.
   */
  async lastAttribution(analysisId: string): Promise<Float32Array | undefined> {
    if (!this.worker.isRunning) return undefined;
    const known = await this.worker.request('lastAttribution', { analysisId }).catch(() => null);
    return known?.drops;
  }

  /** Unloads the model and deletes every downloaded and instrumented file. */
  async clearCache(): Promise<void> {
    await this.worker.request('release', {}).catch(() => undefined);
    this.loadedKey = undefined;
    await fs.promises.rm(modelCacheDir(this.globalStorage), { recursive: true, force: true });
    await fs.promises.rm(vscode.Uri.joinPath(this.globalStorage, 'instrumented').fsPath, { recursive: true, force: true });
    this.log.info('Model cache cleared.');
    await this.refreshStatus();
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private setStatus(status: ModelStatus): void {
    this.current = status;
    this.changed.fire(status);
  }
}

/**
 * A progress notification that opens on the first progress event ("12.3 of 255.6 MB") and offers Cancel; the store
 * sends one before it asks the hub anything, so the notification is there while the hub has not answered yet. Nothing
 * is shown when the model is already on disk.
 */
class DownloadNotification {
  private progress: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private finish: (() => void) | undefined;
  private pending: DownloadProgress | undefined;
  private reportedPercent = 0;
  private readonly cancelHandlers = new Set<() => void>();
  cancelled = false;
  /** Requests waiting for this download. */
  users = 0;

  constructor(private readonly modelName: string) {}

  /** Runs `handler` on Cancel; returns what stops that. */
  onCancel(handler: () => void): () => void {
    this.cancelHandlers.add(handler);
    return () => this.cancelHandlers.delete(handler);
  }

  /** Cancels from elsewhere (the side view), as the notification's button does. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    [...this.cancelHandlers].forEach((handler) => handler());
  }

  report(event: DownloadProgress): void {
    if (!this.finish) {
      this.open();
    }
    this.pending = event;
    this.flush();
  }

  close(): void {
    this.finish?.();
  }

  private open(): void {
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    void vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: vscode.l10n.t('Attention Explorer: downloading {0}', this.modelName),
        cancellable: true,
      },
      (progress, token) => {
        this.progress = progress;
        token.onCancellationRequested(() => this.cancel());
        this.flush();
        return done;
      },
    );
  }

  private flush(): void {
    const event = this.pending;
    if (!this.progress || !event) return;
    const percent = event.totalBytes > 0 ? Math.min(100, (event.loadedBytes / event.totalBytes) * 100) : 0;
    this.progress.report({
      // The store reports 0 of 0 bytes before its first request, so that Cancel is there while a hub is slow to answer.
      message:
        event.totalBytes > 0
          ? vscode.l10n.t('{0} of {1} MB', formatMegabytes(event.loadedBytes), formatMegabytes(event.totalBytes))
          : vscode.l10n.t('Asking the hub…'),
      increment: Math.max(0, percent - this.reportedPercent),
    });
    this.reportedPercent = Math.max(this.reportedPercent, percent);
  }
}
