/**
 * What the editor shows about analysed words (hovers, decorations, the side view): which words a word attends to,
 * which attend to it, and how much each token matters to the prediction. Pure math on an analysis's tensors; no
 * `vscode`, so it is unit-tested against the engine.
 *
 * Words follow the engine's merging convention: attention *to* a word is the sum over its pieces, attention *from*
 * a word the mean over its pieces.
 */
import { attentionTensor, groupWordPieces, Rollout, wordTexts } from '../engine';
import type { Prediction, TokenRow } from '../shared/analysis';

/** Rows and columns of one `n × n` attention map, computed only as far as asked. */
export interface AttentionLens {
  readonly n: number;
  /** How much token `i` attends to each token. */
  row(i: number): Float64Array;
  /** How much each token attends to token `j`. */
  column(j: number): Float64Array;
}

/** The mean over heads of one layer (1-based), or of every layer with `layer` 0, from the `[layers, n, n]` head means. */
export function meanLens(headMeans: Float32Array, layers: number, n: number, layer: number): AttentionLens {
  const chosen = layer >= 1 && layer <= layers ? [layer - 1] : Array.from({ length: layers }, (_, index) => index);
  const read = (offsetOf: (l: number, k: number) => number) => {
    const out = new Float64Array(n);
    for (const l of chosen) for (let k = 0; k < n; k += 1) out[k]! += headMeans[offsetOf(l, k)]! / chosen.length;
    return out;
  };
  return {
    n,
    row: (i) => read((l, k) => (l * n + i) * n + k),
    column: (j) => read((l, k) => (l * n + k) * n + j),
  };
}

/** One head's full map (fetched from the worker). */
export function mapLens(map: Float32Array, n: number): AttentionLens {
  return {
    n,
    row: (i) => Float64Array.from(map.subarray(i * n, (i + 1) * n)),
    column: (j) => Float64Array.from({ length: n }, (_, k) => map[k * n + j]!),
  };
}

/** Rollout from the head means: the engine's rollout of a one-head tensor is the rollout of the mean over heads. */
export function rolloutOfHeadMeans(headMeans: Float32Array, layers: number, n: number): Rollout<Float32Array> {
  return Rollout.of(attentionTensor(layers, 1, n, headMeans));
}

/** Rollout up to a layer (1-based; 0 = through every layer). */
export function rolloutLens(rollout: Rollout, layer: number): AttentionLens {
  const upto = layer >= 1 && layer <= rollout.layers ? layer : rollout.layers;
  return { n: rollout.n, row: (i) => rollout.row(i, upto), column: (j) => rollout.column(j, upto) };
}

export interface WordWeight {
  text: string;
  weight: number;
  /** Token indices of the word. */
  tokens: number[];
}

export interface WordInsight {
  /** The word as the tokenizer saw it (pieces joined, lower-cased by an uncased model). */
  word: string;
  /** Its word pieces, e.g. `["fan", "##tastic"]`. */
  pieces: string[];
  tokens: number[];
  /** The words it attends to most (special tokens left out; see {@link toSpecial}). */
  attendsTo: WordWeight[];
  /** The words that attend to it most. */
  attendedBy: WordWeight[];
  /** The share of its attention that goes to [CLS] and [SEP], which absorb much of BERT's attention. */
  toSpecial: number;
}

/** Word groups of an analysis: token indices per word (special tokens alone). */
export function wordGroups(tokens: readonly TokenRow[]): number[][] {
  return groupWordPieces(tokens);
}

/** The word (group) holding a token. */
export function groupOf(groups: readonly number[][], tokenIndex: number): number[] | undefined {
  return groups.find((group) => group.includes(tokenIndex));
}

/** What one word attends to and what attends to it, through `lens`, top `count` of each. */
export function wordInsight(tokens: readonly TokenRow[], lens: AttentionLens, word: readonly number[], count = 5): WordInsight {
  const groups = wordGroups(tokens);
  const texts = wordTexts(tokens, groups);
  const from = new Float64Array(lens.n);
  for (const index of word) lens.row(index).forEach((value, k) => (from[k]! += value / word.length));
  const to = new Float64Array(lens.n);
  for (const index of word) lens.column(index).forEach((value, k) => (to[k]! += value));

  const words = groups
    .map((group, index) => ({ group, text: texts[index] ?? '' }))
    .filter(({ group }) => !group.every((index) => tokens[index]?.special));
  const ranked = (weightOf: (group: number[]) => number) =>
    words
      .map(({ group, text }) => ({ text, tokens: group, weight: weightOf(group) }))
      .sort((a, b) => b.weight - a.weight)
      .slice(0, count);
  let toSpecial = 0;
  tokens.forEach((token, index) => {
    if (token.special) toSpecial += from[index]!;
  });
  return {
    word: wordTexts(tokens, [[...word]])[0] ?? '',
    pieces: word.map((index) => tokens[index]?.text ?? ''),
    tokens: [...word],
    attendsTo: ranked((group) => group.reduce((sum, index) => sum + from[index]!, 0)),
    attendedBy: ranked((group) => group.reduce((sum, index) => sum + to[index]!, 0) / group.length),
    toSpecial,
  };
}

/**
 * Per-token weights for tinting the editor: the attention from a word (the mean of its pieces' rows), or with no
 * word the importance of each token to the prediction ([CLS]'s rollout row). Special tokens get 0.
 */
export function tokenWeights(tokens: readonly TokenRow[], lens: AttentionLens, word: readonly number[]): Float64Array {
  const weights = new Float64Array(lens.n);
  for (const index of word) lens.row(index).forEach((value, k) => (weights[k]! += value / word.length));
  tokens.forEach((token, index) => {
    if (token.special) weights[index] = 0;
  });
  return weights;
}

/**
 * The token whose attention shows what a prediction reads: the first token for a text classifier ([CLS], `<s>`:
 * its head reads it) and a sentence embedding, the first mask for fill-mask, the first entity's first token (else
 * the first text token) for token classification, the last token for a language model (its query predicts the next).
 */
export function readerToken(prediction: Prediction, tokens: readonly TokenRow[]): number {
  const first = Math.max(
    0,
    tokens.findIndex((token) => token.special),
  );
  switch (prediction.task) {
    case 'fill-mask':
      return prediction.masks[0]?.index ?? first;
    case 'token-classification':
      return (
        prediction.entities[0]?.tokens[0] ??
        Math.max(
          0,
          tokens.findIndex((token) => !token.special),
        )
      );
    case 'text-generation':
      // The last token's query predicts the next one, and it sees the whole text.
      return tokens.length - 1;
    default:
      return first;
  }
}

/** Each token's surprisal, −log₂ p(token | the tokens before it), under a language model (0 for the first token). */
export function surprisalOf(prediction: Prediction): Float64Array | undefined {
  if (prediction.task !== 'text-generation') return undefined;
  return Float64Array.from(prediction.tokenProbabilities, (probability) => (probability > 0 ? -Math.log2(probability) : 0));
}

/** The reader token's rollout row over the tokens (see {@link readerToken}), special tokens at 0. */
export function readerImportance(tokens: readonly TokenRow[], prediction: Prediction, rollout: Rollout): Float64Array {
  const row = rollout.row(readerToken(prediction, tokens));
  tokens.forEach((token, index) => {
    if (token.special) row[index] = 0;
  });
  return row;
}
