/**
 * The analysis worker: a `worker_threads` thread that owns the tokenizer, the onnxruntime session and recent
 * attention tensors, so that downloading, loading, running models and working on their tensors never blocks the
 * extension host's event loop, which every extension shares. What goes back to the host is small (tokens,
 * probabilities, head means, the maps a view shows) and travels as transferred buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BoundedCache } from '../../shared/boundedCache';
import { AnalysisError, messageOf } from '../../shared/errors';
import { gridMessage, type Attribution, type HeadImportance, type JobProgress } from '../../shared/analysisViews';
import { RpcChannel, type RequestHandlers } from '../../shared/rpc';
import { Analyzer } from '../analyzer';
import { EXTERNAL_MODEL_KEY } from '../../shared/attentionFile';
import { heldBytes, pickAttention, readAttentionSource } from '../attentionImport';
import { attributionOf, compareAnalyses } from '../explainViews';
import { analysisAggregate, analysisGrid, analysisHeadStatistics, storedAnalysis, type WorkerAnalysis } from '../heldAnalysis';
import { labelledMap, layerMapsFrom, meanOverLayers } from '../../shared/attentionViews';
import { releaseScoreSessions } from '../onDemandMaps';
import { DEFAULT_TENSOR_BUDGET_BYTES, formatBytes } from '../memoryBudget';
import { ablate, headImportance, maskOnly, maskWithout, occlusion, type JobControl } from '../explanations';
import { modelRequestKey } from '../modelSource';
import type { Generation } from '../generation';
import { exportHeadMap, exportTensor } from '../tensorExport';
import { HeavyJobQueue } from './heavyJobs';
import { WORKER, type WorkerHostPeer, type WorkerPeer, type WorkerRequests } from './protocol';

if (!parentPort) {
  throw new Error('worker.js must run as a worker thread');
}
const port = parentPort;

/**
 * The bytes of attention the worker may hold: analyses kept for views (least recently used first out) and the one
 * being made, which is refused beforehand when it alone would not fit (memoryBudget.ts). The host sets it from the
 * `attentionExplorer.memory.tensorBudgetMB` setting, at start and on change.
 */
let tensorBudgetBytes = budgetOf((workerData as { tensorBudgetBytes?: unknown } | null)?.tensorBudgetBytes);

function budgetOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : DEFAULT_TENSOR_BUDGET_BYTES;
}

const analyzer = new Analyzer();
const tensors = new BoundedCache<string, WorkerAnalysis>({
  // The host keeps 20 analyses; a few more here serve a panel still showing an older one.
  maxEntries: 32,
  maxBytes: () => tensorBudgetBytes,
  sizeOf: (entry) => entry.maps.heldBytes + entry.headMeans.byteLength,
});
/** Head-importance sweeps and attributions already run, by analysis (seconds of work at 512 tokens; small results). */
const importances = new BoundedCache<string, HeadImportance>({ maxEntries: 20 });
const attributions = new BoundedCache<string, Attribution>({ maxEntries: 20 });
/** Generations under way, by analysis: each holds a key/value cache (a few MB at full size) and its sampler. */
const generations = new BoundedCache<string, Generation>({ maxEntries: 4 });
const idsOf = (entry: WorkerAnalysis) => entry.tokens.map((token) => token.id);
/** Sweeps, occlusions and ablations: one at a time, identical requests joined, stopped when nobody waits. */
const heavyJobs = new HeavyJobQueue();

function control(signal: AbortSignal, report: (progress: JobProgress) => void): JobControl {
  return { signal, onProgress: (done, total, occluded) => report({ done, total, ...(occluded?.length ? { occluded } : {}) }) };
}

function held(id: string): WorkerAnalysis {
  const entry = tensors.use(id);
  if (!entry) {
    throw new AnalysisError('attention-unavailable', 'The attention of this analysis is no longer in memory; run Analyze Selection again.');
  }
  return entry;
}

/** The attention of an analysis that a model made, for the requests that run that model again. */
function modelHeld(id: string): WorkerAnalysis {
  const entry = held(id);
  if (entry.modelKey === EXTERNAL_MODEL_KEY) {
    throw new AnalysisError('invalid-request', 'These maps came from a file or a notebook: there is no model here to run.');
  }
  return entry;
}

function checkLayerHead(entry: WorkerAnalysis, layer: number, head?: number): void {
  if (
    !Number.isInteger(layer) ||
    layer < 0 ||
    layer >= entry.maps.layerCount ||
    (head !== undefined && (!Number.isInteger(head) || head < 0 || head >= entry.heads))
  ) {
    throw new AnalysisError(
      'invalid-request',
      `No head ${layer + 1}${head === undefined ? '' : `.${head + 1}`} in a ${entry.maps.layerCount}×${entry.heads} model.`,
    );
  }
}

const handlers: RequestHandlers<WorkerRequests> = {
  async analyze({ analysisId, request, text }, { signal, progress }) {
    const { result, attention, headMeans, output } = await analyzer.analyze(request, text, {
      signal,
      onProgress: progress,
      tensorBudgetBytes,
    });
    tensors.set(analysisId, {
      maps: attention,
      // The result sent to the host carries a copy when they are small: this one stays for rollout and attribution.
      headMeans,
      heads: result.model.heads,
      n: result.tokens.length,
      tokens: result.tokens,
      modelKey: modelRequestKey(request),
      ...(result.model.causal ? { nextLogits: output.slice() } : {}),
    });
    generations.delete(analysisId);
    return result;
  },
  async importAttention({ analysisId, attention, source, documentName }) {
    const document = await readAttentionSource(source);
    const { analysis, held: imported } = pickAttention(document, attention, analysisId, documentName);
    const bytes = heldBytes(imported);
    if (bytes > tensorBudgetBytes) {
      throw new AnalysisError(
        'over-budget',
        `Attention "${attention}" holds ${(bytes / 2 ** 20).toFixed(1)} MiB of weights; the analysis worker's budget is ${formatBytes(tensorBudgetBytes)} (setting attentionExplorer.memory.tensorBudgetMB).`,
      );
    }
    const entry = storedAnalysis(imported);
    tensors.set(analysisId, entry);
    return { analysis, headMeans: entry.headMeans.slice(), view: document.view };
  },
  configure({ tensorBudgetBytes: bytes }) {
    tensorBudgetBytes = budgetOf(bytes);
    return null;
  },
  async prepare({ request }, { signal, progress }) {
    return (await analyzer.load(request, { signal, onProgress: progress })).info;
  },
  cancelLoad({ request }) {
    analyzer.cancelLoad(request);
    return null;
  },
  async headMap({ analysisId, layer, head, options }) {
    const entry = held(analysisId);
    checkLayerHead(entry, layer, head);
    return labelledMap(entry.tokens, entry.n, await entry.maps.head(layer, head), options, entry.maps.onDemand);
  },
  async layerMaps({ analysisId, layer, options }) {
    const entry = held(analysisId);
    checkLayerHead(entry, layer);
    return layerMapsFrom(entry.tokens, entry.heads, entry.n, await entry.maps.layer(layer), options);
  },
  async grid({ analysisId, size, options, layers }) {
    const entry = held(analysisId);
    if (layers && layers.first + layers.count > entry.maps.layerCount) {
      throw new AnalysisError(
        'invalid-request',
        `No layers ${layers.first + 1}–${layers.first + layers.count} in a ${entry.maps.layerCount}-layer model.`,
      );
    }
    return gridMessage(await analysisGrid(entry, size, options, layers));
  },
  async aggregate({ analysisId, aggregate, layer, options }) {
    const entry = held(analysisId);
    checkLayerHead(entry, layer);
    try {
      return await analysisAggregate(entry, aggregate, layer, options);
    } catch (error) {
      if (error instanceof AnalysisError) throw error;
      throw new AnalysisError('invalid-request', messageOf(error));
    }
  },
  meanOverLayers({ analysisId }) {
    const entry = held(analysisId);
    return { map: meanOverLayers(entry.headMeans, entry.maps.layerCount, entry.n) };
  },
  async headStats({ analysisId }) {
    return { heads: await analysisHeadStatistics(held(analysisId)) };
  },
  async neuron({ analysisId, layer, head, query }) {
    const entry = modelHeld(analysisId);
    checkLayerHead(entry, layer, head);
    if (query >= entry.n) throw new AnalysisError('invalid-request', `No token ${query}.`);
    const neuron = await analyzer.neuron(entry.modelKey, idsOf(entry), layer, head, query);
    const map = await entry.maps.head(layer, head);
    const row = map.slice(query * entry.n, (query + 1) * entry.n);
    return { ...neuron, probabilities: row, labels: entry.tokens.map((token) => token.text) };
  },
  headImportance({ analysisId, target }, { signal, progress }) {
    const entry = modelHeld(analysisId);
    return heavyJobs.run(`headImportance|${analysisId}|${target?.position ?? ''}`, signal, progress, (jobSignal, report) =>
      analyzer.withExplainer(entry.modelKey, async (explainer) => {
        const options = explainer.options(entry.tokens, target?.position);
        const key = `${analysisId}|${options.target.position}`;
        const known = importances.get(key);
        if (known) return known;
        const result = await headImportance(explainer.chain, idsOf(entry), options, control(jobSignal, report));
        importances.set(key, result);
        return result;
      }),
    );
  },
  attribution({ analysisId, mode, unit, target }, { signal, progress }) {
    const entry = modelHeld(analysisId);
    const key = `attribution|${analysisId}|${mode}|${unit}|${target?.position ?? ''}`;
    return heavyJobs.run(key, signal, progress, (jobSignal, report) =>
      analyzer.withExplainer(entry.modelKey, async ({ model, chain, options }) => {
        const maskId = model.tokenizer.maskTokenId;
        if (mode === 'mask' && maskId === undefined) {
          throw new AnalysisError('invalid-model', 'This tokenizer has no mask token; choose "remove" to occlude tokens.');
        }
        const occluded = await occlusion(
          chain,
          entry.tokens,
          { ...options(entry.tokens, target?.position), mode, unit, maskId: maskId ?? 0 },
          control(jobSignal, report),
        );
        const result = attributionOf(entry, occluded);
        // The host's editor tint reads it back (lastAttribution); the copy sent now is transferred away.
        attributions.set(analysisId, { ...result, occlusion: result.occlusion.slice() });
        return result;
      }),
    );
  },
  ablate({ analysisId, heads: chosen, keepOnly, target }, { signal, progress }) {
    const entry = modelHeld(analysisId);
    for (const { layer, head } of chosen) checkLayerHead(entry, layer, head);
    const heads = chosen.map(({ layer, head }) => `${layer}.${head}`).join(',');
    const key = `ablate|${analysisId}|${keepOnly}|${heads}|${target?.position ?? ''}`;
    return heavyJobs.run(key, signal, progress, (jobSignal, report) =>
      analyzer.withExplainer(entry.modelKey, ({ chain, options }) => {
        const { layers, heads: perLayer } = chain.shape;
        const mask = keepOnly ? maskOnly(layers, perLayer, chosen) : maskWithout(layers, perLayer, chosen);
        return ablate(chain, idsOf(entry), mask, options(entry.tokens, target?.position), control(jobSignal, report));
      }),
    );
  },
  nextTokens({ analysisId, temperature }) {
    const entry = modelHeld(analysisId);
    if (!entry.nextLogits) throw new AnalysisError('invalid-request', 'Only a language model predicts a next token.');
    return analyzer.nextTokens(entry.modelKey, entry.nextLogits, temperature).then((candidates) => ({ candidates }));
  },
  async generate({ analysisId, restart, temperature, seed }, { signal }) {
    const entry = modelHeld(analysisId);
    if (!entry.nextLogits) throw new AnalysisError('invalid-request', 'Only a language model generates text.');
    let generation = restart ? undefined : generations.use(analysisId);
    if (!generation) {
      generation = await analyzer.generate(entry.modelKey, idsOf(entry), { temperature, seed });
      generations.set(analysisId, generation);
    }
    if (signal.aborted) throw new AnalysisError('cancelled', 'The generation was cancelled.');
    const step = await generation.step();
    const text = generation.text;
    if (!step) return { step: null, text, done: true };
    const positions = step.attention[0]!.length / entry.heads;
    const attention = new Float32Array(step.attention.length * entry.heads * positions);
    step.attention.forEach((layer, index) => attention.set(layer, index * layer.length));
    return { step: { id: step.id, token: step.token, probability: step.probability, positions, attention }, text, done: generation.done };
  },
  compare({ analysisId, otherId, layer, head }) {
    const entry = held(analysisId);
    checkLayerHead(entry, layer, head);
    const other = held(otherId);
    if (other.maps.layerCount !== entry.maps.layerCount || other.heads !== entry.heads) {
      throw new AnalysisError(
        'invalid-request',
        'The two analyses come from models of different shapes; analyse both with the same model.',
      );
    }
    return compareAnalyses(entry, other, layer, head);
  },
  async writeTensor({ analysisId, format, path, document }) {
    return { bytes: await exportTensor(held(analysisId), format, path, document) };
  },
  async writeHeadMap({ analysisId, format, path, map }) {
    const entry = held(analysisId);
    checkLayerHead(entry, map.layer, map.head);
    return { bytes: await exportHeadMap(entry, format, path, map) };
  },
  lastAttribution({ analysisId }) {
    const known = attributions.get(analysisId);
    // Tokens whose removal lowers the prediction: what it rests on (special tokens have none).
    return known ? { drops: Float32Array.from(known.occlusion, (delta) => (Number.isNaN(delta) ? 0 : -delta)) } : null;
  },
  diagnostics() {
    // The request asking is one of those being served.
    return {
      sessionsLoaded: analyzer.sessionsLoaded,
      chainsHeld: analyzer.chainsHeld,
      tensorsCached: tensors.size,
      tensorBytes: tensors.bytes,
      jobsRunning: channel.servingCount - 1,
      heavyJobs: { running: heavyJobs.runningCount, queued: heavyJobs.queuedCount, started: heavyJobs.started },
      rssBytes: process.memoryUsage.rss(),
    };
  },
  async release() {
    tensors.clear();
    generations.clear();
    importances.clear();
    attributions.clear();
    await analyzer.dispose();
    await releaseScoreSessions();
    return null;
  },
};

const channel: RpcChannel<WorkerHostPeer, WorkerPeer> = new RpcChannel({
  post: (message, transfer) => port.postMessage(message, transfer),
  local: WORKER,
  handlers,
  events: {
    shutdown: () => {
      channel.close(new AnalysisError('cancelled', 'Attention Explorer is shutting down.'));
      port.close();
    },
  },
  onDropped: (reason) => channel.notify('log', { level: 'warn', message: `The analysis worker dropped a message: ${reason}` }),
});
port.on('message', (message: unknown) => channel.receive(message));
