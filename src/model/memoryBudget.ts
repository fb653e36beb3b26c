/**
 * The worker's tensor budget: what an analysis's attention costs in memory, checked before the model runs, so that an
 * input too long for the machine gets a message saying what would fit instead of an out-of-memory crash of the worker
 * (a thread of the extension host: its crash is the host's). Model weights are not counted: they are loaded once.
 */
import { AnalysisError } from '../shared/errors';

/** 2 GiB: a full-size 0.5B decoder at 2048 tokens on demand (about 1.2 GB) on a 16 GB laptop, with room to spare. */
export const DEFAULT_TENSOR_BUDGET_BYTES = 2 * 1024 ** 3;
/** The setting's bounds, in MiB (package.json declares the same). */
export const TENSOR_BUDGET_MIB = { min: 16, max: 65_536 } as const;

export interface AttentionCost {
  layers: number;
  heads: number;
  /** The width of one head's query and key. */
  headDim: number;
  /** Whether the graph returns queries and keys (maps on demand) rather than every map. */
  onDemand: boolean;
  /** How many `[layers, heads, n, n]` tensors a graph that returns maps writes (probabilities, and scores for encoders). */
  mapOutputs: number;
}

/**
 * The bytes an analysis of `n` tokens holds at its peak: queries and keys (or every map), head means, and one layer's
 * maps computed for a view plus one in the graph while it runs.
 */
export function analysisBytes(cost: AttentionCost, n: number): number {
  const layerMaps = cost.heads * n * n * 4;
  const headMeans = cost.layers * n * n * 4;
  if (cost.onDemand) return cost.layers * 2 * cost.heads * cost.headDim * n * 4 + headMeans + 2 * layerMaps;
  return cost.mapOutputs * cost.layers * layerMaps + headMeans + layerMaps;
}

/** The most tokens whose analysis fits `budget` bytes (0 when not even one does). */
export function maxTokensWithin(cost: AttentionCost, budget: number, upTo: number): number {
  let low = 0;
  let high = upTo;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (analysisBytes(cost, middle) <= budget) low = middle;
    else high = middle - 1;
  }
  return low;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
  return `${Math.max(1, Math.ceil(bytes / 1024))} KiB`;
}

/** Refuses an analysis of `n` tokens that would exceed `budget`, saying how many tokens fit and what else would. */
export function checkBudget(cost: AttentionCost, n: number, budget: number, model: string): void {
  const bytes = analysisBytes(cost, n);
  if (bytes <= budget) return;
  const fits = maxTokensWithin(cost, budget, n);
  const alternatives = cost.onDemand
    ? 'or use a smaller model'
    : 'or use an export whose maps are computed from its queries and keys (an optimum export, or a GroupQueryAttention export without packed, windowed or soft-capped attention: far less memory), or a smaller model';
  throw new AnalysisError(
    'over-budget',
    `Analysing ${n} tokens with ${model} (${cost.layers} layers × ${cost.heads} heads) needs about ${formatBytes(bytes)} for its attention; the analysis worker's budget is ${formatBytes(budget)} (setting attentionExplorer.memory.tensorBudgetMB). Select at most ${fits} tokens, ${alternatives}, or raise the budget.`,
  );
}
