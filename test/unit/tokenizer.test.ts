import type { PreTrainedTokenizer } from '@huggingface/transformers';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { OffsetTokenizer } from '../../src/model/tokenizer';
import { sharedTokenizerDir } from '../support/paths';
import { loadSharedTokenizers, referenceChecker, referenceIds as idsOf } from '../support/sharedTokenizers';
import { offsetViolations } from '../support/tokenizerChecks';
import { TORTURE_TEXT } from '../support/tortureText';

let tokenizer: OffsetTokenizer;
/** transformers.js's own tokenizer, used as the independent reference. */
let reference: PreTrainedTokenizer;

beforeAll(async () => {
  ({ tokenizer, reference } = await loadSharedTokenizers());
});

const referenceIds = (text: string, options: { truncation?: boolean; max_length?: number } = {}) => idsOf(reference, text, options);
const checker = () => referenceChecker(reference);

describe('OffsetTokenizer', () => {
  it('produces the reference token ids of the model card sentences', () => {
    // From ../shared/models/distilbert-sst2-tokenizer/SOURCE.md (transformers.js 4.3.1).
    expect(tokenizer.tokenize('I absolutely loved this movie, it was fantastic!').tokens.map((token) => token.id)).toEqual([
      101, 1045, 7078, 3866, 2023, 3185, 1010, 2009, 2001, 10392, 999, 102,
    ]);
    expect(tokenizer.tokenize('This product is terrible, I want a refund.').tokens.map((token) => token.id)).toEqual([
      101, 2023, 4031, 2003, 6659, 1010, 1045, 2215, 1037, 25416, 8630, 1012, 102,
    ]);
  });

  it('gives word pieces the characters they came from', () => {
    const text = 'I want a refund.';
    const { tokens, exactOffsets } = tokenizer.tokenize(text);
    expect(exactOffsets).toBe(true);
    expect(tokens.map((token) => [token.text, token.start, token.end, token.special])).toEqual([
      ['[CLS]', 0, 0, true],
      ['i', 0, 1, false],
      ['want', 2, 6, false],
      ['a', 7, 8, false],
      ['ref', 9, 12, false],
      ['##und', 12, 15, false],
      ['.', 15, 16, false],
      ['[SEP]', 0, 0, true],
    ]);
  });

  it('ties every token of a Unicode torture text to its source characters', () => {
    const { tokens, exactOffsets } = tokenizer.tokenize(TORTURE_TEXT);
    expect(tokens.map((token) => token.id)).toEqual(referenceIds(TORTURE_TEXT));
    expect(offsetViolations(TORTURE_TEXT, tokens, checker())).toEqual([]);
    expect(exactOffsets).toBe(true);
    // Spot checks that the invariant alone would not catch.
    const find = (text: string) => tokens.find((token) => token.text === text);
    expect(TORTURE_TEXT.slice(find('hello')!.start, find('hello')!.end)).toBe('Héllo');
    expect(TORTURE_TEXT.slice(find('[MASK]')!.start, find('[MASK]')!.end)).toBe('[MASK]');
    // A trailing combining accent belongs to the token of the letter it sits on.
    expect(TORTURE_TEXT.slice(find('e')!.start, find('e')!.end)).toBe('e\u0301');
    expect(tokens.filter((token) => token.text === '[UNK]').length).toBeGreaterThan(0);
  });

  it('truncates to 512 tokens keeping [SEP], as Hugging Face tokenizers do, and reports the analysed range', () => {
    const text = Array.from({ length: 700 }, (_, index) => `word${index % 10}`).join(' ');
    const result = tokenizer.tokenize(text);
    expect(result.tokens).toHaveLength(512);
    // transformers.js cuts the sequence after adding special tokens, which drops [SEP]; Python's tokenizers (and the
    // model's training) keep [CLS] … [SEP]. The first 511 ids agree; ours end with [SEP].
    const truncatedByTransformersJs = referenceIds(text, { truncation: true, max_length: 512 });
    expect(result.tokens.slice(0, 511).map((token) => token.id)).toEqual(truncatedByTransformersJs.slice(0, 511));
    expect(result.tokens[511]).toMatchObject({ text: '[SEP]', id: reference.sep_token_id, special: true });
    expect(result.truncation?.keptTextTokens).toBe(510);
    expect(result.truncation?.textTokens).toBe(referenceIds(text).length - 2);
    const lastTextToken = result.tokens[510]!;
    expect(result.truncation?.analysedEnd).toBe(lastTextToken.end);
  });

  it('keeps exactly 512 tokens without truncating when the text has 510 word pieces', () => {
    const text = Array.from({ length: 510 }, () => 'the').join(' ');
    const result = tokenizer.tokenize(text);
    expect(result.tokens).toHaveLength(512);
    expect(result.truncation).toBeUndefined();
    const longer = tokenizer.tokenize(`${text} the`);
    expect(longer.tokens).toHaveLength(512);
    expect(longer.truncation).toEqual({ textTokens: 511, keptTextTokens: 510, analysedEnd: text.length });
  });

  it('handles empty and whitespace-only text with just the special tokens', () => {
    expect(tokenizer.tokenize('').tokens.map((token) => token.text)).toEqual(['[CLS]', '[SEP]']);
    expect(tokenizer.tokenize(' \t\n ').tokens.map((token) => token.text)).toEqual(['[CLS]', '[SEP]']);
  });

  it('reports a folder without a tokenizer as an invalid model, naming the folder', async () => {
    const folder = path.join(sharedTokenizerDir, '..', 'no-such-model');
    await expect(OffsetTokenizer.load({ kind: 'folder', folder })).rejects.toMatchObject({
      code: 'invalid-model',
      message: expect.stringContaining(folder),
    });
  });
});
