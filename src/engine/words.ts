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

/**
 * Merges one `[n, n]` attention map into `[words, words]`. Tokens in no group (hidden ones) are left out. One pass
 * over the map: each row is spread into its word's running sums, in the same order a per-pair sum would add them.
 */
export function mergeToWords<T extends FloatArray>(map: Matrix<T>, groups: readonly (readonly number[])[]): Matrix<T> {
  const words = groups.length;
  const n = map.cols;
  const wordOf = new Int32Array(n).fill(-1);
  groups.forEach((group, word) => group.forEach((index) => (wordOf[index] = word)));
  const out = allocLike(map.data, words * words);
  const sums = new Float64Array(words);
  for (let word = 0; word < words; word += 1) {
    const rows = groups[word]!;
    sums.fill(0);
    for (const row of rows) {
      const offset = row * n;
      for (let col = 0; col < n; col += 1) {
        const target = wordOf[col]!;
        if (target >= 0) sums[target] = sums[target]! + map.data[offset + col]!;
      }
    }
    for (let target = 0; target < words; target += 1) out[word * words + target] = sums[target]! / rows.length;
  }
  return { rows: words, cols: words, data: out };
}

/** The text of each word group, pieces joined without their prefix. */
export function wordTexts(tokens: readonly PieceToken[], groups: readonly (readonly number[])[], continuingPrefix = '##'): string[] {
  return groups.map((group) =>
    group
      .map((index, position) => {
        const text = tokens[index]?.text ?? '';
        return position > 0 && text.startsWith(continuingPrefix) ? text.slice(continuingPrefix.length) : text;
      })
      .join(''),
  );
}
