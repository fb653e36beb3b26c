/**
 * The worker's queue of heavy jobs (head sweeps, occlusion, ablation): each runs many forward passes and can hold
 * gigabytes at 512 tokens, so they run one at a time, an identical request joins the job already queued or running
 * instead of starting another, and a job stops as soon as nobody waits for it any more (the panel closed, a new
 * analysis, a timeout, the user's Cancel: each only detaches its own waiter).
 */
import { AnalysisError } from '../../shared/errors';
import type { JobProgress } from '../../shared/analysisViews';

/** Jobs waiting behind the running one; a burst beyond this is refused rather than queued for minutes. */
export const MAX_QUEUED_JOBS = 16;

type Work<T> = (signal: AbortSignal, progress: (progress: JobProgress) => void) => Promise<T>;

interface Waiter {
  resolve(result: unknown): void;
  reject(error: Error): void;
  onProgress(progress: JobProgress): void;
}

interface Job {
  readonly key: string;
  readonly work: Work<unknown>;
  readonly controller: AbortController;
  readonly waiters: Set<Waiter>;
  lastProgress: JobProgress | undefined;
}

export class HeavyJobQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting: Job[] = [];
  private running: Job | undefined;
  private startedCount = 0;

  constructor(private readonly maxQueued = MAX_QUEUED_JOBS) {}

  /** Jobs started so far (a burst of identical requests starts one). */
  get started(): number {
    return this.startedCount;
  }

  /** 1 while a job runs, else 0: never more. */
  get runningCount(): number {
    return this.running ? 1 : 0;
  }

  get queuedCount(): number {
    return this.waiting.length;
  }

  /**
   * Runs `work` under `key`, or joins the job with that key. Resolves with the job's result (a copy of its own for
   * every waiter but the first: results carry typed arrays that are transferred away); rejects as cancelled when
   * `signal` aborts, which stops the job if this was its last waiter.
   */
  run<T>(key: string, signal: AbortSignal, onProgress: (progress: JobProgress) => void, work: Work<T>): Promise<T> {
    if (signal.aborted) return Promise.reject(cancelled());
    let job = this.jobs.get(key);
    if (!job) {
      if (this.waiting.length >= this.maxQueued) {
        return Promise.reject(
          new AnalysisError(
            'invalid-request',
            `${this.waiting.length} explanations are already waiting for the one that runs; wait for them, or cancel them.`,
          ),
        );
      }
      job = { key, work, controller: new AbortController(), waiters: new Set(), lastProgress: undefined };
      this.jobs.set(key, job);
      this.waiting.push(job);
    }
    const joined = job;
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (result) => {
          signal.removeEventListener('abort', detach);
          resolve(result as T);
        },
        reject: (error) => {
          signal.removeEventListener('abort', detach);
          reject(error);
        },
        onProgress,
      };
      const detach = () => {
        if (!joined.waiters.delete(waiter)) return;
        reject(cancelled());
        if (joined.waiters.size === 0) this.abandon(joined);
      };
      joined.waiters.add(waiter);
      signal.addEventListener('abort', detach, { once: true });
      if (joined.lastProgress) onProgress(joined.lastProgress);
      else if (joined !== this.running) onProgress(this.queuedProgress(joined));
      this.pump();
    });
  }

  private queuedProgress(job: Job): JobProgress {
    return { done: 0, total: 0, queued: this.waiting.indexOf(job) + 1 };
  }

  private abandon(job: Job): void {
    const index = this.waiting.indexOf(job);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      this.jobs.delete(job.key);
    } else {
      // Running: it stops at its next check; the slot frees when it has actually stopped.
      job.controller.abort();
    }
  }

  private pump(): void {
    if (this.running) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.running = job;
    this.startedCount += 1;
    const progress = (update: JobProgress) => {
      job.lastProgress = update;
      for (const waiter of job.waiters) waiter.onProgress(update);
      // Those queued behind hear that something is moving (their requests' idle timeouts restart with it).
      for (const queued of this.waiting) for (const waiter of queued.waiters) waiter.onProgress(this.queuedProgress(queued));
    };
    void Promise.resolve()
      .then(() => job.work(job.controller.signal, progress))
      .then(
        (result) => {
          let first = true;
          for (const waiter of job.waiters) {
            waiter.resolve(first ? result : structuredClone(result));
            first = false;
          }
        },
        (error: unknown) => {
          const failure = job.controller.signal.aborted ? cancelled() : error instanceof Error ? error : new Error(String(error));
          for (const waiter of job.waiters) waiter.reject(failure);
        },
      )
      .finally(() => {
        job.waiters.clear();
        this.jobs.delete(job.key);
        this.running = undefined;
        this.pump();
      });
  }
}

function cancelled(): AnalysisError {
  return new AnalysisError('cancelled', 'The explanation was cancelled.');
}
