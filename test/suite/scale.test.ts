/**
 * Long inputs at full size in the extension host: a 2048-token analysis of the Qwen2.5-0.5B-shaped decoder (random
 * weights, optimum's unfused export) completes, keeping each layer's queries and keys rather than 5.6 GB of maps, with
 * the process's peak resident memory reported (the worker is a thread of this process); one head's map comes on
 * demand; and the tensor budget refuses the same input under a small budget with what would fit.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import type { LabelledMap } from '../../src/shared/analysisViews';
import type { SelectModelOutcome } from '../../src/views/selectModel';
import { recordCase } from '../support/reliability';
import { activateExtension, closeAllEditors, familyModelDir, openDocument, setSetting, useTestModel } from './helpers';

const TOKENS = 2048;

async function analyseAll(editor: vscode.TextEditor): Promise<AnalyzeOutcome> {
  const document = editor.document;
  editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(document.getText().length));
  return vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
}

suite('Long inputs at full size', () => {
  let editor: vscode.TextEditor;

  suiteSetup(async function () {
    this.timeout(5 * 60_000);
    await activateExtension();
    const selected = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', {
      localModelPath: familyModelDir('QWEN2_FULL'),
    });
    assert.equal(selected.kind, 'selected');
    // Qwen's tokenizer adds no special token: "the" and then " the" are one token each.
    editor = await openDocument(Array.from({ length: TOKENS }, () => 'the').join(' '));
  });

  suiteTeardown(async () => {
    await setSetting('memory.tensorBudgetMB', undefined);
    await useTestModel();
    await closeAllEditors();
  });

  test(`a ${TOKENS}-token analysis of the full-size decoder completes; peak RSS reported; one head's map on demand`, async function () {
    this.timeout(10 * 60_000);
    const { api } = await activateExtension();
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
    const started = Date.now();
    let outcome: AnalyzeOutcome;
    try {
      outcome = await analyseAll(editor);
    } finally {
      clearInterval(sampler);
    }
    assert.equal(outcome.kind, 'analysed', JSON.stringify(outcome));
    assert.equal(outcome.tokens.length, TOKENS);
    assert.equal(outcome.model.layers, 24);
    assert.equal(outcome.model.heads, 14);
    const seconds = (Date.now() - started) / 1000;
    const diagnostics = await api.diagnostics();
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const everyMap = 24 * 14 * TOKENS * TOKENS * 4;
    const report = `${TOKENS} tokens in ${seconds.toFixed(1)} s (model load included); extension host RSS ${mib(before)} before, peak ${mib(peak)} during (the worker thread, onnxruntime's forward and the 1.9 GB model included), ${mib(diagnostics.rssBytes)} after; the worker holds ${mib(diagnostics.tensorBytes)} of queries, keys and head means where every map would be ${mib(everyMap)}`;
    console.log(`[scale] ${report}`);
    // Nowhere near every map: the worker keeps queries, keys and head means.
    assert.ok(diagnostics.tensorBytes < everyMap / 5, report);

    const options = { hideSpecial: false, mergeWords: false };
    const head = (await api.requestAsPanel('headMap', { analysisId: outcome.analysisId, layer: 23, head: 13, options })) as LabelledMap;
    assert.equal(head.map.length, TOKENS * TOKENS);
    for (const row of [0, 1, TOKENS - 1]) {
      const values = head.map.subarray(row * TOKENS, (row + 1) * TOKENS);
      assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-4, `row ${row} sums to 1`);
      // Causal: nothing after the query.
      assert.ok(
        values.subarray(row + 1).every((value) => value === 0),
        `row ${row} attends to no later token`,
      );
    }
    // At this length the head means stay in the worker: the editor's hover (default lens: the mean over every layer)
    // asks it for the mean map instead of saying the attention is gone.
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      editor.document.uri,
      editor.document.positionAt(editor.document.getText().length - 1),
    );
    const hoverText = hovers
      .flatMap((hover) => hover.contents)
      .map((content) => (typeof content === 'string' ? content : content.value))
      .join('\n');
    assert.match(hoverText, /mean over all layers and heads/, hoverText);
    assert.doesNotMatch(hoverText, /no longer (kept|in memory)/, hoverText);
    recordCase({
      layer: 'extension host',
      area: 'Load',
      case: `a ${TOKENS}-token analysis of the full-size Qwen2.5-0.5B-shaped decoder (24 layers × 14 heads)`,
      outcome: report,
    });
  });

  test('under a small tensor budget the same input is refused, naming the tokens that fit and the setting', async function () {
    this.timeout(2 * 60_000);
    await setSetting('memory.tensorBudgetMB', 64);
    const outcome = await analyseAll(editor);
    assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
    if (outcome.kind !== 'failed') return;
    assert.equal(outcome.code, 'over-budget');
    assert.match(
      outcome.message,
      /^Analysing 2048 tokens with .* \(24 layers × 14 heads\) needs about 1\.\d GiB for its attention; the analysis worker's budget is 64 MiB \(setting attentionExplorer\.memory\.tensorBudgetMB\)\. Select at most \d+ tokens, or use a smaller model, or raise the budget\.$/,
    );
    recordCase({
      layer: 'extension host',
      area: 'Load',
      case: 'a 2048-token selection under a 64 MiB tensor budget',
      outcome: `refused before the model ran: "${outcome.message}"`,
    });
    await setSetting('memory.tensorBudgetMB', undefined);
  });
});
