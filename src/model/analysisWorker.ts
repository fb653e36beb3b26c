/**
 * The host side of the analysis worker: starts it on first use, matches answers to requests, cancels, and starts a
 * fresh worker after a crash. Free of `vscode` imports so that the CLI and the unit tests use the same code.
 */
import type { Worker } from 'node:worker_threads';
import { AnalysisError } from './errors';
import { disableOnnxRuntimeTelemetry } from './telemetry';
import type { DownloadProgress } from './modelStore';
import type { HostToWorkerMessage, WorkerJob, WorkerJobResults, WorkerToHostMessage } from './worker/protocol';

export interface WorkerLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

interface PendingJob {
  resolve(result: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: DownloadProgress) => void;
}

export class AnalysisWorkerClient {
  private worker: Worker | undefined;
  private nextRequestId = 1;
  private readonly pending = new Map<number, PendingJob>();
  private disposed = false;
  /** Worker threads started so far (one, unless one crashed). */
  starts = 0;

  constructor(
    private readonly workerPath: string,
    private readonly log: WorkerLog,
  ) {}

  /**
   * Runs a job in the worker. Aborting `signal` rejects at once with a `cancelled` {@link AnalysisError} and tells
   * the worker to drop the job's result.
   */
  run<TJob extends WorkerJob>(
    job: TJob,
    signal?: AbortSignal,
    onProgress?: (progress: DownloadProgress) => void,
  ): Promise<WorkerJobResults[TJob['kind']]> {
    if (this.disposed) {
      return Promise.reject(new AnalysisError('cancelled', 'Attention Explorer is shutting down.'));
    }
    if (signal?.aborted) {
      return Promise.reject(new AnalysisError('cancelled', 'The analysis was cancelled.'));
    }
    const worker = this.ensureWorker();
    const requestId = this.nextRequestId++;
    return new Promise<WorkerJobResults[TJob['kind']]>((resolve, reject) => {
      const onAbort = () => {
        if (this.pending.delete(requestId)) {
          this.post(worker, { type: 'cancel', requestId });
          this.updateRef();
          reject(new AnalysisError('cancelled', 'The analysis was cancelled.'));
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(requestId, {
        ...(onProgress ? { onProgress } : {}),
        resolve: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result as WorkerJobResults[TJob['kind']]);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.post(worker, { type: 'run', requestId, job });
      this.updateRef();
    });
  }

  /** Requests waiting for the worker's answer (each holds its abort listener until answered). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Whether a worker thread is running (for tests and the status view). */
  get isRunning(): boolean {
    return this.worker !== undefined;
  }

  dispose(): Promise<void> {
    this.disposed = true;
    this.failAll(new AnalysisError('cancelled', 'Attention Explorer is shutting down.'));
    const worker = this.worker;
    this.worker = undefined;
    return worker ? worker.terminate().then(() => undefined) : Promise.resolve();
  }

  private post(worker: Worker, message: HostToWorkerMessage): void {
    worker.postMessage(message);
  }

  private ensureWorker(): Worker {
    if (this.worker) {
      return this.worker;
    }
    // Loaded on the first analysis, not at activation: worker_threads pulls in Node's streams.
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    disableOnnxRuntimeTelemetry();
    const worker = new WorkerThread(this.workerPath);
    this.starts += 1;
    worker.on('message', (message: WorkerToHostMessage) => this.onMessage(message));
    worker.on('error', (error) => {
      this.log.error(`Analysis worker crashed: ${error.message}`);
      this.onWorkerGone(worker, `The analysis worker crashed (${error.message}). It will restart on the next request.`);
    });
    worker.on('exit', (code) => {
      if (!this.disposed) {
        this.onWorkerGone(worker, `The analysis worker stopped (exit code ${code}). It will restart on the next request.`);
      }
    });
    this.worker = worker;
    return worker;
  }

  /** An idle worker must not keep a CLI process alive; a busy one must, or its answer would never arrive. */
  private updateRef(): void {
    if (this.pending.size > 0) {
      this.worker?.ref();
    } else {
      this.worker?.unref();
    }
  }

  private onWorkerGone(worker: Worker, message: string): void {
    if (this.worker === worker) {
      this.worker = undefined;
      this.failAll(new AnalysisError('worker-crashed', message));
    }
  }

  private failAll(error: AnalysisError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const job of pending) {
      job.reject(error);
    }
  }

  private onMessage(message: WorkerToHostMessage): void {
    if (message.type === 'log') {
      this.log[message.level](message.message);
      return;
    }
    const job = this.pending.get(message.requestId);
    if (!job) {
      return; // cancelled meanwhile
    }
    if (message.type === 'progress') {
      job.onProgress?.(message.progress);
      return;
    }
    this.pending.delete(message.requestId);
    this.updateRef();
    if (message.type === 'result') {
      job.resolve(message.result);
    } else {
      job.reject(new AnalysisError(message.error.code, message.error.message));
    }
  }
}
