/**
 * Fill-mask: for every mask token of the text, the most probable tokens at its place (softmax over the vocabulary),
 * as transformers.js's fill-mask pipeline computes them for the first mask (here: for each).
 */
import type { FillMask, TokenRow } from '../../shared/analysis';

export const FILL_MASK_TOP_K = 5;

/** `logits` `[n, vocab]`; `tokenOf` names a vocabulary id. */
export function fillMask(
  logits: Float32Array,
  tokens: readonly TokenRow[],
  maskId: number,
  tokenOf: (id: number) => string,
  topK = FILL_MASK_TOP_K,
): FillMask {
  const n = tokens.length;
  const vocab = n > 0 ? logits.length / n : 0;
  const masks = tokens.flatMap((token, index) => {
    if (token.id !== maskId) return [];
    const row = logits.subarray(index * vocab, (index + 1) * vocab);
    let max = -Infinity;
    for (const value of row) if (value > max) max = value;
    let sum = 0;
    for (const value of row) sum += Math.exp(value - max);
    // The k largest logits, by one pass that keeps a small sorted list.
    const best: Array<{ id: number; logit: number }> = [];
    row.forEach((logit, id) => {
      if (best.length === topK && logit <= best[topK - 1]!.logit) return;
      const at = best.findIndex((entry) => logit > entry.logit);
      best.splice(at < 0 ? best.length : at, 0, { id, logit });
      if (best.length > topK) best.pop();
    });
    return [{ index, top: best.map(({ id, logit }) => ({ id, token: tokenOf(id), probability: Math.exp(logit - max) / sum })) }];
  });
  return { task: 'fill-mask', masks };
}
