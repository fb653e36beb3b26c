/**
 * Token ids and offsets against Hugging Face's Rust tokenizer (the npm `tokenizers` binding), the implementation the
 * Python library and the hub use: an independent reference for both the WordPiece aligner (BERT, DistilBERT) and the
 * byte-level one (RoBERTa, and the decoders' GPT-2, Llama 3 and Qwen3 tokenizers). Rust reports offsets in code points; they are converted to UTF-16 here.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OffsetTokenizer } from '../../src/model/tokenizer';
import { sharedTokenizerDir } from '../support/paths';
import { ensureTestModel } from '../support/testModels';
import { TORTURE_TEXT } from '../support/tortureText';

interface RustEncoding {
  getIds(): number[];
  getOffsets(): Array<[number, number]>;
  getSpecialTokensMask(): number[];
}
interface RustTokenizer {
  encode(text: string): Promise<RustEncoding>;
}
const { Tokenizer } = createRequire(__filename)('tokenizers') as { Tokenizer: { fromFile(file: string): RustTokenizer } };

/** Code-point offsets → UTF-16 offsets of `text`. */
function utf16Offsets(text: string): number[] {
  const offsets = [0];
  let unit = 0;
  for (const char of text) {
    unit += char.length;
    offsets.push(unit);
  }
  return offsets;
}

async function rustRows(
  tokenizer: RustTokenizer,
  text: string,
): Promise<Array<{ id: number; start: number; end: number; special: boolean }>> {
  const encoding = await tokenizer.encode(text);
  const units = utf16Offsets(text);
  const special = encoding.getSpecialTokensMask();
  return encoding.getIds().map((id, index) => {
    const [start, end] = encoding.getOffsets()[index]!;
    return special[index] ? { id, start: 0, end: 0, special: true } : { id, start: units[start]!, end: units[end]!, special: false };
  });
}

const ROBERTA_TEXTS = [
  'Paris is a <mask> city.',
  'x<mask>y and x <mask> y, <mask><mask> twice',
  'naïve café 😀 ok',
  '  two  spaces\n\nnew line\ttab ',
  '中文字 e\u0301 combining, Z\u0351\u0334a\u0352lgo',
  'Family 👨‍👩‍👧 and flag 🇫🇷 and 👍🏽 thumbs',
  "It's don't we'll I'M 123,456.78 $9.99 #hashtag @user https://example.com/a?b=c",
  'function add(a, b) {\n  return a + b; // sum\n}',
  TORTURE_TEXT,
];

describe('tokens and offsets against the Rust tokenizer', () => {
  let roberta: string;
  beforeAll(() => {
    roberta = ensureTestModel('tiny', 42, ['fp32'], { family: 'roberta', task: 'fill-mask' });
  });

  it('RoBERTa byte-level BPE: the same ids and the same offsets, special tokens included', async () => {
    const ours = await OffsetTokenizer.load({ kind: 'folder', folder: roberta });
    const rust = Tokenizer.fromFile(path.join(roberta, 'tokenizer.json'));
    for (const text of ROBERTA_TEXTS) {
      const { tokens, exactOffsets } = ours.tokenize(text);
      expect(
        tokens.map(({ id, start, end, special }) => ({ id, start, end, special })),
        text,
      ).toEqual(await rustRows(rust, text));
      expect(exactOffsets, text).toBe(true);
    }
  });

  it('RoBERTa: a token cut out of a character covers the whole character; trimmed spaces are outside every span', async () => {
    const ours = await OffsetTokenizer.load({ kind: 'folder', folder: roberta });
    const text = 'a 😀 <mask> b';
    const { tokens } = ours.tokenize(text);
    const slices = tokens.filter((token) => !token.special).map((token) => text.slice(token.start, token.end));
    // 😀 is four UTF-8 bytes split over two tokens; both cover the two UTF-16 units of the emoji.
    expect(slices).toEqual(['a', '😀', '😀', '<mask>', 'b']);
  });

  // The decoders' real tokenizers (GPT-2's, Llama 3's and Qwen3's tokenizer.json from registry packages), byte-level
  // BPE each with its own pre-tokenizer regex; Llama 3's adds <|begin_of_text|>.
  for (const family of ['gpt2', 'llama', 'qwen3'] as const) {
    it(`${family} (decoder) byte-level BPE: the same ids and the same offsets as Rust, special tokens included`, async () => {
      const folder = ensureTestModel('tiny', 42, ['fp32'], { family });
      const ours = await OffsetTokenizer.load({ kind: 'folder', folder });
      const rust = Tokenizer.fromFile(path.join(folder, 'tokenizer.json'));
      for (const text of ROBERTA_TEXTS.map((sample) => sample.replace(/<mask>/g, 'mask'))) {
        const { tokens, exactOffsets } = ours.tokenize(text);
        const rows = tokens.map(({ id, start, end, special }) => ({ id, start, end, special }));
        const expected = await rustRows(rust, text);
        expect(
          rows.map((row) => row.id),
          text,
        ).toEqual(expected.map((row) => row.id));
        if (text.normalize('NFC') === text || family !== 'qwen3') {
          expect(rows, text).toEqual(expected);
        } else {
          // Qwen's NFC normalizer composes e + ◌́ into é and reorders stacked marks: Rust gives a composed character the
          // span of its first original character, we give it every character it was made from. Ours contains Rust's.
          rows.forEach((row, index) => {
            expect(row.start, text).toBeLessThanOrEqual(expected[index]!.start);
            expect(row.end, text).toBeGreaterThanOrEqual(expected[index]!.end);
          });
        }
        expect(exactOffsets, text).toBe(true);
      }
    });
  }

  it('BERT WordPiece: the same ids, and the same offsets wherever Rust splits at character boundaries', async () => {
    const ours = await OffsetTokenizer.load({ kind: 'folder', folder: sharedTokenizerDir });
    const rust = Tokenizer.fromFile(path.join(sharedTokenizerDir, 'tokenizer.json'));
    // Without the capital final sigma, which the next test is about.
    const torture = TORTURE_TEXT.replace('ΟΔΟΣ ', '');
    for (const text of [
      'I want a refund.',
      'Paris is a [MASK] city.',
      'naïve café 😀 ok',
      "It's don't 123,456.78 $9.99",
      'function add(a, b) {\n  return a + b;\n}',
      torture,
    ]) {
      const expected = await rustRows(rust, text);
      const actual = ours.tokenize(text).tokens.map(({ id, start, end, special }) => ({ id, start, end, special }));
      expect(
        actual.map((row) => row.id),
        text,
      ).toEqual(expected.map((row) => row.id));
      // One deliberate difference: a combining mark that normalizes away joins the token of the letter it sits on
      // (so a decoration covers the whole glyph); Rust leaves it to no token.
      const differing = actual.filter((row, index) => row.start !== expected[index]!.start || row.end !== expected[index]!.end);
      for (const row of differing) {
        const rustRow = expected[actual.indexOf(row)]!;
        expect(row.start, text).toBe(rustRow.start);
        expect(
          /^\p{M}+$/u.test(text.slice(rustRow.end, row.end)),
          `${text}: [${row.start}, ${row.end}) vs Rust [${rustRow.start}, ${rustRow.end})`,
        ).toBe(true);
      }
    }
  });

  it('BERT WordPiece: the one known id difference is transformers.js lower-casing a capital final sigma to ς', async () => {
    const ours = await OffsetTokenizer.load({ kind: 'folder', folder: sharedTokenizerDir });
    const rust = Tokenizer.fromFile(path.join(sharedTokenizerDir, 'tokenizer.json'));
    // JavaScript's toLowerCase is context-sensitive (ΟΔΟΣ → οδος); Rust lower-cases each character (→ οδοσ). The
    // extension reads what transformers.js (and so its pipelines) read.
    expect(ours.tokenize('ΟΔΟΣ').tokens.map((token) => token.text)).toEqual(['[CLS]', 'ο', '##δ', '##ος', '[SEP]']);
    const encoding = await rust.encode('ΟΔΟΣ');
    expect(encoding.getIds().length).toBe(6);
  });
});
