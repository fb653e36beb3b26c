/**
 * Text generation, read from one forward pass of a causal language model over the text: the most probable next
 * tokens after it, and for each of its tokens the probability the model gave it from the tokens before (its
 * surprisal is −log₂ p) with the token it expected most there.
 */
import type { TextGeneration, TokenRow } from '../../shared/analysis';
import { topCandidates } from './candidates';

/** How many next-token candidates an analysis reports (the CLI contract's `nextToken.top`). */
export const NEXT_TOKEN_TOP_K = 10;

/** `logits` `[n, vocab]`, row i predicting token i + 1. */
export function textGeneration(logits: Float32Array, tokens: readonly TokenRow[], tokenOf: (id: number) => string): TextGeneration {
  const n = tokens.length;
  const vocab = logits.length / n;
  const row = (index: number) => logits.subarray(index * vocab, (index + 1) * vocab);
  const tokenProbabilities: number[] = [-1];
  const expected: TextGeneration['expected'] = [null];
  // One pass per row (a 151,936-token vocabulary makes each pass count): its maximum, where it is, and the sum.
  for (let index = 1; index < n; index += 1) {
    const logits = row(index - 1);
    let best = 0;
    for (let id = 1; id < vocab; id += 1) if (logits[id]! > logits[best]!) best = id;
    const max = logits[best]!;
    let sum = 0;
    for (let id = 0; id < vocab; id += 1) sum += Math.exp(logits[id]! - max);
    tokenProbabilities.push(Math.exp(logits[tokens[index]!.id]! - max) / sum);
    expected.push({ id: best, token: tokenOf(best), probability: 1 / sum });
  }
  return { task: 'text-generation', next: topCandidates(row(n - 1), NEXT_TOKEN_TOP_K, tokenOf), tokenProbabilities, expected };
}
