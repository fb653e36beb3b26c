/**
 * The worker's queue of heavy jobs (head sweeps, occlusion, ablation): each runs many forward passes and can hold
 * gigabytes at 512 tokens, so they run one at a time, an identical request joins the job already queued or running
 * instead of starting another, and a job stops as soon as nobody waits for it any more (the panel closed, a new
 * analysis, a timeout, the user's Cancel: each only detaches its own request). Joining and stopping are
 * {@link SharedTask}'s, as for model loads; this adds the turns.
 */
import { AnalysisError, throwIfCancelled } from '../../shared/errors';
import type { JobProgress } from '../../shared/analysisViews';
import { SharedTask } from '../sharedTask';

/** Jobs waiting behind the running one; a burst beyond this is refused rather than queued for minutes. */
export const MAX_QUEUED_JOBS = 16;

type Work<T> = (signal: AbortSignal, progress: (progress: JobProgress) => void) => Promise<T>;

interface Job {
  readonly key: string;
  readonly task: SharedTask<unknown, JobProgress>;
  /** Starts the work: the job's turn has come. */
  readonly begin: () => void;
  /** Reports to every request waiting for this job. */
  readonly report: (progress: JobProgress) => void;
  /** Results handed out so far: every request after the first gets a copy (typed arrays are transferred away). */
  delivered: number;
}

export class HeavyJobQueue {
  private readonly jobs = new Map<string, Job>();
  private waiting: Job[] = [];
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
    return this.waiting.filter((job) => !job.task.abandoned).length;
  }

  /**
   * Runs `work` under `key`, or joins the job with that key. Resolves with the job's result; rejects as cancelled
   * when `signal` aborts, which stops the job if this was its last request.
   */
  run<T>(key: string, signal: AbortSignal, onProgress: (progress: JobProgress) => void, work: Work<T>): Promise<T> {
    const known = this.jobs.get(key);
    const job = known && !known.task.abandoned ? known : this.enqueue(key, work);
    if (!job) {
      return Promise.reject(
        new AnalysisError(
          'invalid-request',
          `${this.queuedCount} explanations are already waiting for the one that runs; wait for them, or cancel them.`,
        ),
      );
    }
    return job.task.join({ signal, onProgress }).then((result) => (job.delivered++ === 0 ? result : structuredClone(result)) as T);
  }

  private enqueue(key: string, work: Work<unknown>): Job | undefined {
    if (this.queuedCount >= this.maxQueued) return undefined;
    let begin = () => {};
    let report: (progress: JobProgress) => void = () => {};
    const turn = new Promise<void>((resolve) => (begin = resolve));
    const task = new SharedTask<unknown, JobProgress>(async ({ signal, onProgress }) => {
      report = onProgress;
      await turn;
      throwIfCancelled(signal);
      // Those queued behind hear that something is moving (their requests' idle timeouts restart with it).
      return work(signal, (progress) => {
        onProgress(progress);
        this.reportPlaces();
      });
    }, 0);
    const job: Job = { key, task, begin, report: (progress) => report(progress), delivered: 0 };
    this.jobs.set(key, job);
    this.waiting.push(job);
    const finished = () => {
      if (this.jobs.get(key) === job) this.jobs.delete(key);
      if (this.running === job) this.running = undefined;
      this.pump();
    };
    task.result.then(finished, finished);
    this.reportPlaces();
    this.pump();
    return job;
  }

  private reportPlaces(): void {
    this.waiting.filter((job) => !job.task.abandoned).forEach((job, index) => job.report({ done: 0, total: 0, queued: index + 1 }));
  }

  private pump(): void {
    if (this.running) return;
    // Jobs abandoned while queued get their turn only to end at once (their task must settle).
    for (const abandoned of this.waiting.filter((job) => job.task.abandoned)) abandoned.begin();
    this.waiting = this.waiting.filter((job) => !job.task.abandoned);
    const next = this.waiting.shift();
    if (!next) return;
    this.running = next;
    this.startedCount += 1;
    next.begin();
  }
}
