/**
 * What a text becomes: tokens with offsets, the model's prediction for its task, and its attention for every layer
 * and head. The one implementation the extension's worker and the CLI both use. A model is read through its family
 * module (`./families`): nothing here names a family's config keys or graph.
 */
import type { Candidate, ModelInfo, Prediction, TaskId, TokenRow } from '../shared/analysis';
import type { Neuron } from '../shared/analysisViews';
import { BoundedCache } from '../shared/boundedCache';
import { AnalysisError, messageOf } from '../shared/errors';
import { AttentionSession } from './attentionSession';
import type { ExplainTarget, InterventionOptions, InterventionRunner } from './explanations';
import { DecoderInterventions } from './decoderInterventions';
import { DecoderSession, type PredictionReadout } from './decoderSession';
import { StoredMaps, type LayerMaps } from './layerMaps';
import { checkBudget, DEFAULT_TENSOR_BUDGET_BYTES, type AttentionCost } from './memoryBudget';
import { OnDemandMaps } from './onDemandMaps';
import type { ScoreStep } from './onnx/instrument';
import { Generation, type GenerationSettings } from './generation';
import type { DecoderGraphStyle } from './onnx/instrumentDecoder';
import { topCandidates } from './tasks/candidates';
import { NEXT_TOKEN_TOP_K, textGeneration } from './tasks/textGeneration';
import { chooseTask, readModelConfig, type FamilyConfig, type ModelFamily } from './families';
import { instrumentedModelFor } from './instrumentedCache';
import { LayerChain } from './layerChain';
import { modelDisplayName, modelRequestKey, type ModelRequest } from './modelSource';
import { ModelStore, type DownloadProgress } from './modelStore';
import { featureExtraction } from './tasks/featureExtraction';
import { fillMask, FILL_MASK_TOP_K } from './tasks/fillMask';
import { headLabels, probabilitiesOf, softmax, textClassification } from './tasks/textClassification';
import { tokenClassification } from './tasks/tokenClassification';
import { SharedTask } from './sharedTask';
import { OffsetTokenizer, type TokenizedText } from './tokenizer';

/** The most bytes of head means an analysis sends to the host (the host's store keeps 64 MiB of them in all). */
export const MAX_SENT_HEAD_MEANS_BYTES = 64 * 1024 * 1024;

/** What an analysis of a text gives, but its full attention tensor (see {@link Analyzer.analyze}). */
export interface AnalysisResult extends TokenizedText {
  model: ModelInfo;
  prediction: Prediction;
  /**
   * `[layers, n, n]`: each layer's mean over its heads (computed in the graph, off the host's event loop), for the
   * host's hovers; absent beyond {@link MAX_SENT_HEAD_MEANS_BYTES} (long inputs: they stay in the worker).
   */
  headMeans?: Float32Array;
  timings: { loadMs: number; tokenizeMs: number; inferenceMs: number; totalMs: number };
}

interface LoadedBase {
  key: string;
  info: ModelInfo;
  family: ModelFamily;
  config: FamilyConfig;
  task: TaskId;
  tokenizer: OffsetTokenizer;
  /** The model file; interventions run its instrumented graph with a head mask. */
  onnxPath: string;
  storageDir: string;
}

export interface LoadedEncoder extends LoadedBase {
  kind: 'encoder';
  /** The graph output the task's head writes. */
  output: string;
  session: AttentionSession;
  /** Whether the graph's query operand is already divided by √d_head (undefined: operands not exposed). */
  queryScaledBeforeProduct?: boolean;
  /** Present when the analysis graph returns queries and keys, the maps being computed from them on demand. */
  scoreSteps?: ScoreStep[];
}

export interface LoadedDecoder extends LoadedBase {
  kind: 'decoder';
  session: DecoderSession;
  style: DecoderGraphStyle;
  /** Present when the graph returns queries and keys, the maps being computed from them on demand. */
  scoreSteps?: ScoreStep[];
}

export type LoadedModel = LoadedEncoder | LoadedDecoder;

/** One head's query for one token and every key (the neuron view without its attention row). */
export type QueryAndKeys = Pick<Neuron, 'query' | 'keys' | 'scale'>;

export interface AnalyzeOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** The most bytes the analysis's attention may hold ({@link DEFAULT_TENSOR_BUDGET_BYTES} when absent). */
  tensorBudgetBytes?: number;
}

/** Everything an intervention on a loaded model needs. */
export interface Explainer {
  model: LoadedModel;
  chain: InterventionRunner;
  /** The target and scoring for explaining the prediction at `position` (a classifier ignores it). */
  options: (tokens: readonly TokenRow[], position: number | undefined) => InterventionOptions;
}

/** Dtypes whose graphs quantize activations per batch (DynamicQuantizeLinear + MatMulInteger). */
const EIGHT_BIT_DTYPES = ['q8', 'int8', 'uint8'] as const;

/** Models kept loaded at once: the one in use and one more (Compare Selections across two models). */
const LOADED_MODELS = 2;

/**
 * How long a model's layer chain stays built after its last intervention ended. Its per-layer sessions hold their own
 * copies of the weights and the arena of the last sweep (DistilBERT full size: about 7 × the model file), so an idle
 * one goes; the next intervention builds and checks it again (a second or two).
 */
export const CHAIN_IDLE_MS = 60_000;

/** How long a load goes on after its last request has gone: live mode cancels one analysis just before asking the next. */
const ABANDONED_LOAD_GRACE_MS = 1000;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AnalysisError('cancelled', 'The analysis was cancelled.');
}

export class Analyzer {
  private readonly store = new ModelStore();
  private readonly models = new BoundedCache<string, Promise<LoadedModel>>({
    maxEntries: LOADED_MODELS,
    onEvict: (key, model) => {
      // An evicted model is released once loaded: no new request may join its load.
      this.loading.delete(key as string);
      void this.unload(key as string, model);
    },
  });
  /** Loads under way, by model key: every request for the model waits for the same one. */
  private readonly loading = new Map<string, SharedTask<LoadedModel, DownloadProgress>>();
  private readonly chains = new Map<string, Promise<InterventionRunner>>();
  /** Interventions running on each model's chain, and the timer that drops the chain once none has run for a while. */
  private readonly chainUse = new Map<string, { running: number; idle?: ReturnType<typeof setTimeout> }>();
  /** onnxruntime sessions of whole models created so far (diagnostics: a burst of analyses must not add any). */
  sessionsLoaded = 0;

  /** `chainIdleMs`: how long an unused layer chain is kept ({@link CHAIN_IDLE_MS}). */
  constructor(private readonly chainIdleMs = CHAIN_IDLE_MS) {}

  /** Layer chains built and not yet released (diagnostics). */
  get chainsHeld(): number {
    return this.chains.size;
  }

  /**
   * Loads (downloading and instrumenting if needed) the model a request names; reuses a loaded one. Requests for a
   * model being loaded share that load: aborting `options.signal` detaches only this request (see {@link SharedTask}).
   */
  load(request: ModelRequest, options: AnalyzeOptions = {}): Promise<LoadedModel> {
    const key = modelRequestKey(request);
    const loading = this.loading.get(key);
    if (loading && !loading.abandoned) {
      void this.models.use(key); // keeps it the most recently used
      return loading.join(options);
    }
    const model = loading ? undefined : this.models.use(key);
    if (model) return model;
    // An abandoned load that finished all the same is replaced below: its session is nobody's.
    if (loading) void loading.result.then((old) => old.session.release()).catch(() => undefined);
    const shared = new SharedTask<LoadedModel, DownloadProgress>((own) => this.loadFresh(request, key, own), ABANDONED_LOAD_GRACE_MS);
    const result = shared.result;
    this.loading.set(key, shared);
    this.models.set(key, result);
    result.then(
      () => {
        if (this.loading.get(key) === shared) this.loading.delete(key);
      },
      () => {
        if (this.loading.get(key) === shared) this.loading.delete(key);
        if (this.models.get(key) === result) this.models.delete(key);
      },
    );
    return shared.join(options);
  }

  /** Stops the load of the model a request names for every request waiting for it (the user's Cancel). */
  cancelLoad(request: ModelRequest): void {
    this.loading.get(modelRequestKey(request))?.cancel();
  }

  private async unload(key: string, model: Promise<LoadedModel>): Promise<void> {
    await this.releaseChain(key);
    await model.then((old) => old.session.release()).catch(() => undefined);
  }

  private async loadFresh(request: ModelRequest, key: string, options: AnalyzeOptions): Promise<LoadedModel> {
    const files = await this.store.resolve(request, options);
    throwIfAborted(options.signal);
    const { family, config } = readModelConfig(files.configPath);
    const task = chooseTask(config, request.task);
    if (family.pattern.kind === 'decoder') return this.loadDecoder(request, key, files, family, config, task);
    const shape = { layers: config.layers, heads: config.heads };
    let session: AttentionSession;
    let quantized: boolean;
    let queryScaledBeforeProduct: boolean | undefined;
    let scoreSteps: ScoreStep[] | undefined;
    let output: string;
    try {
      const instrumented = instrumentedModelFor(files.onnxPath, shape, family.pattern, request.storageDir, {
        headMask: false,
        outputs: 'operands',
      });
      quantized = instrumented.quantized;
      queryScaledBeforeProduct = instrumented.queryScaledBeforeProduct;
      scoreSteps = instrumented.scoreSteps;
      const candidates = family.outputsOf(task);
      session = await AttentionSession.load(instrumented.path, { ...shape, inputs: family.pattern.inputs, output: candidates[0]! });
      const found = candidates.find((name) => session.outputNames.includes(name));
      if (!found) {
        await session.release();
        throw new AnalysisError(
          'invalid-model',
          `The graph has no ${candidates.join(' or ')} output, which ${task} reads; its outputs are ${session.outputNames.filter((name) => !name.startsWith('attention_')).join(', ')}.`,
        );
      }
      output = found;
      if (found !== candidates[0]) session = session.withOutput(found);
    } catch (error) {
      throw this.unreadable(request, files.onnxPath, error);
    }
    this.sessionsLoaded += 1;
    const tokenizer = await OffsetTokenizer.load({ kind: 'folder', folder: files.folder }, config.maxTokens);
    const info = modelInfoOf(request, family, config, task, quantized);
    if (task === 'fill-mask' && tokenizer.maskTokenId === undefined) {
      throw new AnalysisError('invalid-model', "This fill-mask model's tokenizer has no mask token.");
    }
    return {
      kind: 'encoder',
      key,
      info,
      family,
      config,
      task,
      output,
      tokenizer,
      session,
      onnxPath: files.onnxPath,
      storageDir: request.storageDir,
      ...(queryScaledBeforeProduct !== undefined ? { queryScaledBeforeProduct } : {}),
      ...(scoreSteps ? { scoreSteps } : {}),
    };
  }

  private async loadDecoder(
    request: ModelRequest,
    key: string,
    files: { folder: string; onnxPath: string },
    family: ModelFamily,
    config: FamilyConfig,
    task: TaskId,
  ): Promise<LoadedDecoder> {
    const shape = { layers: config.layers, heads: config.heads };
    let session: DecoderSession;
    let instrumented: ReturnType<typeof instrumentedModelFor>;
    try {
      instrumented = instrumentedModelFor(files.onnxPath, shape, family.pattern, request.storageDir, {
        headMask: false,
        outputs: 'operands',
      });
      session = await DecoderSession.load(instrumented.path, { ...shape, inputs: family.pattern.inputs });
    } catch (error) {
      throw this.unreadable(request, files.onnxPath, error);
    }
    if (!session.outputNames.includes('logits')) {
      await session.release();
      throw new AnalysisError(
        'invalid-model',
        `The graph has no logits output; its outputs are ${session.outputNames.slice(0, 8).join(', ')}.`,
      );
    }
    this.sessionsLoaded += 1;
    const tokenizer = await OffsetTokenizer.load({ kind: 'folder', folder: files.folder }, config.maxTokens);
    const info = modelInfoOf(request, family, config, task, instrumented.quantized);
    return {
      kind: 'decoder',
      key,
      info,
      family,
      config,
      task,
      tokenizer,
      session,
      style: instrumented.style ?? 'unfused',
      ...(instrumented.scoreSteps ? { scoreSteps: instrumented.scoreSteps } : {}),
      onnxPath: files.onnxPath,
      storageDir: request.storageDir,
    };
  }

  /**
   * A model file that cannot be read: a cached download is damaged, so it is dropped and the next try fetches it
   * again; a folder the user chose is left alone.
   */
  private unreadable(request: ModelRequest, onnxPath: string, error: unknown): AnalysisError {
    if (error instanceof AnalysisError && error.code !== 'invalid-model') return error;
    const fromHub = request.source.kind === 'hub';
    if (request.source.kind === 'hub') this.store.forget(request.source);
    const reason = error instanceof AnalysisError ? error.message : `onnxruntime could not load ${onnxPath} (${messageOf(error)}).`;
    return new AnalysisError(
      'invalid-model',
      `${reason}${fromHub ? ' The cached files were removed; the next analysis downloads them again.' : ''}`,
    );
  }

  /** A loaded model by its key (explanations and the neuron view must use the model that made the analysis). */
  private loaded(key: string): Promise<LoadedModel> {
    const model = this.models.use(key);
    if (!model)
      throw new AnalysisError(
        'attention-unavailable',
        'The model that made this analysis is no longer loaded; run Analyze Selection again.',
      );
    return model;
  }

  /**
   * Runs an intervention with the loaded model `key` names and its layer chain: the chain is built on first use, kept
   * while interventions run and dropped {@link chainIdleMs} after the last one ends.
   */
  async withExplainer<T>(key: string, run: (explainer: Explainer) => Promise<T>): Promise<T> {
    const use = this.chainUse.get(key) ?? { running: 0 };
    clearTimeout(use.idle);
    use.running += 1;
    this.chainUse.set(key, use);
    try {
      return await run(await this.explainer(key));
    } finally {
      use.running -= 1;
      if (use.running === 0) {
        use.idle = setTimeout(() => void this.dropChain(key, use), this.chainIdleMs);
        use.idle.unref?.();
      }
    }
  }

  private async dropChain(key: string, use: { running: number }): Promise<void> {
    if (use.running === 0 && this.chainUse.get(key) === use) await this.releaseChain(key);
  }

  /** Forgets model `key`'s layer chain and its idle timer, and releases its sessions. */
  private async releaseChain(key: string): Promise<void> {
    clearTimeout(this.chainUse.get(key)?.idle);
    this.chainUse.delete(key);
    const chain = this.chains.get(key);
    this.chains.delete(key);
    await chain?.then((old) => (old instanceof LayerChain ? old.release() : undefined)).catch(() => undefined);
  }

  /** The loaded model `key` names, with its layer chain (built on first use; kept until {@link withExplainer} drops it). */
  async explainer(key: string): Promise<Explainer> {
    const model = await this.loaded(key);
    if (model.task === 'feature-extraction') {
      throw new AnalysisError('invalid-request', 'A feature-extraction model predicts nothing, so there is no prediction to explain.');
    }
    let chain = this.chains.get(key);
    if (!chain) {
      const building = (model.kind === 'decoder' ? this.decoderInterventions(model) : this.verifiedChain(model)).catch((error: unknown) => {
        if (error instanceof AnalysisError) throw error;
        throw new AnalysisError('invalid-model', `The model could not be split into layers for interventions (${messageOf(error)}).`);
      });
      building.catch(() => {
        if (this.chains.get(key) === building) this.chains.delete(key);
      });
      this.chains.set(key, building);
      chain = building;
    }
    return { model, chain: await chain, options: (tokens, position) => interventionOptions(model, tokens, position) };
  }

  /**
   * Cuts the model into its layer chain and checks it against the whole graph on a probe text: a last layer that
   * cannot be trimmed to the one token the head reads falls back to the whole last layer; a chain that still disagrees
   * is refused rather than trusted.
   */
  private async decoderInterventions(model: LoadedDecoder): Promise<InterventionRunner> {
    const { config, family } = model;
    const instrumented = withHeadMask(model);
    const session = await DecoderSession.load(instrumented.path, {
      layers: config.layers,
      heads: config.heads,
      inputs: family.pattern.inputs,
    });
    return new DecoderInterventions(session, {
      layers: config.layers,
      heads: config.heads,
      width: config.hidden,
      intermediate: config.intermediate,
      rowByRow: (EIGHT_BIT_DTYPES as readonly string[]).includes(model.info.dtype),
    });
  }

  private async verifiedChain(model: LoadedEncoder): Promise<LayerChain> {
    const { config, family, task } = model;
    const probe = model.tokenizer.tokenize(
      `Attention Explorer checks the layer chain against the whole model${model.tokenizer.maskToken ? ` ${model.tokenizer.maskToken}` : ''}.`,
    );
    const ids = probe.tokens.map((token) => token.id);
    const position =
      task === 'fill-mask'
        ? Math.max(
            0,
            probe.tokens.findIndex((token) => token.id === model.tokenizer.maskTokenId),
          )
        : Math.min(1, ids.length - 1);
    const whole = await model.session.run({ inputIds: [ids] });
    const perToken = task !== 'text-classification';
    const width = perToken ? whole.output.length / ids.length : whole.output.length;
    const expected = perToken ? whole.output.subarray(position * width, (position + 1) * width) : whole.output;
    const instrumented = withHeadMask(model);
    const shape = {
      layers: config.layers,
      heads: config.heads,
      width: config.hidden,
      intermediate: config.intermediate,
      inputs: family.pattern.inputs,
      quantized: model.info.quantized,
    };
    // A q8 graph quantizes each activation with one scale over all its tokens: trimming would change the result.
    const trimmed = family.headReadsFirstToken(task) ? 'first-token' : 'target-position';
    for (const lastLayer of model.info.quantized ? (['all'] as const) : ([trimmed, 'all'] as const)) {
      const chain = await LayerChain.load(instrumented.path, shape, { pattern: family.pattern, output: model.output, lastLayer }).catch(
        () => undefined,
      );
      if (!chain) continue;
      const [row] = await chain.outputs([{ ids, targetPosition: position }]).catch(() => [undefined]);
      const got = row && (perToken && lastLayer !== 'target-position' ? row.subarray(position * width, (position + 1) * width) : row);
      if (
        got &&
        got.length === expected.length &&
        got.every((value, index) => Math.abs(value - expected[index]!) <= 1e-3 * Math.max(1, Math.abs(expected[index]!)))
      )
        return chain;
      await chain.release();
    }
    throw new AnalysisError(
      'invalid-model',
      "Interventions are not available for this model: its graph, cut into layers, does not reproduce the whole model's output.",
    );
  }

  /** Keys of the models loaded (or loading). */
  get loadedKeys(): string[] {
    return [...this.models.keys()];
  }

  /**
   * Runs a loaded model again on `ids` and returns one head's query for one token and all its keys, unscaled (the
   * graph may hold `q / √d`). The model must be the one that produced the analysis.
   */
  async neuron(key: string, ids: readonly number[], layer: number, head: number, queryIndex: number): Promise<QueryAndKeys> {
    const model = await this.loaded(key);
    if (model.kind === 'decoder' || model.queryScaledBeforeProduct === undefined || !model.session.exposesOperands) {
      throw new AnalysisError(
        'invalid-model',
        'This model graph does not expose its queries and keys, so the neuron view is not available for it.',
      );
    }
    const output = await model.session.run({ inputIds: [ids] }, { operandsOfLayer: layer });
    const { query, keyTransposed } = output.operands!;
    const n = ids.length;
    const d = query.length / (model.info.heads * n);
    const scale = 1 / Math.sqrt(d);
    const unscale = model.queryScaledBeforeProduct ? Math.sqrt(d) : 1;
    const q = new Float32Array(d);
    for (let index = 0; index < d; index += 1) q[index] = query[(head * n + queryIndex) * d + index]! * unscale;
    const keys = new Float32Array(n * d);
    for (let token = 0; token < n; token += 1) {
      for (let index = 0; index < d; index += 1) keys[token * d + index] = keyTransposed[(head * d + index) * n + token]!;
    }
    return { query: q, keys, scale };
  }

  /**
   * Tokenizes and runs one text: the result every view starts from; the model's own attention, every layer's and
   * head's map on request ({@link LayerMaps}: computed from the run's queries and keys where the graph exposes them,
   * else the graph's own maps; they stay where they were computed); and the task head's raw output (logits, or the
   * last hidden state).
   */
  async analyze(
    request: ModelRequest,
    text: string,
    options: AnalyzeOptions = {},
  ): Promise<{ result: AnalysisResult; attention: LayerMaps; headMeans: Float32Array; output: Float32Array }> {
    const started = performance.now();
    const model = await this.load(request, options);
    const loadMs = performance.now() - started;
    throwIfAborted(options.signal);
    const tokenizeStart = performance.now();
    const tokenized = model.tokenizer.tokenize(text);
    const tokenizeMs = performance.now() - tokenizeStart;
    if (tokenized.tokens.length === 0) throw new AnalysisError('invalid-request', 'The selection has no tokens to analyse.');
    checkBudget(attentionCost(model), tokenized.tokens.length, options.tensorBudgetBytes ?? DEFAULT_TENSOR_BUDGET_BYTES, model.info.name);
    const inferenceStart = performance.now();
    const ids = tokenized.tokens.map((token) => token.id);
    // With a batch of one, each layer's [batch, heads, n, n] is [heads, n, n].
    // A decoder's raw output is the last position's logits (the next token's); its readout is computed in the graph.
    const n = tokenized.tokens.length;
    const { heads, layers } = model.info;
    // The queries and keys when the graph returns them (maps on demand), else the maps themselves.
    const steps = model.scoreSteps;
    const wanted = { ...(steps ? { operands: true } : { attentions: true }), headMeans: true };
    const run =
      model.kind === 'decoder'
        ? await model.session
            .run({ inputIds: [ids] }, { ...wanted, readout: true })
            .then((decoded) => ({ ...decoded, output: decoded.logits }))
        : { ...(await model.session.run({ inputIds: [ids] }, wanted)), readout: undefined };
    const attention: LayerMaps = steps
      ? new OnDemandMaps(run.layerOperands!, heads, n, steps, model.kind === 'decoder')
      : new StoredMaps(run.attentions!, heads, n);
    const { output, readout } = run;
    const layerMeans = run.headMeans!;
    const inferenceMs = performance.now() - inferenceStart;
    throwIfAborted(options.signal);
    const headMeans = new Float32Array(layers * n * n);
    layerMeans.forEach((layer, index) => headMeans.set(layer, index * n * n));
    const result: AnalysisResult = {
      ...tokenized,
      model: model.info,
      prediction: predictionOf(model, output, tokenized.tokens, readout),
      ...(headMeans.byteLength <= MAX_SENT_HEAD_MEANS_BYTES ? { headMeans: headMeans.slice() } : {}),
      timings: { loadMs, tokenizeMs, inferenceMs, totalMs: performance.now() - started },
    };
    return { result, attention, headMeans, output };
  }

  /** The most probable next tokens from a decoder's logits row, at a temperature (0: as at 1). */
  async nextTokens(key: string, logits: Float32Array, temperature: number): Promise<Candidate[]> {
    const model = await this.loaded(key);
    return topCandidates(logits, NEXT_TOKEN_TOP_K, (id) => model.tokenizer.decode([id]), temperature > 0 ? temperature : 1);
  }

  /** Starts generating after `ids` with the loaded decoder `key` names (the one that analysed them). */
  async generate(key: string, ids: readonly number[], settings: GenerationSettings): Promise<Generation> {
    const model = await this.loaded(key);
    if (model.kind !== 'decoder') {
      throw new AnalysisError('invalid-request', `${model.info.name} is not a language model; only decoders generate text.`);
    }
    return Generation.start(model.session, ids, settings, {
      stopIds: model.config.stopTokenIds,
      maxPositions: model.config.maxTokens,
      decode: (generated) => model.tokenizer.decode(generated),
      ...(model.scoreSteps ? { scoreSteps: model.scoreSteps } : {}),
    });
  }

  async dispose(): Promise<void> {
    for (const shared of this.loading.values()) shared.cancel();
    this.loading.clear();
    const loaded = [...this.models.keys()].map((key) => [key, this.models.get(key)!] as const);
    this.models.clear();
    await Promise.all(loaded.map(([key, model]) => this.unload(key, model)));
  }
}

/** The model's graph instrumented with a head mask (interventions), built on first use. */
function withHeadMask(model: LoadedModel): ReturnType<typeof instrumentedModelFor> {
  const { config, family } = model;
  return instrumentedModelFor(model.onnxPath, { layers: config.layers, heads: config.heads }, family.pattern, model.storageDir, {
    headMask: true,
  });
}

/** What the views say about a loaded model. */
function modelInfoOf(request: ModelRequest, family: ModelFamily, config: FamilyConfig, task: TaskId, quantized: boolean): ModelInfo {
  return {
    name: request.source.kind === 'hub' ? modelDisplayName(request.source) : config.name?.trim() || modelDisplayName(request.source),
    dtype: request.dtype,
    family: family.id,
    task,
    layers: config.layers,
    heads: config.heads,
    kvHeads: config.kvHeads,
    causal: config.causal,
    isTestModel: config.isTestModel,
    quantized,
  };
}

/** What the model's analyses cost in memory (see memoryBudget.ts). */
export function attentionCost(model: LoadedModel): AttentionCost {
  const { layers, heads, headDim } = model.config;
  return { layers, heads, headDim, onDemand: model.scoreSteps !== undefined, mapOutputs: model.kind === 'decoder' ? 1 : 2 };
}

/** The task's post-processing of the head's output. */
function predictionOf(
  model: LoadedModel,
  output: Float32Array,
  tokens: readonly TokenRow[],
  readout: PredictionReadout | undefined,
): Prediction {
  const { config, tokenizer } = model;
  switch (model.task) {
    case 'text-classification':
      return textClassification(output, config.labels, config.multiLabel);
    case 'token-classification':
      return tokenClassification(output, tokens, config.labels, (ids) => tokenizer.decode(ids));
    case 'fill-mask':
      return fillMask(output, tokens, tokenizer.maskTokenId!, (id) => tokenizer.decode([id]));
    case 'feature-extraction':
      return featureExtraction(output, tokens.length);
    case 'text-generation':
      if (!readout) throw new AnalysisError('internal', 'A language model analysis ran without its next-token readout.');
      return textGeneration(output, readout, tokens, (id) => tokenizer.decode([id]));
  }
}

/**
 * What an intervention explains for this model's task: a classifier's predicted label (its head reads the first
 * token); one token's label (the token asked for, else the first of the first entity, else the first text token);
 * one mask's most probable tokens (the mask asked for, else the first).
 */
function interventionOptions(model: LoadedModel, tokens: readonly TokenRow[], requested: number | undefined): InterventionOptions {
  const { config, tokenizer, task } = model;
  const inText = (index: number | undefined) => (index !== undefined && tokens[index] && !tokens[index].special ? index : undefined);
  // The labels of the logits the head has, as the prediction names them.
  const explainAll = (score: (output: Float32Array) => number[]) => (original: Float32Array) => ({
    labels: headLabels(config.labels, original.length),
    score,
  });
  let target: ExplainTarget;
  switch (task) {
    case 'text-classification':
      target = { position: 0, explain: explainAll((output) => probabilitiesOf(output, config.multiLabel)) };
      break;
    case 'token-classification': {
      const position = inText(requested) ?? tokens.findIndex((token) => !token.special);
      if (position < 0) throw new AnalysisError('invalid-request', 'The analysis has no token to explain.');
      target = { position, explain: explainAll((output) => softmax(Array.from(output))) };
      break;
    }
    case 'fill-mask': {
      const maskId = tokenizer.maskTokenId!;
      const position =
        requested !== undefined && tokens[requested]?.id === maskId ? requested : tokens.findIndex((token) => token.id === maskId);
      if (position < 0) throw new AnalysisError('invalid-request', `The text has no ${tokenizer.maskToken ?? 'mask'} token to explain.`);
      target = {
        position,
        explain: (original) => {
          const ids = topIds(original, FILL_MASK_TOP_K);
          return { labels: ids.map((id) => tokenizer.decode([id])), score: (output) => pick(softmax(Array.from(output)), ids) };
        },
      };
      break;
    }
    case 'feature-extraction':
      throw new AnalysisError('invalid-request', 'A feature-extraction model predicts nothing, so there is no prediction to explain.');
    case 'text-generation':
      // The next token after the text, read from the last position's logits (the only output a decoder's run returns).
      target = {
        position: tokens.length - 1,
        explain: (original) => {
          const ids = topIds(original, FILL_MASK_TOP_K);
          return { labels: ids.map((id) => tokenizer.decode([id])), score: (output) => pick(softmax(Array.from(output)), ids) };
        },
      };
      return { target, perToken: false };
  }
  return { target, perToken: task !== 'text-classification' };
}

function topIds(values: Float32Array, k: number): number[] {
  return Array.from(values.keys())
    .sort((a, b) => values[b]! - values[a]!)
    .slice(0, k);
}

function pick(values: readonly number[], ids: readonly number[]): number[] {
  return ids.map((id) => values[id] ?? 0);
}
