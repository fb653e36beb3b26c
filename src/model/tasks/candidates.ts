/**
 * The most probable tokens of one vocabulary-sized logit row (a mask's, or the next token's), with their softmax
 * probabilities at a temperature, found in one pass without sorting the vocabulary.
 */
import type { Candidate } from '../../shared/analysis';

/** `softmax(row / temperature)`'s k largest entries, most probable first; `tokenOf` names an id. */
export function topCandidates(row: ArrayLike<number>, k: number, tokenOf: (id: number) => string, temperature = 1): Candidate[] {
  let max = -Infinity;
  for (let id = 0; id < row.length; id += 1) if (row[id]! > max) max = row[id]!;
  let sum = 0;
  for (let id = 0; id < row.length; id += 1) sum += Math.exp((row[id]! - max) / temperature);
  const best: Array<{ id: number; logit: number }> = [];
  for (let id = 0; id < row.length; id += 1) {
    const logit = row[id]!;
    if (best.length === k && logit <= best[k - 1]!.logit) continue;
    const at = best.findIndex((entry) => logit > entry.logit);
    best.splice(at < 0 ? best.length : at, 0, { id, logit });
    if (best.length > k) best.pop();
  }
  return best.map(({ id, logit }) => ({ id, token: tokenOf(id), probability: Math.exp((logit - max) / temperature) / sum }));
}
