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
  addedTokens: readonly AddedTokenRule[];
  /** The unknown token, e.g. `[UNK]`. */
  unknownToken: string;
  /** The prefix of word-continuation pieces, e.g. `##`. */
  continuingPrefix: string;
}

/** An added token and whether it swallows the whitespace beside it (RoBERTa's `<mask>` strips on its left). */
export interface AddedTokenRule {
  content: string;
  lstrip: boolean;
  rstrip: boolean;
}

/** A piece of the raw text: an added token, or the text between two. */
export interface TextSegment {
  text: string;
  start: number;
  added: boolean;
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
export interface AlignedText {
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

/**
 * UTF-16 units segmented at once. Node 20's `Intl.Segmenter` takes time quadratic in the length of the string it
 * walks (160 KB: 9 s a pass), so long texts are segmented piece by piece, which keeps the whole walk linear.
 */
const GRAPHEME_PIECE = 512;

/**
 * The grapheme clusters of `text`, as `Intl.Segmenter` finds them in the whole text. Each piece starts on a cluster
 * boundary and ends on a code point boundary; its last cluster may go on past it, so the next piece starts there.
 * A boundary depends on the code point after it and on the text back to the previous boundary only, so every other
 * cluster of a piece is the one the whole text has.
 */
export function graphemeClusters(text: string, piece = GRAPHEME_PIECE): Array<{ text: string; start: number }> {
  const clusters: Array<{ text: string; start: number }> = [];
  let base = 0;
  let size = piece;
  while (base < text.length) {
    let end = Math.min(text.length, base + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end += 1;
    const found = Array.from(graphemeSegmenter.segment(text.slice(base, end)));
    const complete = end === text.length ? found.length : found.length - 1;
    if (complete === 0) {
      // One cluster fills the piece: look further.
      size *= 2;
      continue;
    }
    for (const segment of found.slice(0, complete)) clusters.push({ text: segment.segment, start: base + segment.index });
    base = end === text.length ? end : base + found[complete]!.index;
    size = piece;
  }
  return clusters;
}

const graphemes: UnitSplitter = (text) => graphemeClusters(text);

const whitespaceRuns: UnitSplitter = (text) =>
  Array.from(text.matchAll(/\s+|\S+/gu), (match) => ({ text: match[0], start: match.index ?? 0 }));

const whole: UnitSplitter = (text) => [{ text, start: 0 }];

/**
 * Normalizes `text` unit by unit, finest units first. A split is accepted when the pieces, normalized separately,
 * add up to the normalization of the whole, or at least to a string of the same length (context-dependent
 * lower-casing such as the Greek final sigma changes a letter, not the alignment); the whole string's characters are
 * then used with the pieces' alignment.
 */
export function alignNormalization(
  text: string,
  offset: number,
  normalize: (text: string) => string,
): { aligned: AlignedText; exact: boolean } {
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

/**
 * Splits raw text around added tokens the way the tokenizer does (exact, case-sensitive, longest first); a token
 * that strips whitespace takes it from the neighbouring text, which then belongs to no token.
 */
export function splitOnAddedTokens(text: string, addedTokens: readonly AddedTokenRule[]): TextSegment[] {
  const candidates = addedTokens.filter((token) => token.content.length > 0).sort((a, b) => b.content.length - a.content.length);
  const segments: TextSegment[] = [];
  let segmentStart = 0;
  let index = 0;
  const pushText = (from: number, to: number) => {
    if (to > from) segments.push({ text: text.slice(from, to), start: from, added: false });
  };
  while (index < text.length) {
    const match = candidates.find((token) => text.startsWith(token.content, index));
    if (!match) {
      index += 1;
      continue;
    }
    let textEnd = index;
    if (match.lstrip) {
      while (textEnd > segmentStart && /\s/u.test(text[textEnd - 1]!)) textEnd -= 1;
    }
    pushText(segmentStart, textEnd);
    segments.push({ text: match.content, start: index, added: true });
    index += match.content.length;
    if (match.rstrip) {
      while (index < text.length && /\s/u.test(text[index]!)) index += 1;
    }
    segmentStart = index;
  }
  pushText(segmentStart, text.length);
  return segments;
}

/** The spans found so far and the next token to place, shared by the aligners. */
export class SpanWriter {
  readonly spans: TokenSpan[] = [];
  exact = true;
  /** The next token without a span. */
  index = 0;

  push(span: TokenSpan): void {
    this.spans.push(span);
    this.index += 1;
  }

  /** Gives every token up to `upTo` that could not be followed the span `[start, end)`. */
  widen(start: number, end: number, upTo: number): void {
    this.exact = false;
    while (this.index < upTo) this.push({ start, end });
  }
}

/**
 * Walks the raw text as the tokenizer splits it: an added token matches itself; each stretch of text between added
 * tokens goes to `alignStretch` with the index one past its last token, which places what it can follow (the rest of
 * the stretch then gets the stretch's span). Tokens left over at the end get the whole text's span.
 */
export function alignSegments(
  text: string,
  tokens: readonly string[],
  addedTokens: readonly AddedTokenRule[],
  alignStretch: (segment: TextSegment, limit: number, writer: SpanWriter) => void,
): SpanWriter {
  const writer = new SpanWriter();
  const segments = splitOnAddedTokens(text, addedTokens);
  for (const [segmentIndex, segment] of segments.entries()) {
    if (writer.index >= tokens.length) break;
    if (segment.added) {
      if (tokens[writer.index] === segment.text) writer.push({ start: segment.start, end: segment.start + segment.text.length });
      else writer.exact = false;
      continue;
    }
    // The stretch's tokens end where the next added token is in the token list, or at the end.
    const limit = segmentTokenLimitOf(tokens, writer.index, segments[segmentIndex + 1]);
    alignStretch(segment, limit, writer);
    if (writer.index < limit) writer.widen(segment.start, segment.start + segment.text.length, limit);
  }
  if (writer.index < tokens.length) writer.widen(0, text.length, tokens.length);
  return writer;
}

/**
 * Finds the `[start, end)` span in `text` of each token in `tokens` (the tokenizer's output for `text`, without
 * special tokens that it adds itself, such as [CLS] and [SEP]).
 */
export function alignTokens(text: string, tokens: readonly string[], steps: TokenizerSteps): Alignment {
  const writer = alignSegments(text, tokens, steps.addedTokens, (segment, limit, out) => {
    const { aligned, exact: segmentExact } = alignNormalization(segment.text, segment.start, steps.normalize);
    out.exact &&= segmentExact;
    const segmentEnd = segment.start + segment.text.length;
    let cursor = 0;
    for (const word of steps.preTokenize(aligned.text)) {
      if (out.index >= limit) return;
      const wordStart = aligned.text.indexOf(word, cursor);
      if (wordStart < 0 || word.length === 0) return;
      const wordEnd = wordStart + word.length;
      cursor = wordEnd;
      const origin = (from: number, to: number): TokenSpan => ({
        start: aligned.originStart[from] ?? segment.start,
        end: aligned.originEnd[to - 1] ?? segmentEnd,
      });
      if (tokens[out.index] === steps.unknownToken) {
        out.push(origin(wordStart, wordEnd));
        continue;
      }
      let position = wordStart;
      let first = true;
      while (position < wordEnd && out.index < limit) {
        const token = tokens[out.index] ?? '';
        const piece = !first && token.startsWith(steps.continuingPrefix) ? token.slice(steps.continuingPrefix.length) : token;
        // A split this module does not replay: the rest of the stretch gets its span.
        if (piece.length === 0 || !aligned.text.startsWith(piece, position)) return;
        out.push(origin(position, position + piece.length));
        position += piece.length;
        first = false;
      }
    }
  });
  return { spans: snapToGraphemes(text, writer.spans, steps.normalize), exact: writer.exact };
}

/**
 * Extends a span whose end falls inside a grapheme cluster (a combining accent after the last letter) to the
 * cluster's end, when the characters it takes in normalize to nothing; a decoration then covers the whole glyph.
 */
export function snapToGraphemes(text: string, spans: TokenSpan[], normalize: (text: string) => string): TokenSpan[] {
  if (spans.length === 0) {
    return spans;
  }
  const boundaries = new Set<number>([text.length]);
  for (const cluster of graphemeClusters(text)) {
    boundaries.add(cluster.start);
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
 * The index one past the last token of a text segment: where the next segment's added token is in the token list,
 * or the end of the list.
 */
export function segmentTokenLimitOf(tokens: readonly string[], from: number, next: TextSegment | undefined): number {
  if (!next?.added) return tokens.length;
  const index = tokens.indexOf(next.text, from);
  return index < 0 ? tokens.length : index;
}
