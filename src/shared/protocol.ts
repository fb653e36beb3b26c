/**
 * The one message protocol between the extension host and its webviews.
 *
 * Every message is declared here once, as a valibot schema; the TypeScript types both sides use are inferred from
 * those schemas, and every message that arrives from a webview is parsed with them before it is used (a webview is
 * a web page: it can be made to send anything). Numeric arrays travel as ArrayBuffers (the structured clone that
 * carries webview messages copies them as bytes; JSON arrays would cost a number-to-string round trip each).
 *
 * This module must stay free of `vscode` and Node imports: the webview bundles import it too.
 */
import * as v from 'valibot';
import type { HeadStatistics } from '../engine/statistics';

/** An ArrayBuffer from the receiving realm (structured clone recreates it there). */
const binary = v.custom<ArrayBuffer>((input) => input instanceof ArrayBuffer, 'expected an ArrayBuffer');
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const shortText = v.pipe(v.string(), v.maxLength(4096));

/**
 * The tokens of an analysed text, column-wise. Token `i` covers `[offsets[2i], offsets[2i+1])` of the analysed text
 * in UTF-16 code units (JavaScript string indices, which are also VS Code's document offsets); special tokens
 * ([CLS], [SEP]) cover an empty range at 0, as Hugging Face tokenizers report them.
 */
export const TokenTableSchema = v.pipe(
  v.object({
    /** The tokenizer's own token strings, e.g. `"##ing"`. */
    texts: v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(100_000)),
    /** Int32Array of vocabulary ids. */
    ids: binary,
    /** Uint32Array of `[start, end)` pairs. */
    offsets: binary,
    /** Uint8Array, 1 for special tokens. */
    special: binary,
  }),
  v.check(
    (table) =>
      table.ids.byteLength === table.texts.length * 4 &&
      table.offsets.byteLength === table.texts.length * 8 &&
      table.special.byteLength === table.texts.length,
    'token table columns have different lengths',
  ),
);
export type TokenTable = v.InferOutput<typeof TokenTableSchema>;

/** Where an analysed text came from, for labels and for jumping back to it. */
export const SourceRangeSchema = v.object({
  documentName: shortText,
  documentUri: v.pipe(v.string(), v.maxLength(8192)),
  startLine: count,
  startCharacter: count,
  endLine: count,
  endCharacter: count,
});
export type SourceRange = v.InferOutput<typeof SourceRangeSchema>;

export const ModelInfoSchema = v.object({
  name: shortText,
  dtype: v.picklist(['fp32', 'q8']),
  layers: count,
  heads: count,
  /** A project-built model with random weights: its predictions mean nothing. */
  isTestModel: v.boolean(),
  quantized: v.boolean(),
});
export type ModelInfoView = v.InferOutput<typeof ModelInfoSchema>;

export const SentimentSchema = v.object({
  labels: v.pipe(v.array(shortText), v.maxLength(1000)),
  probabilities: v.pipe(v.array(v.number()), v.maxLength(1000)),
  logits: v.pipe(v.array(v.number()), v.maxLength(1000)),
});
export type Sentiment = v.InferOutput<typeof SentimentSchema>;

export const TimingsSchema = v.object({ tokenizeMs: v.number(), inferenceMs: v.number(), totalMs: v.number() });

export const TruncationSchema = v.object({ textTokens: count, keptTextTokens: count, analysedEnd: count });

/** Everything about an analysis except its binary parts (what survives a reload as JSON). */
const summaryEntries = {
  id: v.pipe(v.string(), v.maxLength(64)),
  source: SourceRangeSchema,
  text: v.pipe(v.string(), v.maxLength(1_100_000)),
  model: ModelInfoSchema,
  sentiment: SentimentSchema,
  timings: TimingsSchema,
  truncation: v.optional(TruncationSchema),
};

/** The attention a first view needs: each layer's mean over heads, `Float32Array [layers, n, n]`. */
export const AttentionSummarySchema = v.pipe(
  v.object({ layers: count, heads: count, n: count, headMeans: binary }),
  v.check((attention) => attention.headMeans.byteLength === attention.layers * attention.n * attention.n * 4, 'head means have the wrong size'),
);

/** What the panel shows for one analysis. */
export const AnalysisViewSchema = v.object({
  ...summaryEntries,
  tokens: TokenTableSchema,
  /** Absent when the host no longer holds the tensors (after a reload, or evicted to save memory). */
  attention: v.optional(AttentionSummarySchema),
});
export type AnalysisView = v.InferOutput<typeof AnalysisViewSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Requests a webview makes of the host, and what the host answers.

export const RevealTokenRequestSchema = v.object({
  kind: v.literal('revealToken'),
  analysisId: v.pipe(v.string(), v.maxLength(64)),
  tokenIndex: count,
});

/** How maps are shown: without special tokens, with word pieces merged into words. */
export const DisplayOptionsSchema = v.object({ hideSpecial: v.boolean(), mergeWords: v.boolean() });
export type DisplayOptions = v.InferOutput<typeof DisplayOptionsSchema>;

const analysisId = v.pipe(v.string(), v.maxLength(64));

/** One head's full map. */
export const HeadMapRequestSchema = v.object({ kind: v.literal('headMap'), analysisId, layer: count, head: count, options: DisplayOptionsSchema });
/** Every head of one layer, full size (the head view). */
export const LayerMapsRequestSchema = v.object({ kind: v.literal('layerMaps'), analysisId, layer: count, options: DisplayOptionsSchema });
/** Every head, downsampled to at most `size`² (the model view's grid). */
export const GridRequestSchema = v.object({ kind: v.literal('grid'), analysisId, size: v.pipe(count, v.minValue(4), v.maxValue(256)), options: DisplayOptionsSchema });
export const AggregateKindSchema = v.picklist(['mean', 'max', 'rollout', 'flow']);
export const AggregateRequestSchema = v.object({ kind: v.literal('aggregate'), analysisId, aggregate: AggregateKindSchema, layer: count, options: DisplayOptionsSchema });
export const HeadStatsRequestSchema = v.object({ kind: v.literal('headStats'), analysisId });
/** One head and one query token, from the model's own q and k (the neuron view). */
export const NeuronRequestSchema = v.object({ kind: v.literal('neuron'), analysisId, layer: count, head: count, query: count });
/** Save what the webview rendered (PNG bytes, SVG/CSV/JSON text) through the host's save dialog. */
export const ExportRequestSchema = v.object({
  kind: v.literal('export'),
  format: v.picklist(['png', 'svg', 'csv', 'json']),
  suggestedName: v.pipe(v.string(), v.maxLength(200), v.regex(/^[\w.() -]+$/, 'a plain file name')),
  content: v.union([v.pipe(v.string(), v.maxLength(256 * 1024 * 1024)), binary]),
});
/** Save the whole attention tensor behind the grid (written by the worker, which holds it). */
export const ExportTensorRequestSchema = v.object({ kind: v.literal('exportTensor'), analysisId, format: v.picklist(['csv', 'json']) });
/** Analyse the same document range again (after a reload, the tensors are gone). */
export const ReanalyzeRequestSchema = v.object({ kind: v.literal('reanalyze'), analysisId });

const headRef = v.object({ layer: count, head: count });
/** Every head switched off alone, in one batched run: Δ of the predicted label per head. */
export const HeadImportanceRequestSchema = v.object({ kind: v.literal('headImportance'), analysisId });
export const OcclusionModeSchema = v.picklist(['mask', 'remove']);
export const OcclusionUnitSchema = v.picklist(['token', 'word']);
/** Occlusion (each token or word masked or removed, batched) next to [CLS] rollout and flow. */
export const AttributionRequestSchema = v.object({ kind: v.literal('attribution'), analysisId, mode: OcclusionModeSchema, unit: OcclusionUnitSchema });
/** The prediction with some heads switched off (or all but them). */
export const AblateRequestSchema = v.object({ kind: v.literal('ablate'), analysisId, heads: v.pipe(v.array(headRef), v.maxLength(10_000)), keepOnly: v.boolean() });
/** Tint the editor by the attribution last computed for this analysis. */
export const ShowAttributionRequestSchema = v.object({ kind: v.literal('showAttribution'), analysisId });
/** Two analyses side by side, and one head's attention difference where their tokens align. */
export const CompareRequestSchema = v.object({ kind: v.literal('compare'), analysisId, otherId: analysisId, layer: count, head: count });
/** The analyses the host remembers (to pick one to compare with). */
export const RecentAnalysesRequestSchema = v.object({ kind: v.literal('recentAnalyses') });

export const WebviewRequestSchema = v.variant('kind', [
  HeadImportanceRequestSchema,
  AttributionRequestSchema,
  AblateRequestSchema,
  ShowAttributionRequestSchema,
  CompareRequestSchema,
  RecentAnalysesRequestSchema,
  RevealTokenRequestSchema,
  HeadMapRequestSchema,
  LayerMapsRequestSchema,
  GridRequestSchema,
  AggregateRequestSchema,
  HeadStatsRequestSchema,
  NeuronRequestSchema,
  ExportRequestSchema,
  ExportTensorRequestSchema,
  ReanalyzeRequestSchema,
]);
export type WebviewRequest = v.InferOutput<typeof WebviewRequestSchema>;

/** Per-head statistics as the engine computes them (Clark et al.). */
export type HeadStatisticsView = HeadStatistics;

export interface PredictionView {
  label: number;
  probabilities: number[];
}

/** A remembered analysis, as the compare view lists it. */
export interface AnalysisListEntry {
  id: string;
  /** The first characters of the analysed text. */
  preview: string;
  documentName: string;
  sentiment: Sentiment;
}

/** The result type of each request kind. Float32 buffers unless noted. */
export interface WebviewRequestResults {
  headImportance: PredictionView & { deltas: number[][]; normalised: number[][] };
  attribution: PredictionView & {
    mode: 'mask' | 'remove';
    unit: 'token' | 'word';
    units: Array<{ indices: number[]; delta: number; probabilities: number[] }>;
    /** Per token: the Δ of its unit (NaN for special tokens). */
    occlusion: ArrayBuffer;
    rollout: ArrayBuffer;
    /** Empty above the flow limit. */
    flow: ArrayBuffer;
  };
  ablate: { original: PredictionView; probabilities: number[]; delta: number };
  showAttribution: { shown: boolean };
  compare: {
    a: AnalysisListEntry;
    b: AnalysisListEntry;
    statisticsA: HeadStatisticsView[];
    statisticsB: HeadStatisticsView[];
    pairs: Array<[number, number]>;
    labels: string[];
    /** `[m, m]`: A − B over the aligned tokens. */
    difference: ArrayBuffer;
  };
  recentAnalyses: { analyses: AnalysisListEntry[] };
  revealToken: { revealed: boolean };
  headMap: { labels: string[]; map: ArrayBuffer };
  layerMaps: { labels: string[]; maps: ArrayBuffer };
  grid: { labels: string[]; size: number; thumbnails: ArrayBuffer };
  aggregate: { labels: string[]; map: ArrayBuffer };
  headStats: { heads: HeadStatisticsView[] };
  neuron: { query: ArrayBuffer; keys: ArrayBuffer; scale: number; probabilities: ArrayBuffer; labels: string[] };
  /** The saved file's path, or null when the user cancelled the dialog. */
  export: { path: string | null };
  exportTensor: { path: string | null };
  reanalyze: { started: boolean };
}

// ---------------------------------------------------------------------------------------------------------------
// Webview → host.

export const ReadyMessageSchema = v.object({ type: v.literal('ready') });

export const RequestMessageSchema = v.object({
  type: v.literal('request'),
  requestId: count,
  request: WebviewRequestSchema,
});

/** Reported by the webview's `securitypolicyviolation` listener, so a CSP regression shows in the log. */
export const CspViolationMessageSchema = v.object({
  type: v.literal('cspViolation'),
  directive: shortText,
  blockedUri: shortText,
});

export const WebviewToHostSchema = v.variant('type', [
  ReadyMessageSchema,
  RequestMessageSchema,
  CspViolationMessageSchema,
]);
export type WebviewToHostMessage = v.InferOutput<typeof WebviewToHostSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Host → webview.

export const ShowAnalysisMessageSchema = v.object({
  type: v.literal('showAnalysis'),
  analysis: AnalysisViewSchema,
});

export const PANEL_TABS = ['model', 'head', 'aggregates', 'neuron', 'explain', 'compare', 'playground', 'tokens'] as const;
export const PanelTabSchema = v.picklist(PANEL_TABS);
export type PanelTab = v.InferOutput<typeof PanelTabSchema>;

/**
 * Where the panel should look (hover links, Open Playground, Explain Sentiment): a tab, a head, a query token, or
 * the sentiment card. Indices are 0-based; the webview clamps them to the analysis.
 */
export const PanelFocusSchema = v.object({
  tab: v.optional(PanelTabSchema),
  layer: v.optional(count),
  head: v.optional(count),
  /** The neuron view's query token (a raw token index). */
  query: v.optional(count),
  /** Open the head large in the model view. */
  focus: v.optional(v.boolean()),
  /** Scroll to and focus a part of the page. */
  section: v.optional(v.picklist(['sentiment'])),
  /** The analysis the compare view sets against the shown one. */
  compareWith: v.optional(analysisId),
});
export type PanelFocus = v.InferOutput<typeof PanelFocusSchema>;

export const FocusMessageSchema = v.object({ type: v.literal('focus'), target: PanelFocusSchema });

/** The shown analysis's text was edited: its weights no longer describe the document. */
export const StaleMessageSchema = v.object({ type: v.literal('stale'), analysisId, stale: v.boolean() });

export const ResponseMessageSchema = v.variant('ok', [
  v.object({ type: v.literal('response'), requestId: count, ok: v.literal(true), result: v.unknown() }),
  v.object({ type: v.literal('response'), requestId: count, ok: v.literal(false), error: shortText }),
]);
export type ResponseMessage = v.InferOutput<typeof ResponseMessageSchema>;

/**
 * The grid of every head for an analysis about to be shown, sent just before it at the size and options the panel
 * last asked for: the panel draws it without a request of its own (one round trip less between select and heatmap).
 */
export const GridPrefetchMessageSchema = v.object({
  type: v.literal('gridPrefetch'),
  analysisId,
  requestedSize: v.pipe(count, v.minValue(4), v.maxValue(256)),
  options: DisplayOptionsSchema,
  labels: v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(1024)),
  size: count,
  thumbnails: binary,
});

export const HostToWebviewSchema = v.union([ShowAnalysisMessageSchema, GridPrefetchMessageSchema, FocusMessageSchema, StaleMessageSchema, ResponseMessageSchema]);
export type HostToWebviewMessage = v.InferOutput<typeof HostToWebviewSchema>;

// ---------------------------------------------------------------------------------------------------------------
// What a panel keeps across reloads (`getState`/`setState`, and the host's serializer). Plain JSON: VS Code stores
// webview state as JSON, so the binary columns are expanded here.

export const TokenRowSchema = v.object({
  id: v.pipe(v.number(), v.integer()),
  text: v.pipe(v.string(), v.maxLength(256)),
  start: count,
  end: count,
  special: v.boolean(),
});
export type TokenRow = v.InferOutput<typeof TokenRowSchema>;

export const PanelStateSchema = v.object({
  version: v.literal(3),
  analysis: v.optional(
    v.object({
      ...summaryEntries,
      tokens: v.pipe(v.array(TokenRowSchema), v.maxLength(100_000)),
    }),
  ),
  /** Which view, head and options the panel showed (the webview checks its own shape). */
  view: v.optional(v.unknown()),
});
export type PanelState = v.InferOutput<typeof PanelStateSchema>;
export type PanelAnalysisState = NonNullable<PanelState['analysis']>;

/** Parses an untrusted value; returns the issues as one line instead of throwing. */
export function parseMessage<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
): { ok: true; value: v.InferOutput<TSchema> } | { ok: false; reason: string } {
  const result = v.safeParse(schema, input);
  if (result.success) {
    return { ok: true, value: result.output };
  }
  const reason = result.issues
    .slice(0, 3)
    .map((issue) => {
      const path = v.getDotPath(issue);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
  return { ok: false, reason };
}

// ---------------------------------------------------------------------------------------------------------------
// The side view (a webview view in the activity bar): the model's state, the current analysis, recent ones, and
// live mode. The host sends one state message whenever any of it changes; the view sends commands back.

export const MODEL_ACTIONS = ['download', 'cancelDownload', 'retry', 'selectModel', 'openSettings', 'showLog'] as const;
export const ModelActionSchema = v.picklist(MODEL_ACTIONS);
export type ModelAction = v.InferOutput<typeof ModelActionSchema>;

export const SideModelSchema = v.object({
  state: v.picklist(['unknown', 'not-downloaded', 'downloaded', 'downloading', 'loading', 'ready', 'error']),
  /** One sentence for people, e.g. "Downloading … 45%" or the error with what to do. */
  text: shortText,
  /** Download progress, 0–100. */
  percent: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  actions: v.pipe(v.array(v.object({ action: ModelActionSchema, label: shortText })), v.maxLength(6)),
});

export const SideAnalysisSchema = v.object({
  id: analysisId,
  label: shortText,
  probability: v.number(),
  labels: v.pipe(v.array(v.object({ label: shortText, probability: v.number() })), v.maxLength(100)),
  documentName: shortText,
  /** 1-based line of the analysed text's start. */
  line: count,
  preview: shortText,
  stale: v.boolean(),
  isTestModel: v.boolean(),
});
export type SideAnalysis = v.InferOutput<typeof SideAnalysisSchema>;

export const SideStateMessageSchema = v.object({
  type: v.literal('sideState'),
  model: SideModelSchema,
  current: v.optional(
    v.object({
      ...SideAnalysisSchema.entries,
      /** Tokens as shown, with [CLS]'s rollout share of each (0 for special tokens); absent without attention. */
      tokens: v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(1024)),
      importance: v.optional(v.pipe(v.array(v.number()), v.maxLength(1024))),
    }),
  ),
  recent: v.pipe(v.array(SideAnalysisSchema), v.maxLength(50)),
  liveMode: v.boolean(),
  /** What live mode is doing, when it is on. */
  liveStatus: v.optional(shortText),
  /** The view's fixed words, localised by the host. */
  strings: v.record(v.pipe(v.string(), v.maxLength(64)), shortText),
});
export type SideStateMessage = v.InferOutput<typeof SideStateMessageSchema>;

export const SideCommandSchema = v.variant('command', [
  v.object({ command: v.literal('analyzeSelection') }),
  v.object({ command: v.literal('showPanel') }),
  v.object({ command: v.literal('openRecent'), analysisId }),
  v.object({ command: v.literal('setLiveMode'), enabled: v.boolean() }),
  v.object({ command: v.literal('modelAction'), action: ModelActionSchema }),
]);
export type SideCommand = v.InferOutput<typeof SideCommandSchema>;

export const SideToHostSchema = v.variant('type', [ReadyMessageSchema, v.object({ type: v.literal('command'), command: SideCommandSchema }), CspViolationMessageSchema]);
export type SideToHostMessage = v.InferOutput<typeof SideToHostSchema>;
