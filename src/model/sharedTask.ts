/**
 * Work that several requests wait for at once (a model's download and load): it runs once, with its own abort signal,
 * and each request joins it with its own. A request's abort detaches only that request; the work itself is aborted
 * when every request has gone (after a grace, in case the next one is about to join) or by {@link SharedTask.cancel}.
 */
import { AnalysisError } from '../shared/errors';

export interface JoinOptions<TProgress> {
  signal?: AbortSignal;
  onProgress?: (progress: TProgress) => void;
}

interface Waiter<TProgress> {
  onProgress?: (progress: TProgress) => void;
}

export class SharedTask<TResult, TProgress> {
  private readonly controller = new AbortController();
  private readonly waiters = new Set<Waiter<TProgress>>();
  private lastProgress: TProgress | undefined;
  private grace: ReturnType<typeof setTimeout> | undefined;
  private settled = false;
  /** The work's own outcome, whoever waits for it. */
  readonly result: Promise<TResult>;

  /**
   * @param graceMs how long the work goes on once its last request has gone: live mode cancels the analysis in flight
   *   just before it asks for the next, and a download must not restart from zero for that. 0 stops it at once.
   */
  constructor(
    start: (options: { signal: AbortSignal; onProgress: (progress: TProgress) => void }) => Promise<TResult>,
    private readonly graceMs: number,
  ) {
    this.result = start({
      signal: this.controller.signal,
      onProgress: (progress) => {
        this.lastProgress = progress;
        for (const waiter of this.waiters) waiter.onProgress?.(progress);
      },
    });
    const done = () => {
      this.settled = true;
      clearTimeout(this.grace);
    };
    this.result.then(done, done);
  }

  /** Waits for the work; rejects as cancelled when `options.signal` aborts (the work goes on for the others). */
  join(options: JoinOptions<TProgress> = {}): Promise<TResult> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AnalysisError('cancelled', 'The request was cancelled.'));
    clearTimeout(this.grace);
    const waiter: Waiter<TProgress> = { ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
    this.waiters.add(waiter);
    // A late joiner hears where the work is at once (its notification opens with the bytes so far).
    if (this.lastProgress !== undefined && !this.settled) options.onProgress?.(this.lastProgress);
    return new Promise<TResult>((resolve, reject) => {
      const leave = () => {
        this.waiters.delete(waiter);
        reject(new AnalysisError('cancelled', 'The request was cancelled.'));
        if (this.waiters.size === 0 && !this.settled) {
          if (this.graceMs <= 0) {
            this.controller.abort();
            return;
          }
          this.grace = setTimeout(() => {
            if (this.waiters.size === 0) this.controller.abort();
          }, this.graceMs);
          this.grace.unref?.();
        }
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.result.then(resolve, reject).finally(() => {
        signal?.removeEventListener('abort', leave);
        this.waiters.delete(waiter);
      });
    });
  }

  /** Whether the work was aborted (it may not have stopped yet): a new request must start it afresh, not join it. */
  get abandoned(): boolean {
    return this.controller.signal.aborted;
  }

  /** Aborts the work for everyone (the user's Cancel). */
  cancel(): void {
    this.controller.abort();
  }
}
