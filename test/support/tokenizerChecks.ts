/**
 * The offset invariant, shared by unit and extension-host tests: the original slice of every token normalizes to
 * the token's text; tokens that share one original character (jamo of a Hangul syllable) are checked together;
 * an [UNK]'s slice tokenizes to [UNK] alone.
 */
import type { TokenRow } from '../../src/shared/analysis';

export interface OffsetCheckTokenizer {
  normalize(text: string): string;
  tokenizeText(text: string): string[];
}

export function offsetViolations(text: string, tokens: readonly TokenRow[], tokenizer: OffsetCheckTokenizer): string[] {
  const problems: string[] = [];
  const textTokens = tokens.filter((token) => !token.special);
  let previousEnd = 0;
  for (let index = 0; index < textTokens.length;) {
    const first = textTokens[index]!;
    let next = index + 1;
    while (next < textTokens.length && textTokens[next]!.start === first.start && textTokens[next]!.end === first.end) {
      next += 1;
    }
    const group = textTokens.slice(index, next);
    const slice = text.slice(first.start, first.end);
    if (first.start < previousEnd || first.end <= first.start) {
      problems.push(`token "${first.text}" has span [${first.start}, ${first.end}) after ${previousEnd}`);
    }
    if (group.length === 1 && first.text === '[UNK]') {
      const alone = tokenizer.tokenizeText(slice);
      if (alone.length !== 1 || alone[0] !== '[UNK]') {
        problems.push(`[UNK] at [${first.start}, ${first.end}) covers "${slice}", which tokenizes to ${JSON.stringify(alone)}`);
      }
    } else if (group.length === 1 && first.text === slice) {
      // An added token (e.g. [MASK]) written literally.
    } else {
      const expected = group
        .map((token, position) => (position > 0 || token.text.startsWith('##') ? token.text.replace(/^##/, '') : token.text))
        .join('');
      const normalized = tokenizer.normalize(slice).trim();
      if (normalized !== expected) {
        problems.push(
          `tokens ${JSON.stringify(group.map((token) => token.text))} at [${first.start}, ${first.end}) cover "${slice}", which normalizes to "${normalized}"`,
        );
      }
    }
    previousEnd = first.end;
    index = next;
  }
  return problems;
}
