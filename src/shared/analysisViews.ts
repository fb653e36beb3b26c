/**
 * The requests answered from an analysis's attention tensors, which only the analysis worker holds: maps, grids,
 * aggregates, statistics, the neuron view, and the interventions that explain a prediction. Declared once: the
 * panel's protocol includes this table as it is, the worker serves it, and the host forwards each request without
 * a line of its own (`src/views/attentionPanel.ts`). Adding a view is one entry here and its handler in the worker.
 *
 * Every typed array in a result is the handler's own (it is transferred, not copied, to the host).
 */
import * as v from 'valibot';
import type { HeadStatistics } from '../engine/statistics';
import { analysisId, count, DisplayOptionsSchema, type Candidate } from './analysis';
import { fromBfloat16, toBfloat16 } from './bfloat16';
import { request } from './rpc';

/** A map with the labels of its rows and columns (after the display options). */
export interface LabelledMap {
  labels: string[];
  /** The token indices behind each row and column (one each, or a word's pieces when merged). */
  groups: number[][];
  /** `[m, m]`, m = the labels' count. */
  map: Float32Array;
}

export const AGGREGATE_KINDS = ['mean', 'max', 'rollout', 'flow'] as const;
export type AggregateKind = (typeof AGGREGATE_KINDS)[number];

export const OCCLUSION_MODES = ['mask', 'remove'] as const;
export type OcclusionMode = (typeof OCCLUSION_MODES)[number];
export const OCCLUSION_UNITS = ['token', 'word'] as const;
export type OcclusionUnit = (typeof OCCLUSION_UNITS)[number];

/**
 * What an intervention watches: the probabilities at one token (a classifier's first token, the token whose label is
 * explained, or a mask) over `labels` (every label; for fill-mask, the mask's most probable tokens).
 */
export interface Prediction {
  /** The label index predicted without intervention. */
  label: number;
  probabilities: number[];
  labels: string[];
  /** The token whose output is explained. */
  position: number;
}

/** Which token's prediction an intervention explains (token classification: a token; fill-mask: a mask). */
export const ExplainTargetSchema = v.optional(v.object({ position: count }));

export interface HeadImportance extends Prediction {
  /** `[layers][heads]`: Δ probability of the predicted label when that head alone is switched off. */
  deltas: number[][];
  /** `[layers][heads]`: the drops (−Δ) normalised as Michel et al. do (per-layer L2, then global min-max). */
  normalised: number[][];
}

export interface OcclusionResult extends Prediction {
  mode: OcclusionMode;
  unit: OcclusionUnit;
  /** One entry per occluded unit (non-special tokens, or words), in text order. */
  units: Array<{ indices: number[]; delta: number; probabilities: number[] }>;
}

/** Occlusion next to the explained token's rollout and flow (a text classifier's: [CLS]'s), per token. */
export interface Attribution extends OcclusionResult {
  /** Per token: the Δ of its unit (NaN for special tokens). */
  occlusion: Float32Array;
  /** Per token: the explained token's rollout row through all layers. */
  rollout: Float32Array;
  /** Per token: the explained token's attention-flow row (empty above the flow limit). */
  flow: Float32Array;
}

export interface Ablation {
  original: Prediction;
  /** The probabilities with the masked heads switched off. */
  probabilities: number[];
  /** Δ of the originally predicted label. */
  delta: number;
}

/** Two analyses side by side. */
export interface Comparison {
  /** Per-head statistics of each analysis, in the same order (layer-major). */
  statisticsA: HeadStatistics[];
  statisticsB: HeadStatistics[];
  /** Token pairs `[i in a, j in b]` with equal text, in order (the longest common subsequence). */
  pairs: Array<[number, number]>;
  labels: string[];
  /** `[m, m]` over the aligned tokens: attention in A minus attention in B for the chosen head. */
  difference: Float32Array;
}

/** One head's query against every key, from the model's own tensors (the neuron view). */
export interface Neuron {
  /** The query vector `q` of the chosen token, `[d]` (unscaled). */
  query: Float32Array;
  /** Every key vector, `[n, d]`. */
  keys: Float32Array;
  /** `1/√d`, the scale between `q · k` and the score. */
  scale: number;
  /** The head's attention row for that query, as the model reported it. */
  probabilities: Float32Array;
  labels: string[];
}

/** One generated token, with the attention of the query that chose it. */
export interface GeneratedToken {
  id: number;
  token: string;
  /** Its probability under the distribution it was drawn from. */
  probability: number;
  /** Positions it attended to: the text's tokens and the tokens generated before it. */
  positions: number;
  /** `[layers, heads, positions]`. */
  attention: Float32Array;
}

export interface GenerationStepResult {
  step: GeneratedToken | null;
  /** Everything generated so far, decoded as one text (what "insert into the editor" writes). */
  text: string;
  /** The model ended the text, or its context is full: no more steps. */
  done: boolean;
}

/**
 * How far a heavy job (sweep, occlusion, ablation) has come: `done` of `total` units of work; `queued` > 0 while it
 * waits behind that many jobs (heavy jobs run one at a time).
 */
export interface JobProgress {
  done: number;
  total: number;
  queued?: number;
  /** Occlusion: the units finished since the last report (token indices, change of the watched probability). */
  occluded?: Array<{ indices: number[]; delta: number }>;
}

/** 0 is greedy; sampling at more than a few degrees of temperature is noise. */
export const MAX_TEMPERATURE = 5;
const temperature = v.pipe(v.number(), v.minValue(0), v.maxValue(MAX_TEMPERATURE));

const of = { analysisId };
const options = DisplayOptionsSchema;
const headRef = v.object({ layer: count, head: count });

/** The largest grid thumbnail, in cells per side. */
export const MAX_THUMBNAIL = 256;

/** The attention cells one grid request pools at most (a DistilBERT grid at 512 tokens is 19 M: one request). */
const GRID_CELLS_PER_REQUEST = 2 ** 25;

/** How many layers one grid request covers: all of them, but for long inputs a few (at least one) at a time. */
export function gridLayersPerRequest(layers: number, heads: number, n: number): number {
  return Math.max(1, Math.min(layers, Math.floor(GRID_CELLS_PER_REQUEST / (heads * n * n))));
}

/** Every head's thumbnail, `[layers, heads, s, s]`, with the `m` row labels they show (s ≤ m). */
export interface Grid {
  labels: string[];
  size: number;
  thumbnails: Float32Array;
}

/**
 * A grid as it travels: float32 when the thumbnails are the maps themselves (s = m: the grid's hover reads them as the
 * model's weights), bfloat16 when they are pooled, which are only drawn (hover reads the head's full map instead):
 * half the bytes through code-server's connection, which compresses every message.
 */
export interface GridMessage {
  labels: string[];
  size: number;
  thumbnails: { dtype: 'float32'; values: Float32Array } | { dtype: 'bfloat16'; bits: Uint16Array };
}

/** A grid as it is sent (see {@link GridMessage}). */
export function gridMessage({ labels, size, thumbnails }: Grid): GridMessage {
  const pooled = size < labels.length;
  return {
    labels,
    size,
    thumbnails: pooled ? { dtype: 'bfloat16', bits: toBfloat16(thumbnails) } : { dtype: 'float32', values: thumbnails },
  };
}

/** The grid a {@link GridMessage} carries, as float32 thumbnails. */
export function gridOfMessage({ labels, size, thumbnails }: GridMessage): Grid {
  return { labels, size, thumbnails: thumbnails.dtype === 'float32' ? thumbnails.values : fromBfloat16(thumbnails.bits) };
}

export const ANALYSIS_VIEW_REQUESTS = {
  /** One head's full map. */
  headMap: request(v.object({ ...of, layer: count, head: count, options })).returns<LabelledMap>(),
  /** Every head of one layer, full size (the head view): `maps` is `[heads, m, m]`. */
  layerMaps: request(v.object({ ...of, layer: count, options })).returns<{ labels: string[]; maps: Float32Array }>(),
  /**
   * Every head, downsampled to at most `size`² by the maximum of each block: `[layers, heads, s, s]`; with `layers`,
   * only those (`[count, heads, s, s]`), so that a long input's grid arrives a few rows at a time, the top first.
   */
  grid: request(
    v.object({
      ...of,
      size: v.pipe(count, v.minValue(4), v.maxValue(MAX_THUMBNAIL)),
      options,
      layers: v.optional(v.object({ first: count, count: v.pipe(count, v.minValue(1)) })),
    }),
  ).returns<GridMessage>(),
  /** Mean or max over a layer's heads, rollout up to a layer, or flow through all of them. */
  aggregate: request(v.object({ ...of, aggregate: v.picklist(AGGREGATE_KINDS), layer: count, options })).returns<LabelledMap>(),
  /**
   * The mean over every layer of each layer's mean over heads, `[n, n]`: the editor's default lens (hovers, tint) for
   * an input so long that its head means stay in the worker.
   */
  meanOverLayers: request(v.object(of)).returns<{ map: Float32Array }>(),
  /** Per-head statistics (Clark et al.) with each head's mean row entropy. */
  headStats: request(v.object(of)).returns<{ heads: HeadStatistics[] }>(),
  /** One head and one query token, from the model's own q and k. */
  neuron: request(v.object({ ...of, layer: count, head: count, query: count })).returns<Neuron>(),
  /** Every head switched off alone, in one batched run: Δ of the predicted label per head. */
  headImportance: request(v.object({ ...of, target: ExplainTargetSchema })).returns<HeadImportance, JobProgress>(),
  /** Occlusion (each token or word masked or removed, batched) next to [CLS] rollout and flow. */
  attribution: request(
    v.object({ ...of, mode: v.picklist(OCCLUSION_MODES), unit: v.picklist(OCCLUSION_UNITS), target: ExplainTargetSchema }),
  ).returns<Attribution, JobProgress>(),
  /** The prediction with some heads switched off (or all but them). */
  ablate: request(
    v.object({ ...of, heads: v.pipe(v.array(headRef), v.maxLength(10_000)), keepOnly: v.boolean(), target: ExplainTargetSchema }),
  ).returns<Ablation, JobProgress>(),
  /** A language model's most probable next tokens after the analysed text, at a temperature (0 is read as 1). */
  nextTokens: request(v.object({ ...of, temperature })).returns<{ candidates: Candidate[] }>(),
  /**
   * One generation step after the analysed text, with the key/value cache of everything before: `restart` begins a
   * new generation (greedy at temperature 0, else sampled with the seed), otherwise the current one goes on.
   */
  generate: request(
    v.object({ ...of, restart: v.boolean(), temperature, seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)) }),
  ).returns<GenerationStepResult>(),
  /** Two analyses side by side, and one head's attention difference where their tokens align. */
  compare: request(v.object({ ...of, otherId: analysisId, layer: count, head: count })).returns<Comparison>(),
};
export type AnalysisViewRequests = typeof ANALYSIS_VIEW_REQUESTS;
export type AnalysisViewName = keyof AnalysisViewRequests;
