/**
 * Everything that crosses between the side view (a webview view in the activity bar) and the extension host: the
 * host sends one state message whenever the model, the analyses or live mode change; the view sends commands back.
 *
 * This module must stay free of `vscode` and Node imports: the webview bundles import it too.
 */
import * as v from 'valibot';
import { analysisId, count, shortText } from './analysis';
import { event, type Peer } from './rpc';
import { WEBVIEW_EVENTS } from './webviewEvents';

export const MODEL_ACTIONS = ['download', 'cancelDownload', 'retry', 'selectModel', 'openSettings', 'showLog'] as const;
export const ModelActionSchema = v.picklist(MODEL_ACTIONS);
export type ModelAction = v.InferOutput<typeof ModelActionSchema>;

export const MODEL_STATES = ['unknown', 'not-downloaded', 'downloaded', 'downloading', 'loading', 'ready', 'error'] as const;

export const SideModelSchema = v.object({
  state: v.picklist(MODEL_STATES),
  /** One sentence for people, e.g. "Downloading … 45%" or the error with what to do. */
  text: shortText,
  /** Download progress, 0–100. */
  percent: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  actions: v.pipe(v.array(v.object({ action: ModelActionSchema, label: shortText })), v.maxLength(6)),
});

export const SideAnalysisSchema = v.object({
  id: analysisId,
  label: shortText,
  /** The label's probability, where the prediction has one. */
  probability: v.optional(v.number()),
  labels: v.pipe(v.array(v.object({ label: shortText, probability: v.number() })), v.maxLength(100)),
  documentName: shortText,
  /** 1-based line of the analysed text's start. */
  line: count,
  preview: shortText,
  stale: v.boolean(),
  isTestModel: v.boolean(),
});
export type SideAnalysis = v.InferOutput<typeof SideAnalysisSchema>;

export const SideStateSchema = v.object({
  model: SideModelSchema,
  current: v.optional(
    v.object({
      ...SideAnalysisSchema.entries,
      /** Tokens as shown, with the reader token's rollout share of each (0 for special tokens); absent without attention. */
      tokens: v.pipe(v.array(v.pipe(v.string(), v.maxLength(256))), v.maxLength(1024)),
      /** The token whose rollout `importance` is: [CLS] for a classifier, the mask for fill-mask. */
      reader: v.pipe(v.string(), v.maxLength(256)),
      importance: v.optional(v.pipe(v.array(v.number()), v.maxLength(1024))),
    }),
  ),
  recent: v.pipe(v.array(SideAnalysisSchema), v.maxLength(50)),
  liveMode: v.boolean(),
  /** What live mode is doing, when it is on. */
  liveStatus: v.optional(shortText),
});
export type SideState = v.InferOutput<typeof SideStateSchema>;

export const SideCommandSchema = v.variant('command', [
  v.object({ command: v.literal('analyzeSelection') }),
  v.object({ command: v.literal('showPanel') }),
  v.object({ command: v.literal('openRecent'), analysisId }),
  v.object({ command: v.literal('setLiveMode'), enabled: v.boolean() }),
  v.object({ command: v.literal('modelAction'), action: ModelActionSchema }),
]);
export type SideCommand = v.InferOutput<typeof SideCommandSchema>;

/** What the host accepts from the side view. */
export const SIDE_HOST = {
  requests: {},
  events: { ...WEBVIEW_EVENTS, command: event(v.object({ command: SideCommandSchema })) },
} satisfies Peer;
export type SideHost = typeof SIDE_HOST;

/** What the side view accepts from the host. */
export const SIDE_WEBVIEW = {
  requests: {},
  events: { state: event(SideStateSchema) },
} satisfies Peer;
export type SideWebview = typeof SIDE_WEBVIEW;
