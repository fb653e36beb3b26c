/**
 * Attention from elsewhere in the real extension host: a `.attention.json` file written at test time opens in the
 * custom editor (the default editor for the pattern), and its page's path, a notebook output's path and the test API
 * move the attention into the panel, whose views then return the document's weights. What needs a model or a
 * document is refused there, with a message and without an error in the log. The pages themselves are driven by the
 * UI tests; here their messages go through the host's channels as the pages would send them.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Analysis } from '../../src/shared/analysis';
import type { LabelledMap } from '../../src/shared/analysisViews';
import { buildAttentionDocument, catSequence, writeAttentionFile, type BuiltDocument } from '../support/attentionDocuments';
import { recordCase } from '../support/reliability';
import { activateExtension, closeAllEditors, waitFor } from './helpers';

const VIEW_TYPE = 'attentionExplorer.attentionFile';
const MIME = 'application/vnd.attention-explorer.attention+json';
const plain = { hideSpecial: false, mergeWords: false };
const LAYERS = 2;
const HEADS = 3;

function catDocument(seed: number): BuiltDocument {
  return buildAttentionDocument({
    model: 'bert-base-uncased',
    seed,
    sequences: [catSequence()],
    attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: LAYERS, heads: HEADS, dtype: 'float32' }],
    view: { tab: 'model', layer: 1, head: 2 },
  });
}

function customEditorTabs(uri: vscode.Uri): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter(
      (tab) =>
        tab.input instanceof vscode.TabInputCustom && tab.input.viewType === VIEW_TYPE && tab.input.uri.toString() === uri.toString(),
    );
}

/** The message a request was refused with (it fails the test when the request succeeds). */
async function rejection(request: Promise<unknown>): Promise<string> {
  const outcome = await request.then(
    (result) => ({ ok: true as const, result }),
    (error: unknown) => ({ ok: false as const, message: (error as Error).message }),
  );
  if (outcome.ok) assert.fail(`expected a refusal, got ${JSON.stringify(outcome.result)}`);
  return outcome.message;
}

/** Every head the panel's path returns for an analysis, against the document's weights. */
async function assertPanelMapsAre(analysisId: string, weights: Float32Array, n: number): Promise<void> {
  const { api } = await activateExtension();
  for (let layer = 0; layer < LAYERS; layer += 1) {
    for (let head = 0; head < HEADS; head += 1) {
      const { map, labels } = (await api.requestAsPanel('headMap', { analysisId, layer, head, options: plain })) as LabelledMap;
      assert.deepEqual(labels, ['[CLS]', 'the', 'cat', 'sat', '[SEP]']);
      const offset = (layer * HEADS + head) * n * n;
      assert.deepEqual(Array.from(map), Array.from(weights.subarray(offset, offset + n * n)), `layer ${layer}, head ${head}`);
    }
  }
}

/** The analysis the panel's page was sent, once it is `analysisId`. */
async function shownInPanel(analysisId: string): Promise<Analysis> {
  const { api } = await activateExtension();
  await waitFor(() => api.panelShown?.analysis?.id === analysisId, 'the panel to show the imported analysis', 15_000);
  assert.equal(api.panelAnalysisId, analysisId);
  const shown = api.panelShown;
  assert.equal(shown?.attentionHeld, true);
  assert.ok(shown.analysis);
  return shown.analysis;
}

suite('Attention files and notebook outputs', () => {
  let folder: string;

  suiteSetup(async () => {
    await activateExtension();
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-files-suite-'));
  });

  teardown(async () => {
    await closeAllEditors();
  });

  suiteTeardown(() => {
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
  });

  test('a .attention.json file opens in its custom editor; the page gets its text, and Open in Attention Explorer shows it in the panel', async () => {
    const { api } = await activateExtension();
    const errorsBefore = api.loggedErrors.length;
    const { document, weights } = catDocument(5);
    const file = writeAttentionFile(folder, 'cat.attention.json', document);
    const uri = vscode.Uri.file(file);
    await vscode.commands.executeCommand('vscode.openWith', uri, VIEW_TYPE);
    await waitFor(() => customEditorTabs(uri).length === 1, 'a custom editor tab for cat.attention.json');
    // It is the default editor of the pattern: a plain open picks it too.
    await closeAllEditors();
    await vscode.commands.executeCommand('vscode.open', uri);
    await waitFor(() => customEditorTabs(uri).length === 1, 'vscode.open to pick the attention file editor');

    // The page says it is ready: the host sends the file's text and name.
    await waitFor(() => api.receiveAsAttentionFileEditor(uri, { type: 'event', event: 'ready', payload: {} }), "the editor page's channel");
    await waitFor(
      () => (api.attentionFileEditorSent('showDocument') as { name?: string } | undefined)?.name === 'cat.attention.json',
      'showDocument for cat.attention.json',
    );
    assert.equal((api.attentionFileEditorSent('showDocument') as { length: number }).length, fs.statSync(file).size);

    const opened = await api.requestAsAttentionFileEditor(uri, 'openInPanel', {
      source: { kind: 'file' },
      attention: 'attention',
      title: 'cat.attention.json',
    });
    assert.deepEqual(opened, { opened: true });
    const analysisId = api.panelAnalysisId!;
    const analysis = await shownInPanel(analysisId);
    assert.equal(analysis.prediction.task, 'none');
    assert.equal(analysis.model.family, 'external');
    assert.deepEqual([analysis.model.layers, analysis.model.heads], [LAYERS, HEADS]);
    assert.equal(analysis.source.documentName, 'cat.attention.json');
    assert.equal(analysis.source.documentUri, '');
    await assertPanelMapsAre(analysisId, weights.get('attention')!, 5);

    // A name the file does not have: the page gets the worker's message.
    const unknown = await rejection(
      api.requestAsAttentionFileEditor(uri, 'openInPanel', { source: { kind: 'file' }, attention: 'decoder', title: 'cat.attention.json' }),
    );
    assert.equal(unknown, 'This attention document has no attention named "decoder"; it has "attention" (open "attention").');

    // A file above the size limit: the page is told why instead of getting its text (sparse: nothing on the disk).
    const huge = path.join(folder, 'huge.attention.json');
    const descriptor = fs.openSync(huge, 'w');
    fs.ftruncateSync(descriptor, 145 * 2 ** 20);
    fs.closeSync(descriptor);
    const hugeUri = vscode.Uri.file(huge);
    await vscode.commands.executeCommand('vscode.openWith', hugeUri, VIEW_TYPE);
    await waitFor(
      () => api.receiveAsAttentionFileEditor(hugeUri, { type: 'event', event: 'ready', payload: {} }),
      "the large file's editor",
    );
    await waitFor(() => api.attentionFileEditorSent('showError') !== undefined, 'showError for the large file');
    const tooLarge = (api.attentionFileEditorSent('showError') as { message: string }).message;
    assert.equal(
      tooLarge,
      'huge.attention.json is 145.0 MiB; Attention Explorer opens attention files up to 144.0 MiB. Write it with fewer layers or fewer tokens.',
    );
    assert.equal(api.loggedErrors.length, errorsBefore, api.loggedErrors.slice(errorsBefore).join('\n'));
    recordCase({
      layer: 'extension host',
      area: 'Bad input',
      case: 'a .attention.json file opened in its editor (vscode.openWith and vscode.open), moved into the panel by the page; an attention name it does not have; a 145 MiB attention file',
      outcome: `the custom editor opened (TabInputCustom ${VIEW_TYPE}), the page got the file's text, the panel showed an analysis with no model whose ${LAYERS * HEADS} maps are the file's weights exactly; “${unknown}”; the large file's page was told “${tooLarge}”; no error in the log`,
    });
  });

  test("the test API imports a document: the panel shows it with no model, headMap returns the document's weights, and what needs a model or a document is refused", async () => {
    const { api } = await activateExtension();
    const errorsBefore = api.loggedErrors.length;
    const { document, weights } = catDocument(9);
    const { analysisId } = await api.importAttention({ source: { kind: 'document', document }, documentName: 'notes.ipynb, output' });
    const analysis = await shownInPanel(analysisId);
    assert.deepEqual(analysis.prediction, { task: 'none' });
    assert.equal(analysis.source.documentName, 'notes.ipynb, output');
    await assertPanelMapsAre(analysisId, weights.get('attention')!, 5);

    const refused = await rejection(api.requestAsPanel('neuron', { analysisId, layer: 0, head: 0, query: 1 }));
    assert.equal(refused, 'These maps came from a file or a notebook: there is no model here to run.');
    assert.deepEqual(await api.requestAsPanel('revealToken', { analysisId, tokenIndex: 2 }), { revealed: false });
    assert.deepEqual(await api.requestAsPanel('reanalyze', { analysisId }), { started: false });
    assert.deepEqual(await api.requestAsPanel('insertGenerated', { analysisId, text: 'more' }), { inserted: false });
    // A document that is not one: the message a viewer shows, nothing in the store or the panel changes.
    const broken = await rejection(api.importAttention({ source: { kind: 'document', document: { ...document, version: 2 } } }));
    assert.match(broken, /^This attention document is version 2; this version of Attention Explorer reads version 1\./);
    assert.equal(api.panelAnalysisId, analysisId);
    assert.equal(api.loggedErrors.length, errorsBefore, api.loggedErrors.slice(errorsBefore).join('\n'));
    recordCase({
      layer: 'extension host',
      area: 'Bad input',
      case: 'the neuron view, Reveal token, Re-analyze and Insert generated text asked through the panel of attention imported from a notebook output; a version-2 document',
      outcome: `the panel showed the document's maps exactly; “${refused}”; revealed: false, started: false, inserted: false; “${broken}”; no error in the log`,
    });
  });

  test("a notebook output's path: its editor's channel opens the output's document in the panel, refuses a file source, and closes with the editor", async () => {
    const { api } = await activateExtension();
    const { document, weights } = catDocument(13);
    const notebookFile = path.join(folder, 'notes.ipynb');
    fs.writeFileSync(
      notebookFile,
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { language_info: { name: 'python' } },
        cells: [
          {
            cell_type: 'code',
            id: 'c1',
            execution_count: 1,
            metadata: {},
            source: ['attention_explorer.show(outputs.attentions, tokens)'],
            outputs: [{ output_type: 'display_data', metadata: {}, data: { [MIME]: document, 'text/plain': ['<AttentionView>'] } }],
          },
        ],
      }),
    );
    const notebook = await vscode.workspace.openNotebookDocument(vscode.Uri.file(notebookFile));
    const editor = await vscode.window.showNotebookDocument(notebook);
    // What the renderer receives: the output's data as the notebook stores it.
    const item = notebook.cellAt(0).outputs[0]!.items.find((candidate) => candidate.mime === MIME)!;
    const stored: unknown = JSON.parse(new TextDecoder().decode(item.data));
    const opened = await api.requestAsNotebookOutput(editor, 'openInPanel', {
      source: { kind: 'document', document: stored },
      attention: 'attention',
      title: 'notes.ipynb, cell 1',
    });
    assert.deepEqual(opened, { opened: true });
    const analysis = await shownInPanel(api.panelAnalysisId!);
    assert.equal(analysis.source.documentName, 'notes.ipynb, cell 1');
    await assertPanelMapsAre(analysis.id, weights.get('attention')!, 5);
    assert.equal(api.notebookOutputChannels, 1);
    const fileSource = await rejection(
      api.requestAsNotebookOutput(editor, 'openInPanel', { source: { kind: 'file' }, attention: 'attention', title: 'x' }),
    );
    assert.equal(fileSource, 'A notebook output carries its attention itself: send the document.');
    await closeAllEditors();
    await waitFor(() => api.notebookOutputChannels === 0, "the notebook editor's channel to close");
    recordCase({
      layer: 'extension host',
      area: 'Webview hardening',
      case: "a notebook output's Open in Attention Explorer over its editor's renderer channel (the .ipynb's stored output), then a file source from a notebook, then the editor closed",
      outcome: `the panel showed the output's maps exactly (“${analysis.source.documentName}”); “${fileSource}”; the editor's channel closed with it`,
    });
  });
});
