/**
 * Character offsets for byte-level BPE tokens (RoBERTa, GPT-2, Llama 3, Qwen).
 *
 * A byte-level token is a run of the text's UTF-8 bytes, each written as one printable character (GPT-2's
 * `bytes_to_unicode`: `Ġ` is the space byte). So the tokens of a stretch of text, decoded back to bytes, add up to
 * exactly that stretch's bytes (after the tokenizer's normalizer, and the space a `add_prefix_space` tokenizer puts
 * in front). This module walks the tokens over those bytes and maps each token's bytes back to original UTF-16
 * offsets, the way Hugging Face's Rust tokenizer reports them:
 *
 * - a token that holds part of a character (an emoji split over two tokens) covers the whole character;
 * - with `trim_offsets` (RoBERTa's post-processor) leading and trailing spaces are left out of a token's span, and a
 *   token that is only spaces gets the empty span after them;
 * - an added token (`<mask>`) covers its own text; whitespace it strips belongs to no token.
 *
 * When the tokens do not add up to the text (a tokenizer step this module does not model), the rest of that stretch
 * gets the stretch's span and the result says it is not exact; it never throws.
 */
import { alignNormalization, alignSegments, type AddedTokenRule, type Alignment, type TokenSpan } from './offsets';

/** The parts of a byte-level tokenizer the aligner replays. */
export interface ByteLevelSteps {
  /** The tokenizer's normalizer (identity when it has none; Qwen's is NFC). */
  normalize: (text: string) => string;
  addedTokens: readonly AddedTokenRule[];
  /** The pre-tokenizer puts a space in front of text that does not start with one. */
  addPrefixSpace: boolean;
  /** The post-processor trims spaces off token offsets (RoBERTa `trim_offsets`). */
  trimOffsets: boolean;
}

const SPACE_BYTE = 0x20;

let unicodeToByte: Map<string, number> | undefined;

/** GPT-2's `bytes_to_unicode`, inverted: printable bytes stand for themselves, the others for 256 + n. */
export function byteOfCharacter(): Map<string, number> {
  if (unicodeToByte) return unicodeToByte;
  const printable = (byte: number) => (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const map = new Map<string, number>();
  let shifted = 0;
  for (let byte = 0; byte < 256; byte += 1) {
    if (printable(byte)) {
      map.set(String.fromCodePoint(byte), byte);
    } else {
      map.set(String.fromCodePoint(256 + shifted), byte);
      shifted += 1;
    }
  }
  unicodeToByte = map;
  return map;
}

/** The bytes a byte-level token stands for, or undefined if it has a character outside the alphabet. */
export function tokenBytes(token: string): number[] | undefined {
  const map = byteOfCharacter();
  const bytes: number[] = [];
  for (const char of token) {
    const byte = map.get(char);
    if (byte === undefined) return undefined;
    bytes.push(byte);
  }
  return bytes;
}

/** A stretch of normalized text as UTF-8 bytes, each with the original UTF-16 range its character came from. */
interface ByteText {
  bytes: Uint8Array;
  originStart: Uint32Array;
  originEnd: Uint32Array;
}

const encoder = new TextEncoder();

function bytesOf(
  text: string,
  start: number,
  normalize: (text: string) => string,
  addPrefixSpace: boolean,
): { byteText: ByteText; exact: boolean } {
  const { aligned, exact } = alignNormalization(text, start, normalize);
  const prefix = addPrefixSpace && !aligned.text.startsWith(' ') ? 1 : 0;
  const total = prefix + encoder.encode(aligned.text).length;
  const bytes = new Uint8Array(total);
  const originStart = new Uint32Array(total);
  const originEnd = new Uint32Array(total);
  let position = 0;
  if (prefix) {
    // The added space is no character of the text: an empty range where the stretch starts.
    bytes[0] = SPACE_BYTE;
    originStart[0] = start;
    originEnd[0] = start;
    position = 1;
  }
  let unit = 0;
  for (const char of aligned.text) {
    const encoded = encoder.encode(char);
    const from = aligned.originStart[unit] ?? start;
    const to = aligned.originEnd[unit + char.length - 1] ?? start + text.length;
    bytes.set(encoded, position);
    originStart.fill(from, position, position + encoded.length);
    originEnd.fill(to, position, position + encoded.length);
    position += encoded.length;
    unit += char.length;
  }
  return { byteText: { bytes, originStart, originEnd }, exact };
}

/** The span of the bytes `[from, to)`, trimmed of spaces when the tokenizer trims offsets. */
function spanOf(byteText: ByteText, from: number, to: number, trim: boolean): TokenSpan {
  let first = from;
  let last = to;
  if (trim) {
    while (first < last && byteText.bytes[first] === SPACE_BYTE) first += 1;
    while (last > first && byteText.bytes[last - 1] === SPACE_BYTE) last -= 1;
    if (first === last) {
      const end = byteText.originEnd[to - 1] ?? 0;
      return { start: end, end };
    }
  }
  return { start: byteText.originStart[first] ?? 0, end: byteText.originEnd[last - 1] ?? 0 };
}

/**
 * Finds the `[start, end)` span in `text` of each token in `tokens` (the tokenizer's output for `text`, without the
 * special tokens its post-processor adds).
 */
export function alignByteLevelTokens(text: string, tokens: readonly string[], steps: ByteLevelSteps): Alignment {
  const writer = alignSegments(text, tokens, steps.addedTokens, (segment, limit, out) => {
    const { byteText, exact: normalizationExact } = bytesOf(segment.text, segment.start, steps.normalize, steps.addPrefixSpace);
    out.exact &&= normalizationExact;
    let position = 0;
    while (position < byteText.bytes.length && out.index < limit) {
      const bytes = tokenBytes(tokens[out.index] ?? '');
      const matches = bytes !== undefined && bytes.length > 0 && bytes.every((byte, offset) => byteText.bytes[position + offset] === byte);
      // Tokens that do not add up to the stretch's bytes: it was tokenized some other way.
      if (!matches) return;
      out.push(spanOf(byteText, position, position + bytes.length, steps.trimOffsets));
      position += bytes.length;
    }
    if (position < byteText.bytes.length) out.exact = false;
  });
  return { spans: writer.spans, exact: writer.exact };
}
