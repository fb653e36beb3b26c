/**
 * The host side of the analysis worker: starts it on first use, asks it through the one RPC channel
 * (`src/shared/rpc.ts`), and starts a fresh worker after a crash. Free of `vscode` imports so that the CLI and the
 * unit tests use the same code.
 */
import type { Worker } from 'node:worker_threads';
import { AnalysisError } from '../shared/errors';
import { RpcChannel, type ParamsOf, type RequestOptions, type ResultOf, type ProgressOf } from '../shared/rpc';
import { disableOnnxRuntimeTelemetry } from './telemetry';
import { WORKER_HOST, type WorkerHostPeer, type WorkerPeer, type WorkerRequests } from './worker/protocol';

export interface WorkerLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type WorkerMethod = Extract<keyof WorkerRequests, string>;

/** How long a worker asked to stop may take to return from its current onnxruntime call before it is terminated. */
const SHUTDOWN_GRACE_MS = 3000;

export class AnalysisWorkerClient {
  private worker: Worker | undefined;
  private channel: RpcChannel<WorkerPeer, WorkerHostPeer> | undefined;
  private disposed = false;
  /** Worker threads started so far (one, unless one crashed). */
  starts = 0;

  /** Sent to every worker started (see memoryBudget.ts); undefined: the worker's default. */
  private tensorBudgetBytes: number | undefined;

  constructor(
    private readonly workerPath: string,
    private readonly log: WorkerLog,
  ) {}

  /** Sets the bytes of attention the worker may hold, now (when it runs) and for every worker started later. */
  setTensorBudget(bytes: number): void {
    this.tensorBudgetBytes = bytes;
    if (this.channel) void this.channel.request('configure', { tensorBudgetBytes: bytes }).catch(() => undefined);
  }

  /**
   * Asks the worker (starting it if needed). Aborting `options.signal` rejects at once with a `cancelled`
   * {@link AnalysisError} and cancels the job in the worker.
   */
  request<K extends WorkerMethod>(
    method: K,
    params: ParamsOf<WorkerRequests[K]>,
    options: RequestOptions<ProgressOf<WorkerRequests[K]>> = {},
  ): Promise<ResultOf<WorkerRequests[K]>> {
    if (this.disposed) return Promise.reject(new AnalysisError('cancelled', 'Attention Explorer is shutting down.'));
    const channel = this.ensureWorker();
    const answer = channel.request(method, params, options);
    this.updateRef();
    return answer.finally(() => this.updateRef());
  }

  /** Requests waiting for the worker's answer. */
  get pendingCount(): number {
    return this.channel?.pendingCount ?? 0;
  }

  /** Whether a worker thread is running (for tests and the status view). */
  get isRunning(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Cancels everything pending and ends the thread: it is asked to stop (it does once its current onnxruntime call
   * has returned) and terminated only if it has not within {@link SHUTDOWN_GRACE_MS}.
   */
  dispose(): Promise<void> {
    this.disposed = true;
    const { worker, channel } = this;
    this.worker = undefined;
    this.channel = undefined;
    if (!worker || !channel) return Promise.resolve();
    channel.notify('shutdown', {});
    channel.close(new AnalysisError('cancelled', 'Attention Explorer is shutting down.'));
    // Whoever awaits the end must see it: an unreferenced thread would let the process exit first.
    worker.ref();
    const asked = performance.now();
    return new Promise<void>((resolve) => {
      const fallback = setTimeout(() => void worker.terminate(), SHUTDOWN_GRACE_MS);
      fallback.unref();
      worker.once('exit', () => {
        clearTimeout(fallback);
        if (performance.now() - asked > SHUTDOWN_GRACE_MS / 2) this.log.warn('The analysis worker took long to stop.');
        resolve();
      });
    });
  }

  private ensureWorker(): RpcChannel<WorkerPeer, WorkerHostPeer> {
    if (this.worker && this.channel) return this.channel;
    // Loaded on the first analysis, not at activation: worker_threads pulls in Node's streams.
    // eslint-disable-next-line @typescript-eslint/no-require-imports, @typescript-eslint/consistent-type-imports -- a lazy require is the point
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    disableOnnxRuntimeTelemetry();
    const worker = new WorkerThread(this.workerPath, { workerData: { tensorBudgetBytes: this.tensorBudgetBytes } });
    this.starts += 1;
    const channel = new RpcChannel<WorkerPeer, WorkerHostPeer>({
      post: (message, transfer) => worker.postMessage(message, transfer),
      local: WORKER_HOST,
      handlers: {},
      events: { log: ({ level, message }) => this.log[level](message) },
      onDropped: (reason) => this.log.warn(`Dropped a malformed message from the analysis worker: ${reason}`),
    });
    worker.on('message', (message: unknown) => channel.receive(message));
    worker.on('error', (error) => {
      this.log.error(`Analysis worker crashed: ${error.message}`);
      this.onWorkerGone(worker, `The analysis worker crashed (${error.message}). It will restart on the next request.`);
    });
    worker.on('exit', (code) => {
      if (!this.disposed)
        this.onWorkerGone(worker, `The analysis worker stopped (exit code ${code}). It will restart on the next request.`);
    });
    this.worker = worker;
    this.channel = channel;
    return channel;
  }

  /** An idle worker must not keep a CLI process alive; a busy one must, or its answer would never arrive. */
  private updateRef(): void {
    if (this.pendingCount > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  private onWorkerGone(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    const channel = this.channel;
    this.worker = undefined;
    this.channel = undefined;
    channel?.close(new AnalysisError('worker-crashed', message));
  }
}
