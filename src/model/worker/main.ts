/**
 * The analysis worker: a `worker_threads` thread that owns the tokenizer (and, later, the ONNX session), so that
 * loading and running models never blocks the extension host's event loop, which every extension shares.
 */
import { parentPort } from 'node:worker_threads';
import { AnalysisError, toErrorData } from '../errors';
import { modelSourceKey, type ModelSource } from '../modelSource';
import { OffsetTokenizer } from '../tokenizer';
import type { HostToWorkerMessage, WorkerJob, WorkerJobResults, WorkerToHostMessage } from './protocol';

if (!parentPort) {
  throw new Error('worker.js must run as a worker thread');
}
const port = parentPort;

const send = (message: WorkerToHostMessage) => port.postMessage(message);
const cancelled = new Set<number>();

let loadedTokenizer: { key: string; tokenizer: Promise<OffsetTokenizer> } | undefined;

function tokenizerFor(source: ModelSource): Promise<OffsetTokenizer> {
  const key = modelSourceKey(source);
  if (loadedTokenizer?.key !== key) {
    const tokenizer = OffsetTokenizer.load(source);
    loadedTokenizer = { key, tokenizer };
    // A failed load is not cached: the next request tries again (the user may have fixed the setting).
    tokenizer.catch(() => {
      if (loadedTokenizer?.tokenizer === tokenizer) {
        loadedTokenizer = undefined;
      }
    });
  }
  return loadedTokenizer.tokenizer;
}

function throwIfCancelled(requestId: number): void {
  if (cancelled.has(requestId)) {
    throw new AnalysisError('cancelled', 'The analysis was cancelled.');
  }
}

async function run(requestId: number, job: WorkerJob): Promise<WorkerJobResults[WorkerJob['kind']]> {
  switch (job.kind) {
    case 'tokenize': {
      const loadStart = performance.now();
      const tokenizer = await tokenizerFor(job.source);
      const loadMs = performance.now() - loadStart;
      throwIfCancelled(requestId);
      const start = performance.now();
      const tokenized = tokenizer.tokenize(job.text);
      return { ...tokenized, tokenizeMs: performance.now() - start, loadMs };
    }
  }
}

port.on('message', (message: HostToWorkerMessage) => {
  if (message.type === 'cancel') {
    cancelled.add(message.requestId);
    return;
  }
  const { requestId, job } = message;
  run(requestId, job)
    .then((result) => {
      if (!cancelled.has(requestId)) {
        send({ type: 'result', requestId, result });
      }
    })
    .catch((error: unknown) => {
      if (!cancelled.has(requestId)) {
        send({ type: 'error', requestId, error: toErrorData(error) });
      }
    })
    .finally(() => cancelled.delete(requestId));
});
