import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import {
  activateExtension,
  attentionPanelTabs,
  closeAllEditors,
  openDocument,
  setSetting,
  testModelDir,
  useTestModel,
  waitFor,
} from './helpers';

const analyze = () => vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');

function selectAll(editor: vscode.TextEditor): void {
  const document = editor.document;
  editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(document.getText().length));
}

suite('Analyze Selection', () => {
  suiteSetup(async () => {
    await activateExtension();
    await useTestModel();
  });

  teardown(closeAllEditors);

  test("analyses the selection of a real document: real tokenizer, the model's prediction, the panel", async () => {
    const { api } = await activateExtension();
    const editor = await openDocument('Intro line.\nI absolutely loved this movie, it was fantastic!\nOutro.');
    const line = editor.document.lineAt(1).range;
    editor.selection = new vscode.Selection(line.start, line.end);

    const outcome = await analyze();
    assert.equal(outcome?.kind, 'analysed', JSON.stringify(outcome));
    if (outcome?.kind !== 'analysed') return;
    // Reference ids from ../shared/models/distilbert-sst2-tokenizer/SOURCE.md.
    const ids = outcome.tokens.map((token) => token.id);
    assert.deepEqual(ids, [101, 1045, 7078, 3866, 2023, 3185, 1010, 2009, 2001, 10392, 999, 102]);
    const startOffset = editor.document.offsetAt(line.start);
    for (const token of outcome.tokens.filter((candidate) => !candidate.special)) {
      const range = new vscode.Range(
        editor.document.positionAt(startOffset + token.start),
        editor.document.positionAt(startOffset + token.end),
      );
      assert.equal(editor.document.getText(range).toLowerCase(), token.text.replace(/^##/, ''));
    }
    // The probabilities are the model's: the independent TypeScript forward pass gives the same.
    const config = JSON.parse(fs.readFileSync(path.join(testModelDir(), 'config.json'), 'utf8')) as DistilBertConfig;
    const reference = ReferenceDistilBert.load(path.join(testModelDir(), 'model.safetensors'), config).forward(ids);
    const expected = Array.from(reference.output, (value) => Math.exp(value));
    const sum = expected.reduce((a, b) => a + b, 0);
    outcome.probabilities.forEach((probability, index) =>
      assert.ok(Math.abs(probability - expected[index]! / sum) < 1e-4, `label ${index}: ${probability} vs ${expected[index]! / sum}`),
    );
    assert.deepEqual(outcome.labels, ['NEGATIVE', 'POSITIVE']);
    assert.equal(outcome.model.isTestModel, true);
    assert.equal(api.isPanelOpen, true);
    await waitFor(() => attentionPanelTabs().length === 1, 'the attention panel tab');
    assert.equal(api.isWorkerRunning, true, 'the analysis ran in the worker thread');
    assert.equal(api.modelStatus.state, 'ready');
  });

  test('maps tokens of accented text and CRLF lines back to the document characters', async () => {
    const editor = await openDocument('Héllo wörld,\r\nnaïve CAFÉ — ΟΔΟΣ 日本');
    selectAll(editor);
    const outcome = await analyze();
    assert.equal(outcome?.kind, 'analysed', JSON.stringify(outcome));
    if (outcome?.kind !== 'analysed') return;
    const text = editor.document.getText();
    const slices = outcome.tokens.filter((token) => !token.special).map((token) => [token.text, text.slice(token.start, token.end)]);
    assert.deepEqual(slices, [
      ['hello', 'Héllo'],
      ['world', 'wörld'],
      [',', ','],
      ['naive', 'naïve'],
      ['cafe', 'CAFÉ'],
      ['—', '—'],
      ['ο', 'Ο'],
      ['##δ', 'Δ'],
      ['##ος', 'ΟΣ'],
      ['日', '日'],
      ['本', '本'],
    ]);
  });

  test('an empty selection gets a clear message and no analysis', async () => {
    const editor = await openDocument('Nothing selected here.');
    editor.selection = new vscode.Selection(0, 3, 0, 3);
    const outcome = await analyze();
    assert.equal(outcome?.kind, 'refused');
    assert.match(outcome?.kind === 'refused' ? outcome.message : '', /Select some text first/);
  });

  test('a selection over the character limit is refused before tokenizing, naming the setting', async () => {
    await setSetting('maxSelectionCharacters', 100);
    try {
      const editor = await openDocument('word '.repeat(50));
      selectAll(editor);
      const outcome = await analyze();
      assert.equal(outcome?.kind, 'refused');
      assert.match(
        outcome?.kind === 'refused' ? outcome.message : '',
        /250 characters.*at most 100.*attentionExplorer\.maxSelectionCharacters/,
      );
    } finally {
      await setSetting('maxSelectionCharacters', undefined);
    }
  });

  test('over 512 tokens: truncated to what DistilBERT reads, and said so', async () => {
    const editor = await openDocument('good '.repeat(600));
    selectAll(editor);
    const outcome = await analyze();
    assert.equal(outcome?.kind, 'analysed', JSON.stringify(outcome));
    if (outcome?.kind !== 'analysed') return;
    assert.equal(outcome.truncated, true);
    assert.equal(outcome.tokens.length, 512);
    assert.equal(outcome.tokens[511]?.text, '[SEP]');
  });

  test('rapid repeated commands: the last one wins and the earlier ones are cancelled', async () => {
    const editor = await openDocument('one two three four five six seven eight nine ten');
    selectAll(editor);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => analyze()));
    assert.deepEqual(
      outcomes.slice(0, 4).map((outcome) => outcome?.kind),
      ['cancelled', 'cancelled', 'cancelled', 'cancelled'],
    );
    assert.equal(outcomes[4]?.kind, 'analysed');
    await waitFor(() => attentionPanelTabs().length > 0, 'the attention panel tab');
    assert.equal(attentionPanelTabs().length, 1, 'one panel, reused');
  });

  test('a missing model folder fails with a message naming the folder', async () => {
    await setSetting('localModelPath', '/nonexistent/attention-explorer-model');
    try {
      const editor = await openDocument('Some text.');
      selectAll(editor);
      const outcome = await analyze();
      assert.equal(outcome?.kind, 'failed');
      assert.match(outcome?.kind === 'failed' ? outcome.message : '', /\/nonexistent\/attention-explorer-model is missing config\.json/);
      const { api } = await activateExtension();
      assert.equal(api.modelStatus.state, 'error');
    } finally {
      await useTestModel();
    }
  });
});
