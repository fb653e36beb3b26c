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
import { chooseTask, readModelConfig } from '../../src/model/families';
import { modelRequestKey, type ModelRequest } from '../../src/model/modelSource';
import { graphemeClusters } from '../../src/model/offsets';
import { headLabels } from '../../src/model/tasks/textClassification';
import { alignmentWindow, OffsetTokenizer } from '../../src/model/tokenizer';
import { headlineOf, MAX_LABELS, predictionRowsOf, type Analysis } from '../../src/shared/analysis';
import { PANEL_WEBVIEW } from '../../src/shared/panelProtocol';
import { parseMessage } from '../../src/shared/rpc';
import { SideAnalysisSchema } from '../../src/shared/sideProtocol';
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

describe('a config whose id2label does not fit the model (issue 18 #12)', () => {
  const source = () => ensureTestModel('tiny', 42, ['fp32']);
  const DOCUMENT = {
    documentName: 'notes.md',
    documentUri: 'file:///notes.md',
    startLine: 0,
    startCharacter: 0,
    endLine: 0,
    endCharacter: 10,
  };

  /** Analyses a text with the tiny classifier under a doctored `id2label`, and explains its prediction. */
  async function analyseWith(id2label: unknown) {
    const folder = copyTestModel(source(), fs.mkdtempSync(path.join(os.tmpdir(), 'attn-labels-')), {
      editConfig: (config) => ({ ...config, id2label, label2id: undefined }),
    });
    const request: ModelRequest = { source: { kind: 'folder', folder }, dtype: 'fp32', offline: true, storageDir: folder };
    const analyzer = new Analyzer();
    try {
      const { result, output } = await analyzer.analyze(request, 'A fine text.');
      const { options } = await analyzer.explainer(modelRequestKey(request));
      const explained = options(result.tokens, undefined).target.explain(output).labels;
      const analysis = { id: 'a1', source: DOCUMENT, text: 'A fine text.', ...result };
      return { result, explained, analysis };
    } finally {
      await analyzer.dispose();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }

  /** Whether the panel and the side view accept the analysis (their channels drop a message that does not fit). */
  function accepted(analysis: Analysis): { panel: boolean; side: boolean } {
    const headline = headlineOf(analysis.prediction)!;
    const side = {
      id: analysis.id,
      label: headline.label,
      probability: headline.probability,
      labels: predictionRowsOf(analysis.prediction).slice(0, 100),
      documentName: analysis.source.documentName,
      line: 1,
      preview: analysis.text,
      stale: false,
      isTestModel: true,
    };
    return {
      panel: parseMessage(PANEL_WEBVIEW.events.showAnalysis.payload, { analysis, attentionHeld: true, stale: false }).ok,
      side: parseMessage(SideAnalysisSchema, side).ok,
    };
  }

  it('takes the labels of the logits there are: 1500 labels for 2 logits give 2, in the prediction and in explanations', async () => {
    const id2label = Object.fromEntries(Array.from({ length: 1500 }, (_, index) => [String(index), `label ${index}`]));
    const { result, explained, analysis } = await analyseWith(id2label);
    if (result.prediction.task !== 'text-classification') throw new Error('expected a text classification');
    expect(result.prediction.labels).toEqual(['label 0', 'label 1']);
    expect(explained).toEqual(['label 0', 'label 1']);
    expect(accepted(analysis)).toEqual({ panel: true, side: true });
    recordCase({ layer: 'unit', area: 'Bad input', case: 'id2label with 1500 labels for 2 logits', outcome: 'the first 2 labels, shown' });
  });

  it('shortens a 5000-character label to 64 characters and names missing ones LABEL_i', async () => {
    const { result, explained, analysis } = await analyseWith({ 0: 'x'.repeat(5000) });
    if (result.prediction.task !== 'text-classification') throw new Error('expected a text classification');
    expect(result.prediction.labels).toEqual([`${'x'.repeat(63)}…`, 'LABEL_1']);
    expect(explained).toEqual(result.prediction.labels);
    expect(accepted(analysis)).toEqual({ panel: true, side: true });
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'id2label with a 5000-character label and one missing',
      outcome: 'the label shortened to 64 characters with “…”, the missing one LABEL_1; shown',
    });
  });

  it.each([
    ['a label that is not a string', { 0: 'NEGATIVE', 1: { text: 'POSITIVE' } }, /id2label "1" is not a string/],
    ['an index that is not a whole number', { 0: 'NEGATIVE', first: 'POSITIVE' }, /id2label key "first" is not a label index/],
    ['labels that are not a table', ['NEGATIVE', 'POSITIVE'], /id2label is not an object/],
  ])('refuses a classifier whose id2label has %s, saying what is wrong', async (_case, id2label, message) => {
    await expect(analyseWith(id2label)).rejects.toMatchObject({ code: 'invalid-model', message: expect.stringMatching(message) });
    recordCase({ layer: 'unit', area: 'Bad input', case: `id2label with ${_case}`, outcome: `invalid-model: “… ${message.source} …”` });
  });

  it('a token-classification headline names at most four entity types, however many long ones the model has', () => {
    const entities = Array.from({ length: 200 }, (_, index) => ({
      label: `${'T'.repeat(60)}${String(index).padStart(4, '0')}`,
      score: 0.9,
      tokens: [index + 1],
      word: 'w',
    }));
    const headline = headlineOf({ task: 'token-classification', labels: [], tokens: [], entities })!;
    expect(headline.label).toBe(
      `${entities
        .slice(0, 4)
        .map((entity) => entity.label)
        .join(', ')} +196`,
    );
    const side = { id: 'a', label: headline.label, labels: [], documentName: 'd', line: 1, preview: 'p', stale: false, isTestModel: true };
    expect(parseMessage(SideAnalysisSchema, side).ok).toBe(true);
  });

  it('reads a fill-mask model whose id2label is unusable (it shows no labels), and refuses a head too wide to be a classifier', () => {
    const folder = copyTestModel(
      ensureTestModel('tiny', 42, ['fp32'], { task: 'fill-mask' }),
      fs.mkdtempSync(path.join(os.tmpdir(), 'attn-labels-mlm-')),
      { editConfig: (config) => ({ ...config, id2label: { 0: 7 } }) },
    );
    const { config } = readModelConfig(path.join(folder, 'config.json'));
    expect(chooseTask(config, undefined)).toBe('fill-mask');
    fs.rmSync(folder, { recursive: true, force: true });
    expect(() => headLabels([], MAX_LABELS + 1)).toThrow(/more than the 10000 labels/);
    expect(headLabels(['a'], 3)).toEqual(['a', 'LABEL_1', 'LABEL_2']);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'fill-mask model with an unusable id2label; a classifier head of 10 001 logits',
      outcome: 'the fill-mask model is read (it shows no labels); the wide head is refused with invalid-model',
    });
  });
});
