/**
 * What the panel's Explain and Compare views show, computed in the worker next to the tensors: token attribution
 * (occlusion next to [CLS] rollout and flow) and the comparison of two analyses.
 */
import { alignSequences, attentionFlowRow, type HeadStatistics } from '../engine';
import { headSummaries, rolloutOf, type CachedAnalysis } from './attentionViews';
import type { OcclusionMode, OcclusionResult, OcclusionUnit } from './explanations';

/** Flow for one row costs a maximum flow per input token; beyond this many tokens only rollout is offered. */
export const FLOW_ROW_TOKEN_LIMIT = 128;

export interface AttributionView {
  label: number;
  probabilities: number[];
  mode: OcclusionMode;
  unit: OcclusionUnit;
  units: Array<{ indices: number[]; delta: number; probabilities: number[] }>;
  /** Per token: the Δ of its unit (NaN for special tokens). */
  occlusion: Float32Array;
  /** Per token: [CLS]'s rollout row through all layers. */
  rollout: Float32Array;
  /** Per token: [CLS]'s attention-flow row (empty above {@link FLOW_ROW_TOKEN_LIMIT} tokens). */
  flow: Float32Array;
}

export function attributionView(analysis: CachedAnalysis, occlusion: OcclusionResult): AttributionView {
  const { n } = analysis;
  const perToken = new Float32Array(n).fill(Number.NaN);
  for (const unit of occlusion.units) for (const index of unit.indices) perToken[index] = unit.delta;
  const rollout = Float32Array.from(rolloutOf(analysis).row(0));
  const flow = n <= FLOW_ROW_TOKEN_LIMIT ? Float32Array.from(attentionFlowRow(rolloutOf(analysis), 0)) : new Float32Array(0);
  return { ...occlusion, occlusion: perToken, rollout, flow };
}

export interface CompareView {
  /** Per-head statistics of each analysis, in the same order (layer-major). */
  a: HeadStatistics[];
  b: HeadStatistics[];
  /** Token pairs `[i in a, j in b]` with equal text, in order (the longest common subsequence). */
  pairs: Array<[number, number]>;
  labels: string[];
  /** `[m, m]` over the aligned tokens: attention in A minus attention in B for the chosen head. */
  difference: Float32Array;
}

export function compareView(a: CachedAnalysis, b: CachedAnalysis, layer: number, head: number): CompareView {
  const pairs = alignSequences(a.tokens.map((token) => token.text), b.tokens.map((token) => token.text));
  const m = pairs.length;
  const difference = new Float32Array(m * m);
  const mapA = a.layers[layer]!.subarray(head * a.n * a.n, (head + 1) * a.n * a.n);
  const mapB = b.layers[layer]!.subarray(head * b.n * b.n, (head + 1) * b.n * b.n);
  pairs.forEach(([rowA, rowB], row) => {
    pairs.forEach(([colA, colB], col) => {
      difference[row * m + col] = mapA[rowA * a.n + colA]! - mapB[rowB * b.n + colB]!;
    });
  });
  return { a: headSummaries(a), b: headSummaries(b), pairs, labels: pairs.map(([index]) => a.tokens[index]!.text), difference };
}
