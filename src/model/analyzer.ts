/**
 * What a text becomes: tokens with offsets, the model's logits and label probabilities, and its attention for every
 * layer and head. The one implementation the extension's worker and the CLI both use.
 */
import * as fs from 'node:fs';
import type { ModelInfo, Sentiment, TokenRow } from '../shared/analysis';
import type { Neuron } from '../shared/analysisViews';
import { AnalysisError } from '../shared/errors';
import { AttentionSession } from './attentionSession';
import { labelsOf, probabilitiesOf, type ClassifierConfig } from './classification';
import type { ToProbabilities } from './explanations';
import { instrumentedModelFor } from './instrumentedCache';
import { LayerChain } from './layerChain';
import { modelDisplayName, modelRequestKey, type ModelRequest } from './modelSource';
import { ModelStore, type DownloadProgress } from './modelStore';
import { OffsetTokenizer, type TokenizedText } from './tokenizer';

export interface ModelConfig extends ClassifierConfig {
  model_type?: string;
  _name_or_path?: string;
  dim: number;
  n_heads: number;
  n_layers: number;
  hidden_dim?: number;
  vocab_size: number;
  max_position_embeddings: number;
  attention_explorer_test_model?: unknown;
}

/** What an analysis of a text gives, but its full attention tensor (see {@link Analyzer.analyze}). */
export interface AnalysisResult extends TokenizedText {
  model: ModelInfo;
  sentiment: Sentiment;
  /** `[layers, n, n]`: each layer's mean over its heads (computed in the graph, off the host's event loop). */
  headMeans: Float32Array;
  timings: { loadMs: number; tokenizeMs: number; inferenceMs: number; totalMs: number };
}

export interface LoadedModel {
  key: string;
  info: ModelInfo;
  /** The classifier's label names, in logit order. */
  labels: string[];
  config: ModelConfig;
  tokenizer: OffsetTokenizer;
  session: AttentionSession;
  /** The model file; the layer chain for interventions is cut from its instrumented graph with a head mask. */
  onnxPath: string;
  storageDir: string;
  /** Whether the graph's query operand is already divided by √d_head (undefined: operands not exposed). */
  queryScaledBeforeProduct?: boolean;
}

/** One head's query for one token and every key (the neuron view without its attention row). */
export type QueryAndKeys = Pick<Neuron, 'query' | 'keys' | 'scale'>;

export interface AnalyzeOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
}

function readConfig(configPath: string): ModelConfig {
  let config: ModelConfig;
  try {
    config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as ModelConfig;
  } catch (error) {
    throw new AnalysisError(
      'invalid-model',
      `${configPath} is not readable JSON (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  if (config.model_type !== 'distilbert') {
    throw new AnalysisError(
      'invalid-model',
      `Attention Explorer reads DistilBERT models; this one is "${config.model_type ?? 'unknown'}".`,
    );
  }
  for (const key of ['dim', 'n_heads', 'n_layers', 'vocab_size', 'max_position_embeddings'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) {
      throw new AnalysisError('invalid-model', `${configPath} has no valid ${key}.`);
    }
  }
  return config;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AnalysisError('cancelled', 'The analysis was cancelled.');
}

export class Analyzer {
  private readonly store = new ModelStore();
  private loaded: { key: string; model: Promise<LoadedModel> } | undefined;
  private chain: { key: string; chain: Promise<LayerChain> } | undefined;
  /** onnxruntime sessions of whole models created so far (diagnostics: a burst of analyses must not add any). */
  sessionsLoaded = 0;

  /** Loads (downloading and instrumenting if needed) the model a request names; reuses the loaded one. */
  async load(request: ModelRequest, options: AnalyzeOptions = {}): Promise<LoadedModel> {
    const key = modelRequestKey(request);
    if (this.loaded?.key !== key) {
      const previous = this.loaded;
      const model = this.loadFresh(request, key, options);
      this.loaded = { key, model };
      model.catch(() => {
        if (this.loaded?.model === model) this.loaded = undefined;
      });
      void previous?.model.then((old) => old.session.release()).catch(() => undefined);
      const previousChain = this.chain;
      this.chain = undefined;
      void previousChain?.chain.then((old) => old.release()).catch(() => undefined);
    }
    return this.loaded.model;
  }

  private async loadFresh(request: ModelRequest, key: string, options: AnalyzeOptions): Promise<LoadedModel> {
    const files = await this.store.resolve(request, options);
    throwIfAborted(options.signal);
    const config = readConfig(files.configPath);
    const shape = { layers: config.n_layers, heads: config.n_heads };
    let session: AttentionSession;
    let quantized: boolean;
    let queryScaledBeforeProduct: boolean | undefined;
    try {
      const instrumented = instrumentedModelFor(files.onnxPath, shape, request.storageDir, { headMask: false });
      quantized = instrumented.quantized;
      queryScaledBeforeProduct = instrumented.queryScaledBeforeProduct;
      session = await AttentionSession.load(instrumented.path, shape);
    } catch (error) {
      if (error instanceof AnalysisError && error.code !== 'invalid-model') throw error;
      // A cached download that cannot be read (not ONNX, or not loadable) is damaged: drop it so that the next try
      // fetches it again. A folder the user chose is left alone.
      const fromHub = request.source.kind === 'hub';
      if (request.source.kind === 'hub') this.store.forget(request.source);
      const reason =
        error instanceof AnalysisError
          ? error.message
          : `onnxruntime could not load ${files.onnxPath} (${error instanceof Error ? error.message : String(error)}).`;
      throw new AnalysisError(
        'invalid-model',
        `${reason}${fromHub ? ' The cached files were removed; the next analysis downloads them again.' : ''}`,
      );
    }
    this.sessionsLoaded += 1;
    const tokenizer = await OffsetTokenizer.load({ kind: 'folder', folder: files.folder });
    const info: ModelInfo = {
      name:
        request.source.kind === 'hub' ? modelDisplayName(request.source) : config._name_or_path?.trim() || modelDisplayName(request.source),
      dtype: request.dtype,
      layers: config.n_layers,
      heads: config.n_heads,
      isTestModel: config.attention_explorer_test_model !== undefined,
      quantized,
    };
    const labels = labelsOf(config, Object.keys(config.id2label ?? {}).length || 2);
    return {
      key,
      info,
      labels,
      config,
      tokenizer,
      session,
      onnxPath: files.onnxPath,
      storageDir: request.storageDir,
      ...(queryScaledBeforeProduct !== undefined ? { queryScaledBeforeProduct } : {}),
    };
  }

  /**
   * The loaded model, if it is the one `key` names (explanations must use the model that made the analysis), with its
   * layer chain, built on first use and kept with the model.
   */
  async explainer(key: string): Promise<{ model: LoadedModel; chain: LayerChain; toProbabilities: ToProbabilities }> {
    if (this.loaded?.key !== key) {
      throw new AnalysisError(
        'attention-unavailable',
        'The model that made this analysis is no longer loaded; run Analyze Selection again.',
      );
    }
    const model = await this.loaded.model;
    if (this.chain?.key !== key) {
      const previous = this.chain;
      const chain = this.verifiedChain(model).catch((error: unknown) => {
        if (error instanceof AnalysisError) throw error;
        throw new AnalysisError(
          'invalid-model',
          `The model could not be split into layers for interventions (${error instanceof Error ? error.message : String(error)}).`,
        );
      });
      this.chain = { key, chain };
      chain.catch(() => {
        if (this.chain?.chain === chain) this.chain = undefined;
      });
      void previous?.chain.then((old) => old.release()).catch(() => undefined);
    }
    return { model, chain: await this.chain.chain, toProbabilities: (logits) => probabilitiesOf(logits, model.config) };
  }

  /**
   * Cuts the model into its layer chain and checks it against the whole graph on a probe text: a graph whose last
   * layer cannot be trimmed to [CLS] as expected falls back to the full last layer; a chain that still disagrees is
   * refused rather than trusted.
   */
  private async verifiedChain(model: LoadedModel): Promise<LayerChain> {
    const { dim, hidden_dim: hidden = 4 * dim, n_layers: layers, n_heads: heads } = model.config;
    const shape = { layers, heads, dim, hidden, quantized: model.info.quantized };
    const ids = model.tokenizer
      .tokenize('Attention Explorer checks the layer chain against the whole model.')
      .tokens.map((token) => token.id);
    const expected = (await model.session.run({ inputIds: [ids] })).logits;
    // A q8 graph quantizes each activation with one scale over all its tokens: trimming would change the result.
    const instrumented = instrumentedModelFor(model.onnxPath, { layers, heads }, model.storageDir, { headMask: true });
    for (const firstTokenOnlyInLastLayer of model.info.quantized ? [false] : [true, false]) {
      const chain = await LayerChain.load(instrumented.path, shape, { firstTokenOnlyInLastLayer });
      const logits = await chain.logits([{ ids }]).catch(() => undefined);
      if (logits && logits.every((value, index) => Math.abs(value - expected[index]!) <= 1e-3 * Math.max(1, Math.abs(expected[index]!))))
        return chain;
      await chain.release();
    }
    throw new AnalysisError(
      'invalid-model',
      "Interventions are not available for this model: its graph, cut into layers, does not reproduce the whole model's logits.",
    );
  }

  /** Key of the model currently loaded (or loading), if any. */
  get loadedKey(): string | undefined {
    return this.loaded?.key;
  }

  /**
   * Runs the loaded model again on `ids` and returns one head's query for one token and all its keys, unscaled (the
   * graph may hold `q / √d`). The model must be the one that produced the analysis.
   */
  async neuron(key: string, ids: readonly number[], layer: number, head: number, queryIndex: number): Promise<QueryAndKeys> {
    if (this.loaded?.key !== key) {
      throw new AnalysisError(
        'attention-unavailable',
        'The model that made this analysis is no longer loaded; run Analyze Selection again.',
      );
    }
    const model = await this.loaded.model;
    if (model.queryScaledBeforeProduct === undefined || !model.session.exposesOperands) {
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
    for (let key = 0; key < n; key += 1) {
      for (let index = 0; index < d; index += 1) keys[key * d + index] = keyTransposed[(head * d + index) * n + key]!;
    }
    return { query: q, keys, scale };
  }

  /**
   * Tokenizes and runs one text: the result every view starts from, and the model's own attention probabilities,
   * per layer `[heads, n, n]` row-major (which stay where they were computed).
   */
  async analyze(
    request: ModelRequest,
    text: string,
    options: AnalyzeOptions = {},
  ): Promise<{ result: AnalysisResult; attentions: Float32Array[] }> {
    const started = performance.now();
    const model = await this.load(request, options);
    const loadMs = performance.now() - started;
    throwIfAborted(options.signal);
    const tokenizeStart = performance.now();
    const tokenized = model.tokenizer.tokenize(text);
    const tokenizeMs = performance.now() - tokenizeStart;
    const inferenceStart = performance.now();
    // With a batch of one, each layer's [batch, heads, n, n] is [heads, n, n].
    const output = await model.session.run(
      { inputIds: [tokenized.tokens.map((token: TokenRow) => token.id)] },
      { attentions: true, headMeans: true },
    );
    const inferenceMs = performance.now() - inferenceStart;
    throwIfAborted(options.signal);
    const n = tokenized.tokens.length;
    const headMeans = new Float32Array(model.info.layers * n * n);
    output.headMeans!.forEach((layer, index) => headMeans.set(layer, index * n * n));
    const logits = Array.from(output.logits);
    const result: AnalysisResult = {
      ...tokenized,
      model: model.info,
      sentiment: { labels: model.labels, probabilities: probabilitiesOf(logits, model.config), logits },
      headMeans,
      timings: { loadMs, tokenizeMs, inferenceMs, totalMs: performance.now() - started },
    };
    return { result, attentions: output.attentions! };
  }

  async dispose(): Promise<void> {
    const loaded = this.loaded;
    const chain = this.chain;
    this.loaded = undefined;
    this.chain = undefined;
    await chain?.chain.then((old) => old.release()).catch(() => undefined);
    await loaded?.model.then((model) => model.session.release()).catch(() => undefined);
  }
}
