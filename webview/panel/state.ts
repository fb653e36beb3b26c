/**
 * What the panel remembers across reloads besides the analysis: the view, the chosen layer/head/token and the
 * display options. Checked on restore like any other input.
 */
import * as v from 'valibot';
import { AGGREGATE_KINDS, MAX_TEMPERATURE, OCCLUSION_MODES, OCCLUSION_UNITS } from '../../src/shared/analysisViews';
import { PANEL_TABS, type PanelTab } from '../../src/shared/panelProtocol';
import { SCHEMES } from '../shared/colorScale';

export const TABS = PANEL_TABS;
export type Tab = PanelTab;

/** The most tokens one press of Generate adds. */
export const MAX_STEPS_PER_RUN = 64;

const index = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000));

export const ViewStateSchema = v.object({
  tab: v.picklist(TABS),
  /** Whether the prediction card shows every label (it is one line otherwise). */
  cardOpen: v.optional(v.boolean(), false),
  /** The head in focus; `focus` opens it large in the model view. */
  layer: index,
  head: index,
  focus: v.boolean(),
  /** The query token of the neuron view (a raw token index). */
  query: index,
  /**
   * The token whose prediction is in focus (a raw index): a mask's, or the token whose label is explained. The
   * heatmaps outline its row and Explain explains its prediction.
   */
  marked: v.optional(index),
  aggregate: v.picklist(AGGREGATE_KINDS),
  hideSpecial: v.boolean(),
  mergeWords: v.boolean(),
  scheme: v.picklist(SCHEMES),
  scale: v.picklist(['linear', 'log']),
  threshold: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
  /** Heads shown in the head view (indices); empty = all. */
  headViewHeads: v.pipe(v.array(index), v.maxLength(1000)),
  /** The Explain view: how occlusion works, heads picked for ablation (`layer * heads + head`), normalised map. */
  explain: v.optional(
    v.object({
      mode: v.picklist(OCCLUSION_MODES),
      unit: v.picklist(OCCLUSION_UNITS),
      ablated: v.pipe(v.array(index), v.maxLength(10_000)),
      normalised: v.boolean(),
    }),
    { mode: 'mask', unit: 'token', ablated: [], normalised: false },
  ),
  /** The Compare view: the other analysis, and the statistic whose differences it maps. */
  compare: v.optional(
    v.object({
      otherId: v.optional(v.pipe(v.string(), v.maxLength(64))),
      statistic: v.picklist(['meanEntropy', 'toCls', 'toSep', 'toPunctuation', 'toPrevious', 'toNext']),
    }),
    { statistic: 'meanEntropy' },
  ),
  /** The Generate view (language models): temperature, greedy or seeded sampling, tokens per run. */
  generate: v.optional(
    v.object({
      temperature: v.pipe(v.number(), v.minValue(0), v.maxValue(MAX_TEMPERATURE)),
      sample: v.boolean(),
      seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
      count: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_STEPS_PER_RUN)),
    }),
    { temperature: 1, sample: false, seed: 0, count: 3 },
  ),
  playground: v.object({
    example: v.picklist(['article', 'random']),
    step: index,
    seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
    n: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(16)),
    d: v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(32)),
    heads: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(8)),
    positional: v.boolean(),
  }),
});
export type ViewState = v.InferOutput<typeof ViewStateSchema>;

export function defaultViewState(layers: number): ViewState {
  return {
    tab: 'model',
    cardOpen: false,
    layer: Math.max(0, layers - 1),
    head: 0,
    focus: false,
    query: 0,
    aggregate: 'mean',
    hideSpecial: false,
    mergeWords: false,
    scheme: 'viridis',
    scale: 'linear',
    threshold: 0,
    headViewHeads: [],
    explain: { mode: 'mask', unit: 'token', ablated: [], normalised: false },
    compare: { statistic: 'meanEntropy' },
    generate: { temperature: 1, sample: false, seed: 0, count: 3 },
    playground: { example: 'article', step: 0, seed: 42, n: 4, d: 8, heads: 2, positional: true },
  };
}

export function restoreViewState(saved: unknown, layers: number): ViewState {
  const parsed = v.safeParse(ViewStateSchema, saved);
  return parsed.success ? parsed.output : defaultViewState(layers);
}
