/**
 * The analysis worker: a `worker_threads` thread that owns the tokenizer, the onnxruntime session and recent
 * attention tensors, so that downloading, loading, running models and working on their tensors never blocks the
 * extension host's event loop, which every extension shares. What goes back to the host is small (tokens,
 * probabilities, head means as a transferred buffer); heads are sent one at a time on request.
 */
import { parentPort } from 'node:worker_threads';
import { Analyzer } from '../analyzer';
import { AnalysisError, toErrorData } from '../errors';
import type { DownloadProgress } from '../modelStore';
import { TensorCache } from '../tensorCache';
import type { HostToWorkerMessage, WorkerJob, WorkerJobResults, WorkerToHostMessage } from './protocol';

if (!parentPort) {
  throw new Error('worker.js must run as a worker thread');
}
const port = parentPort;
const analyzer = new Analyzer();
const tensors = new TensorCache();
const jobs = new Map<number, AbortController>();

const send = (message: WorkerToHostMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function run(requestId: number, job: WorkerJob, signal: AbortSignal): Promise<WorkerJobResults[WorkerJob['kind']]> {
  const onProgress = (progress: DownloadProgress) => send({ type: 'progress', requestId, progress });
  switch (job.kind) {
    case 'analyze': {
      const { attentions, ...summary } = await analyzer.analyze(job.request, job.text, { signal, onProgress });
      tensors.put(job.analysisId, { layers: attentions, heads: summary.model.heads, n: summary.tokens.length });
      return summary;
    }
    case 'headMap': {
      const map = tensors.headMap(job.analysisId, job.layer, job.head);
      if (!map) {
        throw new AnalysisError('attention-unavailable', 'The attention of this analysis is no longer in memory; run Analyze Selection again.');
      }
      return { map };
    }
    case 'prepare':
      return (await analyzer.load(job.request, { signal, onProgress })).info;
    case 'release':
      tensors.clear();
      await analyzer.dispose();
      return null;
  }
}

function transferables(result: WorkerJobResults[WorkerJob['kind']]): ArrayBuffer[] {
  if (result && typeof result === 'object') {
    if ('headMeans' in result) return [result.headMeans.buffer as ArrayBuffer];
    if ('map' in result) return [result.map.buffer as ArrayBuffer];
  }
  return [];
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
      if (!abort.signal.aborted) send({ type: 'result', requestId, result }, transferables(result));
    })
    .catch((error: unknown) => {
      if (!abort.signal.aborted) send({ type: 'error', requestId, error: toErrorData(error) });
    })
    .finally(() => jobs.delete(requestId));
});
