/**
 * Text generation, read from one forward pass of a causal language model over the text: the most probable next
 * tokens after it, and for each of its tokens the probability the model gave it from the tokens before (its
 * surprisal is −log₂ p) with the token it expected most there.
 */
import type { TextGeneration, TokenRow } from '../../shared/analysis';
import type { PredictionReadout } from '../decoderSession';
import { topCandidates } from './candidates';

/** How many next-token candidates an analysis reports (the CLI contract's `nextToken.top`). */
export const NEXT_TOKEN_TOP_K = 10;

/**
 * `nextLogits` `[vocab]`: the last position's logits; `readout`: each token's log-probability and each position's most
 * probable next token, computed in the graph (position i predicting token i + 1).
 */
export function textGeneration(
  nextLogits: Float32Array,
  readout: PredictionReadout,
  tokens: readonly TokenRow[],
  tokenOf: (id: number) => string,
): TextGeneration {
  const tokenProbabilities = tokens.map((_, index) => (index === 0 ? -1 : Math.exp(readout.tokenLogProbs[index - 1]!)));
  const expected: TextGeneration['expected'] = tokens.map((_, index) => {
    if (index === 0) return null;
    const id = Number(readout.expectedIds[index - 1]);
    return { id, token: tokenOf(id), probability: Math.exp(readout.expectedLogProbs[index - 1]!) };
  });
  return { task: 'text-generation', next: topCandidates(nextLogits, NEXT_TOKEN_TOP_K, tokenOf), tokenProbabilities, expected };
}
