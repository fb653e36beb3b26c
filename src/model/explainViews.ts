/**
 * What the panel's Explain and Compare views show, computed in the worker next to the tensors: token attribution
 * (occlusion next to [CLS] rollout and flow) and the comparison of two analyses.
 */
import { alignSequences, attentionFlowRow } from '../engine';
import type { Attribution, Comparison, OcclusionResult } from '../shared/analysisViews';
import { analysisHeadStatistics, analysisRollout, type WorkerAnalysis } from './heldAnalysis';

/** Flow for one row costs a maximum flow per input token; beyond this many tokens only rollout is offered. */
export const FLOW_ROW_TOKEN_LIMIT = 128;

export function attributionOf(analysis: WorkerAnalysis, occlusion: OcclusionResult): Attribution {
  const { n } = analysis;
  const perToken = new Float32Array(n).fill(Number.NaN);
  for (const unit of occlusion.units) for (const index of unit.indices) perToken[index] = unit.delta;
  // What the explained token reads: [CLS] for a text classifier, else the token or mask explained.
  const rollout = Float32Array.from(analysisRollout(analysis).row(occlusion.position));
  const flow =
    n <= FLOW_ROW_TOKEN_LIMIT ? Float32Array.from(attentionFlowRow(analysisRollout(analysis), occlusion.position)) : new Float32Array(0);
  return { ...occlusion, occlusion: perToken, rollout, flow };
}

export async function compareAnalyses(a: WorkerAnalysis, b: WorkerAnalysis, layer: number, head: number): Promise<Comparison> {
  // Two tokenizers write the same word differently (`##ing`, `Ġword`, `▁word`, cased or not): compare the words.
  const plain = (text: string) => text.replace(/^(##|Ġ|▁)/u, '').toLowerCase();
  const pairs = alignSequences(
    a.tokens.map((token) => plain(token.text)),
    b.tokens.map((token) => plain(token.text)),
  );
  const m = pairs.length;
  const difference = new Float32Array(m * m);
  const [mapA, mapB] = await Promise.all([a.maps.head(layer, head), b.maps.head(layer, head)]);
  pairs.forEach(([rowA, rowB], row) => {
    pairs.forEach(([colA, colB], col) => {
      difference[row * m + col] = mapA[rowA * a.n + colA]! - mapB[rowB * b.n + colB]!;
    });
  });
  return {
    statisticsA: await analysisHeadStatistics(a),
    statisticsB: await analysisHeadStatistics(b),
    pairs,
    labels: pairs.map(([index]) => a.tokens[index]!.text),
    difference,
  };
}
