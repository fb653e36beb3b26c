/**
 * The analysis worker: a `worker_threads` thread that owns the tokenizer and the onnxruntime session, so that
 * downloading, loading and running models never blocks the extension host's event loop, which every extension
 * shares. Attention tensors go back to the host as transferred buffers, not copies.
 */
import { parentPort } from 'node:worker_threads';
import { Analyzer } from '../analyzer';
import { toErrorData } from '../errors';
import type { DownloadProgress } from '../modelStore';
import type { HostToWorkerMessage, WorkerJob, WorkerJobResults, WorkerToHostMessage } from './protocol';

if (!parentPort) {
  throw new Error('worker.js must run as a worker thread');
}
const port = parentPort;
const analyzer = new Analyzer();
const jobs = new Map<number, AbortController>();

const send = (message: WorkerToHostMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function run(requestId: number, job: WorkerJob, signal: AbortSignal): Promise<WorkerJobResults[WorkerJob['kind']]> {
  const onProgress = (progress: DownloadProgress) => send({ type: 'progress', requestId, progress });
  switch (job.kind) {
    case 'analyze':
      return analyzer.analyze(job.request, job.text, { signal, onProgress });
    case 'prepare':
      return (await analyzer.load(job.request, { signal, onProgress })).info;
    case 'release':
      await analyzer.dispose();
      return null;
  }
}

port.on('message', (message: HostToWorkerMessage) => {
  if (message.type === 'cancel') {
    jobs.get(message.requestId)?.abort();
    return;
  }
  const { requestId, job } = message;
  const abort = new AbortController();
  jobs.set(requestId, abort);
  run(requestId, job, abort.signal)
    .then((result) => {
      if (abort.signal.aborted) return;
      const transfer = result && typeof result === 'object' && 'attentions' in result ? [result.attentions.buffer as ArrayBuffer, result.headMeans.buffer as ArrayBuffer] : [];
      send({ type: 'result', requestId, result }, transfer);
    })
    .catch((error: unknown) => {
      if (!abort.signal.aborted) send({ type: 'error', requestId, error: toErrorData(error) });
    })
    .finally(() => jobs.delete(requestId));
});
