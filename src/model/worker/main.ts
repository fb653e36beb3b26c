/**
 * The analysis worker: a `worker_threads` thread that owns the tokenizer, the onnxruntime session and recent
 * attention tensors, so that downloading, loading, running models and working on their tensors never blocks the
 * extension host's event loop, which every extension shares. What goes back to the host is small (tokens,
 * probabilities, head means, the maps a view shows) and travels as transferred buffers.
 */
import { parentPort } from 'node:worker_threads';
import { Analyzer } from '../analyzer';
import { aggregateView, gridView, headSummaries, headView, layerView } from '../attentionViews';
import { AnalysisError, toErrorData } from '../errors';
import { modelRequestKey } from '../modelSource';
import type { DownloadProgress } from '../modelStore';
import { ablate, headImportance, maskOnly, maskWithout, occlusion, type HeadImportance } from '../explanations';
import { attributionView, compareView } from '../explainViews';
import { TensorCache, type CachedAttention } from '../tensorCache';
import { exportTensor } from '../tensorExport';
import type { HostToWorkerMessage, ViewJob, WorkerJob, WorkerJobResults, WorkerToHostMessage } from './protocol';

if (!parentPort) {
  throw new Error('worker.js must run as a worker thread');
}
const port = parentPort;
const analyzer = new Analyzer();
const tensors = new TensorCache();
const jobs = new Map<number, AbortController>();
/** Head-importance sweeps already run, by analysis (seconds of work at 512 tokens; a few hundred bytes each). */
const importances = new Map<string, HeadImportance>();
const idsOf = (entry: CachedAttention) => entry.tokens.map((token) => token.id);

const send = (message: WorkerToHostMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function cached(id: string): CachedAttention {
  const entry = tensors.get(id);
  if (!entry) {
    throw new AnalysisError('attention-unavailable', 'The attention of this analysis is no longer in memory; run Analyze Selection again.');
  }
  return entry;
}

function checkLayerHead(entry: CachedAttention, layer: number, head?: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= entry.layers.length || (head !== undefined && (!Number.isInteger(head) || head < 0 || head >= entry.heads))) {
    throw new AnalysisError('internal', `No head ${layer + 1}${head === undefined ? '' : `.${head + 1}`} in a ${entry.layers.length}×${entry.heads} model.`);
  }
}

async function view(job: ViewJob): Promise<WorkerJobResults[ViewJob['kind']]> {
  const entry = cached(job.analysisId);
  switch (job.kind) {
    case 'headMap':
      checkLayerHead(entry, job.layer, job.head);
      return headView(entry, job.layer, job.head, job.options);
    case 'layerMaps':
      checkLayerHead(entry, job.layer);
      return layerView(entry, job.layer, job.options);
    case 'grid':
      return gridView(entry, Math.max(4, Math.min(256, Math.floor(job.size))), job.options);
    case 'aggregate':
      checkLayerHead(entry, job.layer);
      try {
        return aggregateView(entry, job.aggregate, job.layer, job.options);
      } catch (error) {
        throw new AnalysisError('internal', error instanceof Error ? error.message : String(error));
      }
    case 'headStats':
      return { heads: headSummaries(entry) };
    case 'neuron': {
      checkLayerHead(entry, job.layer, job.head);
      if (!Number.isInteger(job.query) || job.query < 0 || job.query >= entry.n) throw new AnalysisError('internal', `No token ${job.query}.`);
      const neuron = await analyzer.neuron(entry.modelKey, entry.tokens.map((token) => token.id), job.layer, job.head, job.query);
      const size = entry.n * entry.n;
      const row = entry.layers[job.layer]!.slice(job.head * size + job.query * entry.n, job.head * size + (job.query + 1) * entry.n);
      return { ...neuron, probabilities: row, labels: entry.tokens.map((token) => token.text) };
    }
    case 'exportTensor':
      return { bytes: await exportTensor(entry, job.format, job.path) };
    case 'headImportance': {
      const known = importances.get(job.analysisId);
      if (known) return known;
      const { chain, toProbabilities } = await analyzer.explainer(entry.modelKey);
      const result = await headImportance(chain, idsOf(entry), toProbabilities);
      importances.set(job.analysisId, result);
      if (importances.size > 20) importances.delete(importances.keys().next().value!);
      return result;
    }
    case 'attribution': {
      const { model, chain, toProbabilities } = await analyzer.explainer(entry.modelKey);
      const maskId = model.tokenizer.maskTokenId;
      if (job.mode === 'mask' && maskId === undefined) throw new AnalysisError('invalid-model', 'This tokenizer has no [MASK] token; choose "remove" to occlude tokens.');
      return attributionView(entry, await occlusion(chain, entry.tokens, { mode: job.mode, unit: job.unit, maskId: maskId ?? 0 }, toProbabilities));
    }
    case 'ablate': {
      for (const { layer, head } of job.heads) checkLayerHead(entry, layer, head);
      const { chain, toProbabilities } = await analyzer.explainer(entry.modelKey);
      const { layers, heads } = chain.shape;
      const mask = job.keepOnly ? maskOnly(layers, heads, job.heads) : maskWithout(layers, heads, job.heads);
      return ablate(chain, idsOf(entry), mask, toProbabilities);
    }
    case 'compare': {
      checkLayerHead(entry, job.layer, job.head);
      const other = cached(job.otherId);
      if (other.layers.length !== entry.layers.length || other.heads !== entry.heads) {
        throw new AnalysisError('internal', 'The two analyses come from models of different shapes; analyse both with the same model.');
      }
      return compareView(entry, other, job.layer, job.head);
    }
  }
}

async function run(requestId: number, job: WorkerJob, signal: AbortSignal): Promise<WorkerJobResults[WorkerJob['kind']]> {
  const onProgress = (progress: DownloadProgress) => send({ type: 'progress', requestId, progress });
  switch (job.kind) {
    case 'analyze': {
      const { attentions, ...summary } = await analyzer.analyze(job.request, job.text, { signal, onProgress });
      tensors.put(job.analysisId, { layers: attentions, heads: summary.model.heads, n: summary.tokens.length, tokens: summary.tokens, modelKey: modelRequestKey(job.request) });
      return summary;
    }
    case 'prepare':
      return (await analyzer.load(job.request, { signal, onProgress })).info;
    case 'diagnostics':
      // This job itself is one of the running ones.
      return { sessionsLoaded: analyzer.sessionsLoaded, tensorsCached: tensors.size, jobsRunning: jobs.size - 1 };
    case 'release':
      tensors.clear();
      importances.clear();
      await analyzer.dispose();
      return null;
    default:
      return view(job);
  }
}

/** Every typed array in a result goes back as a transferred buffer. */
function transferables(result: unknown): ArrayBuffer[] {
  if (!result || typeof result !== 'object') return [];
  const buffers = new Set<ArrayBuffer>();
  for (const value of Object.values(result)) {
    if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) buffers.add(value.buffer);
  }
  return [...buffers];
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
