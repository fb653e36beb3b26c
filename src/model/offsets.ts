/**
 * Character offsets for WordPiece tokens.
 *
 * transformers.js tokenizers return tokens but no offset mapping, and a BERT tokenizer changes the text before it
 * splits it (lower-cases, strips accents, drops control and zero-width characters, pads CJK ideographs with spaces).
 * This module replays the tokenizer's own normalizer on the original text one unit at a time, so that every
 * character of the normalized text knows which original characters it came from (as Hugging Face's Rust
 * `NormalizedString` does), then walks the tokenizer's own tokens over the pre-tokenizer's words.
 *
 * The result is exact for BERT-family tokenizers: a token's `[start, end)` slice of the original text normalizes to
 * the token's text (without its `##` prefix), an `[UNK]` covers the word it replaced, and pieces of one original
 * character (a Hangul syllable decomposes into several jamo) all cover that character. When the tokenizer does
 * something this module does not model, the affected tokens get the span of the smallest enclosing segment and the
 * result says it is not exact; it never throws.
 */

/** The parts of a tokenizer the aligner replays. */
export interface TokenizerSteps {
  /** The tokenizer's normalizer (identity when it has none). */
  normalize: (text: string) => string;
  /** The tokenizer's pre-tokenizer, applied to normalized text; returns the words in order. */
  preTokenize: (text: string) => string[];
  /** Tokens that the tokenizer splits out of the raw text before normalizing (e.g. `[MASK]`). */
  addedTokens: readonly string[];
  /** The unknown token, e.g. `[UNK]`. */
  unknownToken: string;
  /** The prefix of word-continuation pieces, e.g. `##`. */
  continuingPrefix: string;
}

export interface TokenSpan {
  start: number;
  end: number;
}

export interface Alignment {
  /** One span per token, in original-text UTF-16 offsets. */
  spans: TokenSpan[];
  /** False when some span had to be widened to an enclosing segment. */
  exact: boolean;
}

/** A normalized string with, for every UTF-16 unit, the original range it came from. */
interface AlignedText {
  text: string;
  originStart: Uint32Array;
  originEnd: Uint32Array;
}

type UnitSplitter = (text: string) => Array<{ text: string; start: number }>;

const codePoints: UnitSplitter = (text) => {
  const units: Array<{ text: string; start: number }> = [];
  let offset = 0;
  for (const char of text) {
    units.push({ text: char, start: offset });
    offset += char.length;
  }
  return units;
};

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes: UnitSplitter = (text) =>
  Array.from(graphemeSegmenter.segment(text), (segment) => ({ text: segment.segment, start: segment.index }));

const whitespaceRuns: UnitSplitter = (text) =>
  Array.from(text.matchAll(/\s+|\S+/gu), (match) => ({ text: match[0], start: match.index ?? 0 }));

const whole: UnitSplitter = (text) => [{ text, start: 0 }];

/**
 * Normalizes `text` unit by unit, finest units first. A split is accepted when the pieces, normalized separately,
 * add up to the normalization of the whole, or at least to a string of the same length (context-dependent
 * lower-casing such as the Greek final sigma changes a letter, not the alignment); the whole string's characters are
 * then used with the pieces' alignment.
 */
function alignNormalization(text: string, offset: number, normalize: (text: string) => string): { aligned: AlignedText; exact: boolean } {
  const target = normalize(text);
  const splitters: UnitSplitter[] = [codePoints, graphemes, whitespaceRuns, whole];
  for (const [level, split] of splitters.entries()) {
    const units = split(text);
    const pieces = units.map((unit) => normalize(unit.text));
    const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
    if (length !== target.length) {
      continue;
    }
    const originStart = new Uint32Array(length);
    const originEnd = new Uint32Array(length);
    let position = 0;
    units.forEach((unit, index) => {
      const pieceLength = pieces[index]?.length ?? 0;
      originStart.fill(offset + unit.start, position, position + pieceLength);
      originEnd.fill(offset + unit.start + unit.text.length, position, position + pieceLength);
      position += pieceLength;
    });
    // Whitespace runs and the whole string are coarse: tokens inside them get the run's span.
    return { aligned: { text: target, originStart, originEnd }, exact: level <= 1 };
  }
  // Unreachable: `whole` always has the target's length. Kept for the type checker.
  return {
    aligned: {
      text: target,
      originStart: new Uint32Array(target.length).fill(offset),
      originEnd: new Uint32Array(target.length).fill(offset + text.length),
    },
    exact: false,
  };
}

/** Splits raw text around added tokens the way the tokenizer does (exact, case-sensitive, longest first). */
function splitOnAddedTokens(text: string, addedTokens: readonly string[]): Array<{ text: string; start: number; added: boolean }> {
  const candidates = addedTokens.filter((token) => token.length > 0).sort((a, b) => b.length - a.length);
  const segments: Array<{ text: string; start: number; added: boolean }> = [];
  let segmentStart = 0;
  let index = 0;
  while (index < text.length) {
    const match = candidates.find((token) => text.startsWith(token, index));
    if (match) {
      if (index > segmentStart) {
        segments.push({ text: text.slice(segmentStart, index), start: segmentStart, added: false });
      }
      segments.push({ text: match, start: index, added: true });
      index += match.length;
      segmentStart = index;
    } else {
      index += 1;
    }
  }
  if (segmentStart < text.length) {
    segments.push({ text: text.slice(segmentStart), start: segmentStart, added: false });
  }
  return segments;
}

/**
 * Finds the `[start, end)` span in `text` of each token in `tokens` (the tokenizer's output for `text`, without
 * special tokens that it adds itself, such as [CLS] and [SEP]).
 */
export function alignTokens(text: string, tokens: readonly string[], steps: TokenizerSteps): Alignment {
  const spans: TokenSpan[] = [];
  let exact = true;
  let tokenIndex = 0;

  /** Gives every remaining token of a segment that could not be followed the segment's span. */
  const widen = (start: number, end: number, upTo: number) => {
    exact = false;
    while (tokenIndex < upTo) {
      spans.push({ start, end });
      tokenIndex += 1;
    }
  };

  segment: for (const segment of splitOnAddedTokens(text, steps.addedTokens)) {
    if (tokenIndex >= tokens.length) {
      break;
    }
    if (segment.added) {
      if (tokens[tokenIndex] === segment.text) {
        spans.push({ start: segment.start, end: segment.start + segment.text.length });
        tokenIndex += 1;
      } else {
        exact = false;
      }
      continue;
    }

    const { aligned, exact: segmentExact } = alignNormalization(segment.text, segment.start, steps.normalize);
    exact &&= segmentExact;
    const segmentEnd = segment.start + segment.text.length;
    // The tokens of this segment end where the next added-token segment's token is, or at the end.
    const segmentTokenLimit = findSegmentTokenLimit(tokens, tokenIndex, text, segmentEnd, steps.addedTokens);

    let cursor = 0;
    for (const word of steps.preTokenize(aligned.text)) {
      if (tokenIndex >= segmentTokenLimit) {
        break;
      }
      const wordStart = aligned.text.indexOf(word, cursor);
      if (wordStart < 0 || word.length === 0) {
        widen(segment.start, segmentEnd, segmentTokenLimit);
        break;
      }
      const wordEnd = wordStart + word.length;
      cursor = wordEnd;
      const origin = (from: number, to: number): TokenSpan => ({
        start: aligned.originStart[from] ?? segment.start,
        end: aligned.originEnd[to - 1] ?? segmentEnd,
      });

      if (tokens[tokenIndex] === steps.unknownToken) {
        spans.push(origin(wordStart, wordEnd));
        tokenIndex += 1;
        continue;
      }
      let position = wordStart;
      let first = true;
      while (position < wordEnd && tokenIndex < segmentTokenLimit) {
        const token = tokens[tokenIndex] ?? '';
        const piece = !first && token.startsWith(steps.continuingPrefix) ? token.slice(steps.continuingPrefix.length) : token;
        if (piece.length === 0 || !aligned.text.startsWith(piece, position)) {
          // The tokenizer split this word in a way we do not replay: the rest of the segment gets its span.
          widen(segment.start, segmentEnd, segmentTokenLimit);
          continue segment;
        }
        spans.push(origin(position, position + piece.length));
        position += piece.length;
        tokenIndex += 1;
        first = false;
      }
    }
    if (tokenIndex < segmentTokenLimit) {
      widen(segment.start, segmentEnd, segmentTokenLimit);
    }
  }
  if (tokenIndex < tokens.length) {
    widen(0, text.length, tokens.length);
  }
  return { spans: snapToGraphemes(text, spans, steps.normalize), exact };
}

/**
 * Extends a span whose end falls inside a grapheme cluster (a combining accent after the last letter) to the
 * cluster's end, when the characters it takes in normalize to nothing; a decoration then covers the whole glyph.
 */
function snapToGraphemes(text: string, spans: TokenSpan[], normalize: (text: string) => string): TokenSpan[] {
  if (spans.length === 0) {
    return spans;
  }
  const boundaries = new Set<number>([text.length]);
  for (const segment of graphemeSegmenter.segment(text)) {
    boundaries.add(segment.index);
  }
  return spans.map((span) => {
    if (span.end <= span.start || boundaries.has(span.end)) {
      return span;
    }
    let end = span.end;
    while (end < text.length && !boundaries.has(end)) {
      end += 1;
    }
    return normalize(text.slice(span.end, end)).trim() === '' ? { start: span.start, end } : span;
  });
}

/**
 * The index one past the last token that belongs to the text segment ending at `segmentEnd`: the next token that is
 * an added token found literally right after the segment, or the end of the token list.
 */
function findSegmentTokenLimit(
  tokens: readonly string[],
  from: number,
  text: string,
  segmentEnd: number,
  addedTokens: readonly string[],
): number {
  if (segmentEnd >= text.length) {
    return tokens.length;
  }
  const nextAdded = addedTokens.find((token) => token.length > 0 && text.startsWith(token, segmentEnd));
  if (nextAdded === undefined) {
    return tokens.length;
  }
  const index = tokens.indexOf(nextAdded, from);
  return index < 0 ? tokens.length : index;
}
