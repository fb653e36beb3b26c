/**
 * Everything that crosses between the attention panel's webview and the extension host, declared once: the requests
 * the host serves (the analysis views, forwarded to the worker, plus the host's own), the events each side accepts,
 * and the state the panel keeps across reloads. Both sides type their calls and handlers from these tables
 * (`RpcChannel` in `rpc.ts`), and the host checks every incoming message against them.
 *
 * This module must stay free of `vscode` and Node imports: the webview bundles import it too.
 */
import * as v from 'valibot';
import { analysisId, AnalysisSchema, count, DisplayOptionsSchema, type AnalysisListEntry } from './analysis';
import { ANALYSIS_VIEW_REQUESTS, MAX_THUMBNAIL } from './analysisViews';
import { ATTENTION_VIEW_TABS } from './attentionFile';
import { event, request, type Peer } from './rpc';
import { WEBVIEW_EVENTS } from './webviewEvents';

export const PANEL_TABS = ['model', 'head', 'aggregates', 'neuron', 'explain', 'generate', 'compare', 'playground', 'tokens'] as const;
export const PanelTabSchema = v.picklist(PANEL_TABS);
export type PanelTab = v.InferOutput<typeof PanelTabSchema>;

export const EXPORT_FORMATS = ['png', 'svg', 'csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** An ArrayBuffer from the receiving realm (structured clone recreates it there). */
const binary = v.custom<ArrayBuffer>((input) => input instanceof ArrayBuffer, 'expected an ArrayBuffer');

/** Requests the host answers itself (the rest are analysis views, answered by the worker). */
export const PANEL_HOST_REQUESTS = {
  /** Selects a token's characters in the editor. */
  revealToken: request(v.object({ analysisId, tokenIndex: count })).returns<{ revealed: boolean }>(),
  /** Saves what the webview rendered (PNG bytes, SVG/CSV/JSON text) through the host's save dialog. */
  export: request(
    v.object({
      format: v.picklist(EXPORT_FORMATS),
      suggestedName: v.pipe(v.string(), v.maxLength(200), v.regex(/^[\w.() -]+$/, 'a plain file name')),
      content: v.union([v.pipe(v.string(), v.maxLength(256 * 1024 * 1024)), binary]),
    }),
  ).returns<{ path: string | null }>(),
  /**
   * Saves the whole attention tensor behind the grid (written by the worker, which holds it); JSON is an attention
   * file, which opens on `view` (the tab, layer and head the panel shows).
   */
  exportTensor: request(
    v.object({
      analysisId,
      format: v.picklist(['csv', 'json']),
      view: v.optional(v.object({ tab: v.picklist(ATTENTION_VIEW_TABS), layer: count, head: count })),
    }),
  ).returns<{ path: string | null }>(),
  /**
   * Saves one head's map with the view's display options, written by the worker a few rows at a time (a long
   * input's map is more text than the page should build): the same CSV matrix or JSON object as `export`'s.
   */
  exportHeadMap: request(
    v.object({
      analysisId,
      format: v.picklist(['csv', 'json']),
      suggestedName: v.pipe(v.string(), v.maxLength(200), v.regex(/^[\w.() -]+$/, 'a plain file name')),
      layer: count,
      head: count,
      options: DisplayOptionsSchema,
      caption: v.pipe(v.string(), v.maxLength(1000)),
    }),
  ).returns<{ path: string | null }>(),
  /** Analyses the same document range again (after a reload, the tensors are gone). */
  reanalyze: request(v.object({ analysisId })).returns<{ started: boolean }>(),
  /** Tints the editor by the attribution last computed for this analysis. */
  showAttribution: request(v.object({ analysisId })).returns<{ shown: boolean }>(),
  /** Writes generated text into the editor right after the analysed range (refused if the text changed since). */
  insertGenerated: request(v.object({ analysisId, text: v.pipe(v.string(), v.maxLength(100_000)) })).returns<{ inserted: boolean }>(),
  /** The analyses the host remembers (to pick one to compare with). */
  recentAnalyses: request(v.object({})).returns<{ analyses: AnalysisListEntry[] }>(),
};

/** What the host serves and accepts from the panel. */
export const PANEL_HOST = {
  requests: { ...ANALYSIS_VIEW_REQUESTS, ...PANEL_HOST_REQUESTS },
  events: WEBVIEW_EVENTS,
} satisfies Peer;
export type PanelHost = typeof PANEL_HOST;
export type PanelRequests = PanelHost['requests'];

/**
 * Where the panel should look (hover links, Open Playground, Explain Prediction): a tab, a head, a query token, or
 * the prediction card. Indices are 0-based; the webview clamps them to the analysis.
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
  section: v.optional(v.picklist(['prediction'])),
  /** The analysis the compare view sets against the shown one. */
  compareWith: v.optional(analysisId),
});
export type PanelFocus = v.InferOutput<typeof PanelFocusSchema>;

const thumbnails = v.variant('dtype', [
  v.object({
    dtype: v.literal('float32'),
    values: v.custom<Float32Array>((input) => input instanceof Float32Array, 'expected a Float32Array'),
  }),
  v.object({
    dtype: v.literal('bfloat16'),
    bits: v.custom<Uint16Array>((input) => input instanceof Uint16Array, 'expected a Uint16Array'),
  }),
]);

/** What the panel's webview accepts from the host. */
export const PANEL_WEBVIEW = {
  requests: {},
  events: {
    /**
     * The analysis to show (null: nothing), and whether the worker still holds its attention (after a window reload,
     * or once evicted, only the analysis itself is left: the views that read attention ask for a new analysis).
     */
    showAnalysis: event(v.object({ analysis: v.nullable(AnalysisSchema), attentionHeld: v.boolean(), stale: v.boolean() })),
    /**
     * The grid of every head for an analysis about to be shown, sent just before it at the size and options the
     * panel last asked for: the panel draws it without a request of its own (one round trip less).
     */
    gridPrefetch: event(
      v.object({
        analysisId,
        requestedSize: v.pipe(count, v.minValue(4), v.maxValue(MAX_THUMBNAIL)),
        options: DisplayOptionsSchema,
        labels: v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(100_000)),
        size: count,
        thumbnails,
      }),
    ),
    focus: event(v.object({ target: PanelFocusSchema })),
    /** The shown analysis's text was edited: its weights no longer describe the document. */
    stale: event(v.object({ analysisId, stale: v.boolean() })),
  },
} satisfies Peer;
export type PanelWebview = typeof PANEL_WEBVIEW;

/**
 * What a panel keeps across reloads (`getState`/`setState`): the analysis it showed, to draw it at once, and which
 * view, head and options (the webview checks their shape). The host restores its own copy of the analysis, never
 * this one: webview state is the page's word.
 */
export const PanelStateSchema = v.object({
  version: v.literal(4),
  analysis: v.optional(AnalysisSchema),
  view: v.optional(v.unknown()),
});
export type PanelState = v.InferOutput<typeof PanelStateSchema>;
