/**
 * The extension in the editor: commands and their effects on a real document, hover insights, decorations, stale
 * analyses after edits, the side view's messages and live mode. Expected weights come from the independent
 * TypeScript forward pass of the test model (src/reference), never from the code under test.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import type { SelectModelOutcome } from '../../src/views/selectModel';
import { activateExtension, closeAllEditors, openDocument, setSetting, testModelDir, useTestModel, waitFor } from './helpers';

const TEXT = 'First line.\nI absolutely loved this refund, it was fantastic!\nLast line.';
const LINE = 1;

type Analysed = Extract<AnalyzeOutcome, { kind: 'analysed' }>;

interface Reference {
  layers: number;
  heads: number;
  n: number;
  attentions: Float64Array;
}

function reference(ids: number[]): Reference {
  const config = JSON.parse(fs.readFileSync(path.join(testModelDir(), 'config.json'), 'utf8')) as DistilBertConfig;
  const model = ReferenceDistilBert.load(path.join(testModelDir(), 'model.safetensors'), config);
  return { layers: config.n_layers, heads: config.n_heads, n: ids.length, attentions: model.forward(ids).attentions };
}

/** The mean over every layer and head (the default insights source). */
function meanMap(ref: Reference): Float64Array {
  const { layers, heads, n } = ref;
  const out = new Float64Array(n * n);
  for (let slice = 0; slice < layers * heads; slice += 1)
    for (let index = 0; index < n * n; index += 1) out[index]! += ref.attentions[slice * n * n + index]! / (layers * heads);
  return out;
}

async function analyseLine(editor: vscode.TextEditor): Promise<Analysed> {
  editor.selection = new vscode.Selection(editor.document.lineAt(LINE).range.start, editor.document.lineAt(LINE).range.end);
  const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
  assert.equal(outcome?.kind, 'analysed', JSON.stringify(outcome));
  return outcome;
}

function positionOf(editor: vscode.TextEditor, word: string, plus = 1): vscode.Position {
  return editor.document.positionAt(editor.document.getText().indexOf(word) + plus);
}

async function hoverText(editor: vscode.TextEditor, position: vscode.Position): Promise<string | undefined> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', editor.document.uri, position);
  const ours = hovers
    .flatMap((hover) => hover.contents.map((content) => (typeof content === 'string' ? content : content.value)))
    .filter((text) => text.includes('Attention Explorer') || text.includes('Attends most to'));
  return ours[0];
}

/** Rows of the hover's table: [word, weight, word, weight]. */
function hoverRows(markdown: string): Array<[string, number, string, number]> {
  const unescape = (cell: string) => cell.trim().replace(/\\(.)/g, '$1');
  return markdown
    .split('\n')
    .filter((line) => /^\| .* \| [\d.]+ \|/.test(line))
    .map((line) => {
      const cells = line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map(unescape);
      return [cells[0]!, Number(cells[1]), cells[2]!, Number(cells[3])];
    });
}

suite('In the editor', () => {
  suiteSetup(async () => {
    await activateExtension();
    await useTestModel();
  });

  teardown(async () => {
    await closeAllEditors();
    const { api } = await activateExtension();
    if (api.statusBarText === '') throw new Error('status bar item missing');
  });

  test('every command is registered and contributed where it works, with when-clauses', async () => {
    const { extension } = await activateExtension();
    const registered = await vscode.commands.getCommands(true);
    const contributes = (extension.packageJSON as { contributes: unknown }).contributes as {
      commands: Array<{ command: string; title: string; category?: string }>;
      menus: Record<string, Array<{ command: string; when?: string }>>;
      keybindings: Array<{ command: string; when?: string }>;
    };
    const expected = [
      'analyzeSelection',
      'showPanel',
      'explainPrediction',
      'compareSelections',
      'toggleDecorations',
      'openPlayground',
      'selectModel',
      'clearModelCache',
      'showLog',
    ].map((name) => `attentionExplorer.${name}`);
    for (const command of expected) {
      assert.ok(registered.includes(command), `${command} registered`);
      const entry = contributes.commands.find((candidate) => candidate.command === command);
      assert.equal(entry?.category, 'Attention Explorer', `${command} in the category`);
    }
    const when = (menu: string, command: string) =>
      contributes.menus[menu]?.find((entry) => entry.command === `attentionExplorer.${command}`)?.when;
    assert.equal(when('commandPalette', 'analyzeSelection'), 'editorHasSelection');
    assert.equal(when('commandPalette', 'explainPrediction'), 'editorHasSelection || attentionExplorer.hasAnalysis');
    assert.match(when('commandPalette', 'toggleDecorations') ?? '', /attentionExplorer\.hasAnalysis/);
    // Commands only hover links call stay out of the palette.
    assert.equal(when('commandPalette', 'focusInPanel'), 'false');
    assert.equal(when('commandPalette', 'reanalyze'), 'false');
    assert.equal(when('editor/context', 'analyzeSelection'), 'editorHasSelection');
    assert.equal(when('editor/context', 'explainPrediction'), 'editorHasSelection');
    assert.equal(when('editor/context', 'compareSelections'), 'editorHasMultipleSelections');
    assert.equal(when('commandPalette', 'compareSelections'), 'editorHasMultipleSelections || attentionExplorer.hasAnalysis');
    for (const command of ['analyzeSelection', 'explainPrediction', 'toggleDecorations']) {
      assert.ok(
        contributes.keybindings.some((binding) => binding.command === `attentionExplorer.${command}`),
        `${command} has a keybinding`,
      );
    }
  });

  test('Show Attention Panel, Open Playground and Explain Prediction open the panel where they should', async () => {
    const { api } = await activateExtension();
    await vscode.commands.executeCommand('attentionExplorer.openPlayground');
    await waitFor(() => api.isPanelOpen, 'the panel');
    const editor = await openDocument(TEXT);
    editor.selection = new vscode.Selection(editor.document.lineAt(LINE).range.start, editor.document.lineAt(LINE).range.end);
    // With a selection that was never analysed, Explain Prediction analyses it first.
    await vscode.commands.executeCommand('attentionExplorer.explainPrediction');
    const shown = api.panelAnalysisId;
    assert.ok(shown, 'the panel shows an analysis');
    await closeAllEditors();
    assert.equal(api.isPanelOpen, false);
    await vscode.commands.executeCommand('attentionExplorer.showPanel');
    await waitFor(() => api.isPanelOpen, 'the panel again');
    assert.equal(api.panelAnalysisId, shown, 'Show Attention Panel brings back the latest analysis');
  });

  test('Compare Selections analyses two selections in order and shows the first against the second', async () => {
    const { api } = await activateExtension();
    const editor = await openDocument(TEXT);
    const first = editor.document.lineAt(0).range;
    const second = editor.document.lineAt(LINE).range;
    editor.selections = [new vscode.Selection(first.start, first.end), new vscode.Selection(second.start, second.end)];
    const outcome = await vscode.commands.executeCommand<{ kind: string; a?: string; b?: string }>('attentionExplorer.compareSelections');
    assert.equal(outcome.kind, 'compared', JSON.stringify(outcome));
    assert.notEqual(outcome.a, outcome.b);
    await waitFor(() => api.isPanelOpen, 'the panel');
    assert.equal(api.panelAnalysisId, outcome.a, 'the panel shows A (and compares it with B)');
    // With one selection, the last two analyses are compared: the older as A.
    editor.selection = new vscode.Selection(first.start, first.start);
    const again = await vscode.commands.executeCommand<{ kind: string; a?: string; b?: string }>('attentionExplorer.compareSelections');
    assert.deepEqual([again.kind, again.a, again.b], ['compared', outcome.a, outcome.b]);
  });

  test('Select Model writes the user settings, refusing a folder that is not a model', async () => {
    const refused = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', {
      localModelPath: path.join(testModelDir(), 'onnx'),
    });
    assert.equal(refused.kind, 'refused');
    assert.match(refused.kind === 'refused' ? refused.message : '', /not a model folder: it has no config\.json/);
    try {
      const picked = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', {
        modelId: 'someone/other-model',
        dtype: 'q8',
      });
      assert.equal(picked.kind, 'selected');
      const config = vscode.workspace.getConfiguration('attentionExplorer');
      assert.equal(config.inspect('model')?.globalValue, 'someone/other-model');
      assert.equal(config.inspect('dtype')?.globalValue, 'q8');
      assert.equal(config.inspect('localModelPath')?.globalValue, undefined, 'a hub model replaces the folder');
      const folder = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', {
        localModelPath: testModelDir(),
        dtype: 'fp32',
      });
      assert.equal(folder.kind, 'selected');
      assert.equal(config.inspect('localModelPath')?.globalValue, testModelDir());
    } finally {
      await setSetting('model', undefined);
      await useTestModel();
    }
  });

  test("hovering an analysed word shows its pieces and the words it attends to and is attended by, with the model's weights", async () => {
    const editor = await openDocument(TEXT);
    const outcome = await analyseLine(editor);
    const refundPieces = outcome.tokens
      .map((token, index) => ({ token, index }))
      .filter(({ token }) => token.text === 'ref' || token.text === '##und');
    assert.equal(refundPieces.length, 2, 'refund is split into word pieces');
    const text = await hoverText(editor, positionOf(editor, 'refund', 3));
    assert.ok(text, 'a hover');
    assert.match(text, /\*\*refund\*\*/);
    assert.match(text, /`ref` \+ `##und`/);
    assert.match(text, /mean over all layers and heads/);
    assert.match(text, /command:attentionExplorer\.focusInPanel/);

    // The expected lists, from the reference forward pass: words are groups of pieces; to a word = sum over its
    // pieces, from a word = mean over its pieces.
    const ref = reference(outcome.tokens.map((token) => token.id));
    const mean = meanMap(ref);
    const n = ref.n;
    const groups: number[][] = [];
    outcome.tokens.forEach((token, index) => {
      const previous = groups[groups.length - 1];
      if (token.text.startsWith('##') && previous) previous.push(index);
      else groups.push([index]);
    });
    const words = groups.filter((group) => !outcome.tokens[group[0]!]!.special);
    const wordText = (group: number[]) => group.map((index) => outcome.tokens[index]!.text.replace(/^##/, '')).join('');
    const refund = refundPieces.map(({ index }) => index);
    const attendsTo = words
      .map((group) => ({
        word: wordText(group),
        weight: group.reduce((sum, k) => sum + refund.reduce((inner, i) => inner + mean[i * n + k]! / refund.length, 0), 0),
      }))
      .sort((a, b) => b.weight - a.weight);
    const attendedBy = words
      .map((group) => ({
        word: wordText(group),
        weight: group.reduce((sum, i) => sum + refund.reduce((inner, j) => inner + mean[i * n + j]!, 0), 0) / group.length,
      }))
      .sort((a, b) => b.weight - a.weight);
    const rows = hoverRows(text);
    assert.equal(rows.length, 5);
    rows.forEach(([toWord, toWeight, byWord, byWeight], rank) => {
      assert.equal(toWord, attendsTo[rank]!.word);
      assert.ok(Math.abs(toWeight - attendsTo[rank]!.weight) < 1e-3, `attends to ${toWord}: ${toWeight} vs ${attendsTo[rank]!.weight}`);
      assert.equal(byWord, attendedBy[rank]!.word);
      assert.ok(Math.abs(byWeight - attendedBy[rank]!.weight) < 1e-3, `attended by ${byWord}: ${byWeight} vs ${attendedBy[rank]!.weight}`);
    });
    // Outside the analysed text there is no hover of ours.
    assert.equal(await hoverText(editor, positionOf(editor, 'First', 2)), undefined);
  });

  test('decorations tint the tokens at their document offsets by attention from the word under the cursor', async () => {
    const { api } = await activateExtension();
    const editor = await openDocument(TEXT);
    const outcome = await analyseLine(editor);
    const start = editor.document.offsetAt(editor.document.lineAt(LINE).range.start);
    const loved = outcome.tokens.findIndex((token) => token.text === 'loved');
    editor.selection = new vscode.Selection(positionOf(editor, 'loved', 2), positionOf(editor, 'loved', 2));
    const enabled = await vscode.commands.executeCommand<boolean>('attentionExplorer.toggleDecorations');
    assert.equal(enabled, true);
    try {
      await waitFor(() => api.decorationsOf(editor)?.focusTokens[0] === loved, 'decorations from "loved"');
      const applied = api.decorationsOf(editor)!;
      assert.equal(applied.mode, 'attention');
      const ref = reference(outcome.tokens.map((token) => token.id));
      const mean = meanMap(ref);
      const n = ref.n;
      const row = outcome.tokens.map((token, k) => (token.special ? 0 : mean[loved * n + k]!));
      const max = Math.max(...row);
      const tinted = new Set<number>();
      applied.levels.forEach((indices, level) =>
        indices.forEach((index, position) => {
          tinted.add(index);
          const token = outcome.tokens[index]!;
          const range = applied.ranges[level]![position]!;
          assert.equal(editor.document.offsetAt(range.start), start + token.start, `token ${token.text} starts where the tokenizer put it`);
          assert.equal(editor.document.offsetAt(range.end), start + token.end);
          const share = row[index]! / max;
          if (Math.abs(share * 5 - Math.round(share * 5)) > 1e-3)
            assert.equal(level, Math.min(4, Math.floor(share * 5)), `${token.text} at level ${level + 1} for share ${share}`);
        }),
      );
      outcome.tokens.forEach((token, index) => {
        if (!token.special && row[index]! / max >= 0.05 + 1e-3) assert.ok(tinted.has(index), `${token.text} is tinted`);
      });
    } finally {
      assert.equal(await vscode.commands.executeCommand<boolean>('attentionExplorer.toggleDecorations'), false);
    }
    await waitFor(() => api.decorationsOf(editor) === undefined, 'decorations cleared');
  });

  test('an edit inside the analysed text marks it stale (hover, decorations, status bar); an edit before it only moves it', async () => {
    const { api } = await activateExtension();
    const editor = await openDocument(TEXT);
    const outcome = await analyseLine(editor);
    await vscode.commands.executeCommand('attentionExplorer.toggleDecorations');
    try {
      await waitFor(() => api.decorationsOf(editor) !== undefined, 'decorations');
      // Before the range: the analysis moves with its text.
      await editor.edit((edit) => edit.insert(new vscode.Position(0, 0), 'Added words. '));
      assert.equal(api.isStale(outcome.analysisId), false);
      const moved = await hoverText(editor, positionOf(editor, 'fantastic', 2));
      assert.match(moved ?? '', /\*\*fantastic\*\*/);
      // Inside: stale, and everything says so.
      await editor.edit((edit) => edit.insert(positionOf(editor, 'loved', 0), 'really '));
      await waitFor(() => api.isStale(outcome.analysisId) === true, 'the stale mark');
      const stale = await hoverText(editor, positionOf(editor, 'fantastic', 2));
      assert.match(stale ?? '', /Out of date/);
      assert.match(stale ?? '', /command:attentionExplorer\.reanalyze/);
      await waitFor(() => api.decorationsOf(editor) === undefined, 'decorations cleared on a stale analysis');
      assert.match(api.statusBarText, /\(edited\)/);
      // Analysing again takes the edited text.
      assert.equal(await vscode.commands.executeCommand<boolean>('attentionExplorer.reanalyze', { analysisId: outcome.analysisId }), true);
      await waitFor(() => api.decorationsOf(editor) !== undefined, 'decorations of the new analysis');
      const again = await hoverText(editor, positionOf(editor, 'really', 2));
      assert.match(again ?? '', /\*\*really\*\*/);
    } finally {
      await vscode.commands.executeCommand('attentionExplorer.toggleDecorations');
    }
  });

  test("the side view gets the model's state, the prediction and [CLS]'s rollout of the current analysis", async () => {
    const { api } = await activateExtension();
    const editor = await openDocument(TEXT);
    const outcome = await analyseLine(editor);
    await vscode.commands.executeCommand('attentionExplorer.sideView.focus');
    await waitFor(() => api.sideViewState?.current?.id === outcome.analysisId, 'the side view state', 15_000);
    const state = api.sideViewState!;
    assert.equal(state.model.state, 'ready');
    assert.ok(state.model.actions.some((action) => action.action === 'selectModel'));
    const current = state.current!;
    const best = outcome.probabilities.indexOf(Math.max(...outcome.probabilities));
    assert.equal(current.label, outcome.labels[best]);
    assert.equal(current.probability, outcome.probabilities[best]);
    assert.deepEqual(
      current.tokens,
      outcome.tokens.map((token) => token.text),
    );
    // [CLS]'s rollout row from the reference: Â_l = mean over heads + I, rows normalised; R = Â_L … Â_1.
    const ref = reference(outcome.tokens.map((token) => token.id));
    const n = ref.n;
    let vector: number[] = Array.from({ length: n }, (_, index) => (index === 0 ? 1 : 0));
    for (let layer = ref.layers - 1; layer >= 0; layer -= 1) {
      const residual = Array.from({ length: n }, (_, i) => {
        const row = Array.from({ length: n }, (_, j) => {
          let sum = 0;
          for (let head = 0; head < ref.heads; head += 1) sum += ref.attentions[((layer * ref.heads + head) * n + i) * n + j]!;
          return sum / ref.heads + (i === j ? 1 : 0);
        });
        const total = row.reduce((a, b) => a + b, 0);
        return row.map((value) => value / total);
      });
      vector = Array.from({ length: n }, (_, j) => vector.reduce((sum, weight, i) => sum + weight * residual[i]![j]!, 0));
    }
    current.importance!.forEach((value, index) =>
      assert.ok(
        Math.abs(value - (outcome.tokens[index]!.special ? 0 : vector[index]!)) < 1e-4,
        `token ${index}: ${value} vs ${vector[index]}`,
      ),
    );
    assert.ok(state.recent.some((item) => item.id === outcome.analysisId));
    assert.equal(state.liveMode, false);
  });

  test('live mode analyses the selection as it changes, without opening the panel', async () => {
    const { api } = await activateExtension();
    const editor = await openDocument(TEXT);
    await vscode.commands.executeCommand('attentionExplorer.sideView.focus');
    await setSetting('liveMode.delay', 100);
    await setSetting('liveMode.enabled', true);
    try {
      await waitFor(() => api.sideViewState?.liveMode === true, 'live mode on in the side view');
      editor.selection = new vscode.Selection(editor.document.lineAt(2).range.start, editor.document.lineAt(2).range.end);
      await waitFor(() => api.sideViewState?.current?.preview === 'Last line.', 'the live analysis of line 3', 20_000);
      assert.deepEqual(api.sideViewState?.current?.tokens, ['[CLS]', 'last', 'line', '.', '[SEP]']);
      assert.equal(api.isPanelOpen, false, 'live mode leaves the panel closed');
      editor.selection = new vscode.Selection(editor.document.lineAt(0).range.start, editor.document.lineAt(0).range.end);
      await waitFor(() => api.sideViewState?.current?.preview === 'First line.', 'the next selection', 20_000);
    } finally {
      await setSetting('liveMode.enabled', undefined);
      await setSetting('liveMode.delay', undefined);
    }
  });
});
