/**
 * Fill-mask: for every mask token of the text, the most probable tokens at its place (softmax over the vocabulary),
 * as transformers.js's fill-mask pipeline computes them for the first mask (here: for each).
 */
import type { FillMask, TokenRow } from '../../shared/analysis';
import { topCandidates } from './candidates';

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
    return [{ index, top: topCandidates(row, topK, tokenOf) }];
  });
  return { task: 'fill-mask', masks };
}
