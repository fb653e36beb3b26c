/**
 * Descriptive statistics of attention maps: row entropy, the per-head patterns Clark et al. (2019) describe
 * (attention to [CLS], [SEP], punctuation, the previous and the next token; broad heads), the decoder patterns
 * (attention sinks on the first token; induction: attending to the token after an earlier copy of the current one,
 * Olsson et al. 2022), and top-k lists.
 */
import { headMap, type AttentionTensor, type FloatArray } from './tensor';

/** Per row `−Σ_j a_ij ln a_ij` in nats, with 0 ln 0 = 0; `[layers, heads, n]`. */
export function attentionEntropy(attention: AttentionTensor): Float64Array {
  const { layers, heads, n, data } = attention;
  const out = new Float64Array(layers * heads * n);
  for (let row = 0; row < layers * heads * n; row += 1) {
    let entropy = 0;
    for (let col = 0; col < n; col += 1) {
      const value = data[row * n + col]!;
      if (value > 0) entropy -= value * Math.log(value);
    }
    out[row] = entropy;
  }
  return out;
}

/** What each token is, for the statistics. */
export interface TokenRoles {
  /** Indices of [CLS] tokens. */
  cls: readonly number[];
  /** Indices of [SEP] tokens. */
  sep: readonly number[];
  /** `punctuation[i]`: token i is punctuation. */
  punctuation: readonly boolean[];
  /** Rows to average over (real tokens); all rows when absent. */
  valid?: readonly boolean[];
  /** The token ids, for the induction score (repeated tokens); without them it is 0. */
  ids?: readonly number[];
}

export interface HeadStatistics {
  layer: number;
  head: number;
  /** Mean over query rows of the attention given to [CLS] (likewise for the others). */
  toCls: number;
  toSep: number;
  toPunctuation: number;
  /** Mean over rows i ≥ 1 of `a[i][i−1]`. */
  toPrevious: number;
  /** Mean over rows i < n−1 of `a[i][i+1]`. */
  toNext: number;
  /** Mean over rows of `a[i][0]`: the share given to the first position (a decoder's attention sink). */
  toFirst: number;
  /**
   * Mean over rows i whose token occurred before (at j < i − 1) of `Σ_j a[i][j+1]`: attention to the token that
   * followed an earlier copy of the current one. 0 when no token repeats.
   */
  induction: number;
  /** How many rows the induction score averages over. */
  inductionRows: number;
  /** Mean row entropy, nats. */
  meanEntropy: number;
  /** The token receiving the most attention on average, and that average. */
  mostAttended: { index: number; share: number };
}

export function headStatistics(attention: AttentionTensor, roles: TokenRoles): HeadStatistics[] {
  const { layers, heads, n } = attention;
  const valid = roles.valid ?? Array.from({ length: n }, () => true);
  const rows = Array.from({ length: n }, (_, index) => index).filter((index) => valid[index]);
  const entropy = attentionEntropy(attention);
  const result: HeadStatistics[] = [];
  for (let layer = 0; layer < layers; layer += 1) {
    for (let head = 0; head < heads; head += 1) {
      const map = headMap(attention, layer, head).data;
      const share = (columns: readonly number[]) => mean(rows.map((row) => columns.reduce((sum, col) => sum + map[row * n + col]!, 0)));
      const punctuationColumns = Array.from({ length: n }, (_, index) => index).filter((index) => roles.punctuation[index]);
      const received = new Float64Array(n);
      for (const row of rows) {
        for (let col = 0; col < n; col += 1) received[col]! += map[row * n + col]! / rows.length;
      }
      let mostAttended = 0;
      received.forEach((value, index) => {
        if (value > received[mostAttended]!) mostAttended = index;
      });
      const entropyOffset = (layer * heads + head) * n;
      const inductionScores = (roles.ids ? rows : []).flatMap((row) => {
        let sum = 0;
        let copies = 0;
        for (let earlier = 0; earlier < row - 1; earlier += 1) {
          if (roles.ids![earlier] === roles.ids![row]) {
            sum += map[row * n + earlier + 1]!;
            copies += 1;
          }
        }
        return copies > 0 ? [sum] : [];
      });
      result.push({
        layer,
        head,
        toCls: share(roles.cls),
        toSep: share(roles.sep),
        toPunctuation: share(punctuationColumns),
        toPrevious: mean(rows.filter((row) => row >= 1 && valid[row - 1]).map((row) => map[row * n + row - 1]!)),
        toNext: mean(rows.filter((row) => row + 1 < n && valid[row + 1]).map((row) => map[row * n + row + 1]!)),
        toFirst: mean(rows.map((row) => map[row * n]!)),
        induction: mean(inductionScores),
        inductionRows: inductionScores.length,
        meanEntropy: mean(rows.map((row) => entropy[entropyOffset + row]!)),
        mostAttended: { index: mostAttended, share: received[mostAttended] ?? 0 },
      });
    }
  }
  return result;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export interface Ranked {
  index: number;
  weight: number;
}

/** The `k` largest entries of a row, largest first (ties: lower index first); `exclude` skips indices. */
export function topK(row: ArrayLike<number>, k: number, exclude: (index: number) => boolean = () => false): Ranked[] {
  const ranked: Ranked[] = [];
  for (let index = 0; index < row.length; index += 1) {
    if (!exclude(index)) ranked.push({ index, weight: row[index]! });
  }
  ranked.sort((a, b) => b.weight - a.weight || a.index - b.index);
  return ranked.slice(0, Math.max(0, k));
}

/** Whether a token's text is punctuation only (Unicode P* categories, as BERT's pre-tokenizer splits them). */
export function isPunctuationToken(text: string): boolean {
  return text.length > 0 && /^[\p{P}\p{S}]+$/u.test(text);
}

export type { FloatArray };

/** The patterns Clark et al. (2019) name, as keys of {@link HeadStatistics} (and `broad` for high entropy). */
export type HeadPattern = 'toPrevious' | 'toNext' | 'toSep' | 'toCls' | 'toPunctuation' | 'broad';

export interface HeadReportEntry {
  layer: number;
  head: number;
  /** The share of attention the pattern names (for `broad`: mean entropy / ln n, 1 = uniform). */
  value: number;
}

/**
 * Heads that mostly follow one pattern: more than `threshold` (default 0.5) of their attention on the previous or
 * next token, on [SEP], [CLS] or punctuation; and broad heads, whose mean entropy is above `broadThreshold` (default
 * 0.8) of the uniform distribution's ln n. Each list strongest first.
 */
export function headReport(
  statistics: readonly HeadStatistics[],
  n: number,
  threshold = 0.5,
  broadThreshold = 0.8,
): Record<HeadPattern, HeadReportEntry[]> {
  const uniform = Math.log(Math.max(2, n));
  const pick = (value: (stat: HeadStatistics) => number, above: number) =>
    statistics
      .map((stat) => ({ layer: stat.layer, head: stat.head, value: value(stat) }))
      .filter((entry) => entry.value > above)
      .sort((a, b) => b.value - a.value || a.layer - b.layer || a.head - b.head);
  return {
    toPrevious: pick((stat) => stat.toPrevious, threshold),
    toNext: pick((stat) => stat.toNext, threshold),
    toSep: pick((stat) => stat.toSep, threshold),
    toCls: pick((stat) => stat.toCls, threshold),
    toPunctuation: pick((stat) => stat.toPunctuation, threshold),
    broad: pick((stat) => stat.meanEntropy / uniform, broadThreshold),
  };
}
