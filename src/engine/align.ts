/**
 * Aligning two token sequences (to compare two selections' attention where their tokens match): the longest common
 * subsequence of equal texts, by dynamic programming.
 */

/** Pairs `[i, j]` with `a[i] === b[j]`, increasing in both, as many as possible (earliest pairs on ties). */
export function alignSequences(a: readonly string[], b: readonly string[]): Array<[number, number]> {
  const rows = a.length + 1;
  const cols = b.length + 1;
  // lengths[i][j]: the LCS of a[i..] and b[j..].
  const lengths = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i * cols + j] =
        a[i] === b[j] ? lengths[(i + 1) * cols + j + 1]! + 1 : Math.max(lengths[(i + 1) * cols + j]!, lengths[i * cols + j + 1]!);
    }
  }
  const pairs: Array<[number, number]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      pairs.push([i, j]);
      i += 1;
      j += 1;
    } else if (lengths[(i + 1) * cols + j]! >= lengths[i * cols + j + 1]!) {
      i += 1;
    } else {
      j += 1;
    }
  }
  return pairs;
}
