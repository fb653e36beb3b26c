/**
 * The worker's queue of heavy jobs, on its own: one job at a time, identical requests joined, a job stopped only
 * when its last waiter has gone, a bounded queue. (analysisWorker.test.ts drives it through the real worker.)
 */
import { describe, expect, it } from 'vitest';
import { HeavyJobQueue } from '../../src/model/worker/heavyJobs';
import type { JobProgress } from '../../src/shared/analysisViews';
import { AnalysisError } from '../../src/shared/errors';

/** A job that runs until released (or aborted), recording what happened to it. */
function gate() {
  const events: string[] = [];
  let release: (value: { data: Float32Array }) => void = () => undefined;
  const work = (name: string) => (signal: AbortSignal, progress: (update: JobProgress) => void) =>
    new Promise<{ data: Float32Array }>((resolve, reject) => {
      events.push(`start ${name}`);
      progress({ done: 1, total: 2 });
      release = resolve;
      signal.addEventListener('abort', () => {
        events.push(`abort ${name}`);
        reject(new AnalysisError('cancelled', 'stopped'));
      });
    });
  return { events, work, release: (value = { data: new Float32Array([1, 2]) }) => release(value) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('HeavyJobQueue', () => {
  it('joins identical requests into one job; every waiter gets its own copy of the result and the progress', async () => {
    const queue = new HeavyJobQueue();
    const { events, work, release } = gate();
    const progress: JobProgress[][] = [[], [], []];
    const runs = progress.map((seen) => queue.run('same', new AbortController().signal, (update) => seen.push(update), work('a')));
    await tick();
    expect(events).toEqual(['start a']);
    expect(queue.started).toBe(1);
    release();
    const results = await Promise.all(runs);
    expect(results.map((result) => Array.from(result.data))).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    // Distinct buffers: transferring one waiter's result leaves the others intact.
    expect(new Set(results.map((result) => result.data.buffer)).size).toBe(3);
    for (const seen of progress) expect(seen).toContainEqual({ done: 1, total: 2 });
  });

  it('runs one job at a time, in order; those waiting hear their place', async () => {
    const queue = new HeavyJobQueue();
    const first = gate();
    const second = gate();
    const heard: JobProgress[] = [];
    const a = queue.run('a', new AbortController().signal, () => undefined, first.work('a'));
    const b = queue.run('b', new AbortController().signal, (update) => heard.push(update), second.work('b'));
    await tick();
    expect(queue.runningCount).toBe(1);
    expect(queue.queuedCount).toBe(1);
    expect(second.events).toEqual([]);
    expect(heard[0]).toEqual({ done: 0, total: 0, queued: 1 });
    first.release();
    await a;
    await tick();
    expect(second.events).toEqual(['start b']);
    second.release();
    await b;
    await tick();
    expect(queue.runningCount + queue.queuedCount).toBe(0);
  });

  it('a waiter that cancels detaches alone; the job stops when the last one has gone', async () => {
    const queue = new HeavyJobQueue();
    const { events, work } = gate();
    const one = new AbortController();
    const two = new AbortController();
    const first = queue.run('job', one.signal, () => undefined, work('x')).catch((error: unknown) => error);
    const second = queue.run('job', two.signal, () => undefined, work('x')).catch((error: unknown) => error);
    await tick();
    one.abort();
    expect(await first).toMatchObject({ code: 'cancelled' });
    await tick();
    expect(events).toEqual(['start x']);
    two.abort();
    expect(await second).toMatchObject({ code: 'cancelled' });
    await tick();
    expect(events).toEqual(['start x', 'abort x']);
    await tick();
    expect(queue.runningCount).toBe(0);
  });

  it('a queued job whose waiters all leave never starts; the queue is bounded', async () => {
    const queue = new HeavyJobQueue(2);
    const running = gate();
    const never = gate();
    void queue.run('running', new AbortController().signal, () => undefined, running.work('r'));
    const leaving = new AbortController();
    const queued = queue.run('queued', leaving.signal, () => undefined, never.work('q')).catch((error: unknown) => error);
    void queue.run('other', new AbortController().signal, () => undefined, gate().work('o')).catch(() => undefined);
    const refused = await queue
      .run('third', new AbortController().signal, () => undefined, gate().work('t'))
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'invalid-request', message: expect.stringContaining('already waiting') });
    leaving.abort();
    expect(await queued).toMatchObject({ code: 'cancelled' });
    expect(queue.queuedCount).toBe(1);
    running.release();
    await tick();
    await tick();
    expect(never.events).toEqual([]);
  });
});
