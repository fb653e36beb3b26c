/**
 * From word pieces to words. Attention *to* a word is the sum over its pieces (it receives what each piece
 * receives); attention *from* a word is the mean over its pieces (each piece's row sums to 1, so the mean does too).
 * Rows of a merged map still sum to 1.
 */
import { allocLike, type FloatArray, type Matrix } from './tensor';

export interface PieceToken {
  text: string;
  special: boolean;
}

/** Groups token indices into words: a `##` piece joins the word before it; special tokens stand alone. */
export function groupWordPieces(tokens: readonly PieceToken[], continuingPrefix = '##'): number[][] {
  const groups: number[][] = [];
  tokens.forEach((token, index) => {
    const previous = groups[groups.length - 1];
    const previousToken = previous ? tokens[previous[previous.length - 1]!] : undefined;
    if (!token.special && token.text.startsWith(continuingPrefix) && previous && previousToken && !previousToken.special) {
      previous.push(index);
    } else {
      groups.push([index]);
    }
  });
  return groups;
}

/** Merges one `[n, n]` attention map into `[words, words]`. */
export function mergeToWords<T extends FloatArray>(map: Matrix<T>, groups: readonly (readonly number[])[]): Matrix<T> {
  const words = groups.length;
  const n = map.cols;
  const out = allocLike(map.data, words * words);
  groups.forEach((from, a) => {
    groups.forEach((to, b) => {
      let total = 0;
      for (const i of from) {
        for (const j of to) total += map.data[i * n + j]!;
      }
      out[a * words + b] = total / from.length;
    });
  });
  return { rows: words, cols: words, data: out };
}

/** The text of each word group, pieces joined without their prefix. */
export function wordTexts(tokens: readonly PieceToken[], groups: readonly (readonly number[])[], continuingPrefix = '##'): string[] {
  return groups.map((group) =>
    group.map((index, position) => {
      const text = tokens[index]?.text ?? '';
      return position > 0 && text.startsWith(continuingPrefix) ? text.slice(continuingPrefix.length) : text;
    }).join(''),
  );
}
