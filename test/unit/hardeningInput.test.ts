/**
 * Hardening (issue 18): input the tokenizer and the model's config must survive — very long texts, model folders
 * whose names are not hub ids, and configs whose labels do not fit the model.
 */
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Analyzer } from '../../src/model/analyzer';
import type { ModelRequest } from '../../src/model/modelSource';
import { graphemeClusters } from '../../src/model/offsets';
import { alignmentWindow, OffsetTokenizer } from '../../src/model/tokenizer';
import { recordCase } from '../support/reliability';
import { loadSharedTokenizers, referenceChecker, referenceIds } from '../support/sharedTokenizers';
import { copyTestModel, ensureTestModel } from '../support/testModels';
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

describe('a model folder whose name is not a hub id (issue 18 #5)', () => {
  /** The model card sentence and its ids (../shared/models/distilbert-sst2-tokenizer/SOURCE.md). */
  const SENTENCE = 'I absolutely loved this movie, it was fantastic!';
  const SENTENCE_IDS = [101, 1045, 7078, 3866, 2023, 3185, 1010, 2009, 2001, 10392, 999, 102];

  /** The tokenizer with every id of its vocabulary reversed: a valid tokenizer that gives other ids. */
  function writeDecoy(from: string, folder: string): void {
    const tokenizer = JSON.parse(fs.readFileSync(path.join(from, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number> };
      added_tokens: Array<{ id: number; content: string }>;
    };
    const size = Object.keys(tokenizer.model.vocab).length;
    for (const token of Object.keys(tokenizer.model.vocab)) tokenizer.model.vocab[token] = size - 1 - tokenizer.model.vocab[token]!;
    for (const token of tokenizer.added_tokens) token.id = tokenizer.model.vocab[token.content] ?? token.id;
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'tokenizer.json'), JSON.stringify(tokenizer));
    fs.copyFileSync(path.join(from, 'tokenizer_config.json'), path.join(folder, 'tokenizer_config.json'));
  }

  it('analyses a folder named "my model" with its own tokenizer, with or without a decoy of that name in the working directory', async () => {
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-folder-name-'));
    const source = ensureTestModel('tiny', 42, ['fp32']);
    const folder = copyTestModel(source, path.join(temp, 'models', 'my model'));
    const workingDir = path.join(temp, 'cwd');
    writeDecoy(source, path.join(workingDir, 'my model'));
    const request: ModelRequest = {
      source: { kind: 'folder', folder },
      dtype: 'fp32',
      offline: true,
      storageDir: path.join(temp, 'storage'),
    };
    const idsOf = async () => {
      const analyzer = new Analyzer();
      try {
        const { result } = await analyzer.analyze(request, SENTENCE);
        return result.tokens.map((token) => token.id);
      } finally {
        await analyzer.dispose();
      }
    };
    const previous = process.cwd();
    try {
      process.chdir(workingDir);
      expect(await idsOf()).toEqual(SENTENCE_IDS);
      fs.rmSync(path.join(workingDir, 'my model'), { recursive: true });
      expect(await idsOf()).toEqual(SENTENCE_IDS);
    } finally {
      process.chdir(previous);
      fs.rmSync(temp, { recursive: true, force: true });
    }
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'model folder named "my model", a decoy "my model/tokenizer.json" in the working directory',
      outcome: "the folder's own tokenizer (same ids with and without the decoy)",
    });
  });

  it('names the tokenizer file a folder lacks or cannot parse, instead of a TypeError', async () => {
    const folder = copyTestModel(ensureTestModel('tiny', 42, ['fp32']), fs.mkdtempSync(path.join(os.tmpdir(), 'attn-no-config-')));
    fs.rmSync(path.join(folder, 'tokenizer_config.json'));
    await expect(OffsetTokenizer.load({ kind: 'folder', folder })).rejects.toMatchObject({
      code: 'invalid-model',
      message: `Could not load the tokenizer from ${folder}: tokenizer_config.json is missing. The folder needs tokenizer.json and tokenizer_config.json.`,
    });
    fs.writeFileSync(path.join(folder, 'tokenizer_config.json'), '{"tokenizer_class": ');
    await expect(OffsetTokenizer.load({ kind: 'folder', folder })).rejects.toMatchObject({
      code: 'invalid-model',
      message: expect.stringContaining('tokenizer_config.json is not valid JSON'),
    });
    fs.writeFileSync(path.join(folder, 'tokenizer_config.json'), '{"tokenizer_class": "AutoModel"}');
    // A class that is not a tokenizer is not instantiated: the base tokenizer reads tokenizer.json.
    expect((await OffsetTokenizer.load({ kind: 'folder', folder })).tokenize('hello').tokens.map((token) => token.id)).toEqual([
      101, 7592, 102,
    ]);
    fs.rmSync(folder, { recursive: true, force: true });
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'model folder without tokenizer_config.json, or with one that is not JSON',
      outcome: 'invalid-model: “Could not load the tokenizer from … tokenizer_config.json is missing.”',
    });
  });
});
