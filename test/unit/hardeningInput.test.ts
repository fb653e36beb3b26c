/**
 * Hardening (issue 18): input the tokenizer and the model's config must survive — very long texts, model folders
 * whose names are not hub ids, and configs whose labels do not fit the model.
 */
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { graphemeClusters } from '../../src/model/offsets';
import { alignmentWindow, OffsetTokenizer } from '../../src/model/tokenizer';
import { recordCase } from '../support/reliability';
import { loadSharedTokenizers, referenceChecker, referenceIds } from '../support/sharedTokenizers';
import { ensureTestModel } from '../support/testModels';
import { offsetViolations } from '../support/tokenizerChecks';
import { TORTURE_TEXT } from '../support/tortureText';

/** About 160 KB of text: prose with every kind of character the aligner handles. */
function longText(characters: number): string {
  const paragraph = `${TORTURE_TEXT}\nThe quick brown fox jumps over the lazy dog, again and again, until the text is long.\n`;
  return paragraph.repeat(Math.ceil(characters / paragraph.length)).slice(0, characters);
}

describe('a very long text (issue 18 #11)', () => {
  let tokenizer: OffsetTokenizer;
  let reference: PreTrainedTokenizer;

  beforeAll(async () => {
    ({ tokenizer, reference } = await loadSharedTokenizers());
  });

  it('aligns only a bounded prefix of a 160 KB text, and the kept tokens keep exact offsets', () => {
    const text = longText(160_000);
    const textTokens = reference.tokenize(text);
    const keep = 510;
    const window = alignmentWindow(text, textTokens, keep, (prefix) => reference.tokenize(prefix));
    // The window covers the kept tokens and a few more, a small fraction of the text.
    expect(window.tokens.slice(0, keep)).toEqual(textTokens.slice(0, keep));
    expect(window.end).toBeLessThan(text.length / 10);

    const result = tokenizer.tokenize(text);
    expect(result.tokens).toHaveLength(512);
    const ids = referenceIds(reference, text, { truncation: true, max_length: 512 });
    expect(result.tokens.slice(0, 511).map((token) => token.id)).toEqual(ids.slice(0, 511));
    expect(result.truncation).toMatchObject({ textTokens: textTokens.length, keptTextTokens: keep });
    expect(result.truncation!.analysedEnd).toBeLessThanOrEqual(window.end);
    expect(offsetViolations(text, result.tokens, referenceChecker(reference))).toEqual([]);
    expect(result.exactOffsets).toBe(true);
    // The kept tokens have the offsets they have when the analysed part is tokenized alone.
    const alone = tokenizer.tokenize(text.slice(0, result.truncation!.analysedEnd));
    expect(alone.truncation).toBeUndefined();
    expect(alone.tokens.map(({ id, start, end }) => [id, start, end])).toEqual(result.tokens.map(({ id, start, end }) => [id, start, end]));
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: '160 KB text (Node 20, whose Intl.Segmenter is quadratic)',
      outcome: `512 tokens; only the first ${window.end} characters aligned; offsets exact`,
    });
  });

  it('gives a byte-level tokenizer (RoBERTa) the same kept tokens and offsets on a 160 KB text as on its analysed part', async () => {
    const folder = ensureTestModel('tiny', 42, ['fp32'], { family: 'roberta', task: 'text-classification' });
    const byteLevel = await OffsetTokenizer.load({ kind: 'folder', folder });
    const text = longText(160_000);
    const result = byteLevel.tokenize(text);
    expect(result.tokens).toHaveLength(byteLevel.maxTokens);
    expect(result.truncation).toBeDefined();
    const alone = byteLevel.tokenize(text.slice(0, result.truncation!.analysedEnd));
    expect(alone.tokens.map(({ id, start, end }) => [id, start, end])).toEqual(result.tokens.map(({ id, start, end }) => [id, start, end]));
    expect(result.exactOffsets).toBe(true);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: '160 KB text, byte-level BPE tokenizer',
      outcome: `${result.tokens.length} tokens with the offsets of the analysed part tokenized alone`,
    });
  });

  it('splits text into grapheme clusters piece by piece exactly as Intl.Segmenter does on the whole text', () => {
    const text = [
      TORTURE_TEXT,
      '🇫🇷🇩🇪🇺🇸🇯 odd flags 🇫🇷🇩🇪🇺',
      '👩🏽‍💻👨‍👩‍👧‍👦 family, \r\n\r\r\n\n CR LF',
      'क्षि हिन्दी ত্র্য',
      `x${'\u0301'.repeat(40)} long cluster`,
      '\u1100\u1161\u11a8 jamo ᄀᄀᄀ각',
    ].join(' ');
    const whole = Array.from(new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text), (segment) => ({
      text: segment.segment,
      start: segment.index,
    }));
    for (const chunk of [1, 2, 3, 5, 8, 13, 64, undefined]) {
      expect(graphemeClusters(text, chunk)).toEqual(whole);
    }
    expect(graphemeClusters('')).toEqual([]);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'grapheme clusters segmented in bounded pieces (flags, ZWJ, CR LF, Indic, 40 combining marks)',
      outcome: 'identical to Intl.Segmenter on the whole text for every piece size',
    });
  });
});
