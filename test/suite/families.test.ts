/**
 * The model families and tasks in the editor: a BERT tagger's entities in the editor and its hover, a fill-mask
 * model's guesses at each mask (decoration and hover), Select Model switching between families without a reload
 * and refusing a model no family reads, Compare Models running one selection through two models, and a language
 * model's surprisal tint and hover. Expected predictions come from the independent TypeScript forwards
 * (src/reference/bert.ts, llama.ts), not from the code under test.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import type { CompareOutcome } from '../../src/extension';
import { ReferenceBert, type BertConfig } from '../../src/reference/bert';
import { ReferenceLlama, type LlamaConfig } from '../../src/reference/llama';
import type { SelectModelOutcome } from '../../src/views/selectModel';
import { activateExtension, closeAllEditors, familyModelDir, openDocument, setSetting, useTestModel, waitFor } from './helpers';

type Analysed = Extract<AnalyzeOutcome, { kind: 'analysed' }>;

function reference(folder: string): ReferenceBert {
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as BertConfig;
  return ReferenceBert.load(path.join(folder, 'model.safetensors'), config);
}

const softmax = (values: ArrayLike<number>) => {
  // A loop, not Math.max(...values): a language model's vocabulary is too many arguments for one call.
  const max = Array.from(values).reduce((best, value) => Math.max(best, value), -Infinity);
  const exps = Array.from(values, (value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
};

async function analyseAll(editor: vscode.TextEditor): Promise<Analysed> {
  const document = editor.document;
  editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(document.getText().length));
  const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
  assert.equal(outcome?.kind, 'analysed', JSON.stringify(outcome));
  return outcome;
}

async function hoverTexts(editor: vscode.TextEditor, offset: number): Promise<string> {
  const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
    'vscode.executeHoverProvider',
    editor.document.uri,
    editor.document.positionAt(offset),
  );
  return hovers.flatMap((hover) => hover.contents.map((content) => (typeof content === 'string' ? content : content.value))).join('\n');
}

suite('Model families in the editor', () => {
  suiteTeardown(async () => {
    await useTestModel();
    await closeAllEditors();
  });

  test('a BERT tagger: each entity tinted with its label after it, and its hover gives the entity and the token label', async () => {
    const { api } = await activateExtension();
    const selected = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', {
      localModelPath: familyModelDir('BERT_NER'),
    });
    assert.equal(selected.kind, 'selected');
    const editor = await openDocument('Ada Lovelace met Charles Babbage in London in 1833.');
    const outcome = await analyseAll(editor);
    const record = outcome.tokens;
    // The tags the independent forward gives every token.
    const folder = familyModelDir('BERT_NER');
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as BertConfig & {
      id2label: Record<string, string>;
    };
    const forward = reference(folder).forward(record.map((token) => token.id));
    const width = forward.dims[1]!;
    const tags = record.map((_, index) => {
      const probabilities = softmax(forward.output.slice(index * width, (index + 1) * width));
      return config.id2label[String(probabilities.indexOf(Math.max(...probabilities)))]!;
    });
    await waitFor(() => api.predictionsOf(editor) !== undefined, 'the entities in the editor');
    const applied = api.predictionsOf(editor)!;
    assert.equal(applied.analysisId, outcome.analysisId);
    const tagged = record.flatMap((token, index) => (!token.special && tags[index] !== 'O' ? [index] : []));
    assert.deepEqual(
      applied.entities.flatMap((entity) => entity.tokens).sort((a, b) => a - b),
      tagged,
      'every token tagged other than O is in an entity',
    );
    assert.ok(applied.entities.length > 0, 'the random tagger finds entities in this text');
    for (const entity of applied.entities) {
      assert.ok(
        entity.tokens.every((index) => tags[index]!.endsWith(entity.label)),
        `${entity.label} groups tokens tagged ${entity.tokens.map((index) => tags[index]).join(' ')}`,
      );
      const first = record[entity.tokens[0]!]!;
      assert.equal(editor.document.offsetAt(entity.ranges[0]!.start), first.start);
    }
    const entity = applied.entities[0]!;
    const hover = (await hoverTexts(editor, record[entity.tokens[0]!]!.start)).replace(/\\/g, '');
    assert.match(hover, new RegExp(`\\*\\*${entity.label}\\*\\* entity`));
    assert.match(hover, new RegExp(`This token: ${tags[entity.tokens[0]!]}`));
  });

  test('a fill-mask model: each mask shows its most probable token, and its hover the five best with the reference probabilities', async () => {
    const { api } = await activateExtension();
    await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', {
      localModelPath: familyModelDir('BERT_MLM'),
    });
    const text = 'Paris is the [MASK] of France.';
    const editor = await openDocument(text);
    const outcome = await analyseAll(editor);
    const maskIndex = outcome.tokens.findIndex((token) => token.text === '[MASK]');
    assert.ok(maskIndex > 0);
    const forward = reference(familyModelDir('BERT_MLM')).forward(outcome.tokens.map((token) => token.id));
    const width = forward.dims[1]!;
    const probabilities = softmax(forward.output.slice(maskIndex * width, (maskIndex + 1) * width));
    const best = probabilities.indexOf(Math.max(...probabilities));
    await waitFor(() => api.predictionsOf(editor) !== undefined, 'the mask prediction in the editor');
    const [mask] = api.predictionsOf(editor)!.masks;
    assert.equal(mask?.index, maskIndex);
    assert.equal(editor.document.getText(mask.range), '[MASK]');
    const hover = await hoverTexts(editor, text.indexOf('[MASK]') + 1);
    assert.match(hover, /The model’s guesses for this mask/);
    assert.match(hover, new RegExp(`${(probabilities[best]! * 100).toFixed(1)}%`));
    assert.equal((hover.match(/^\| `/gm) ?? []).length, 5);
  });

  test('Select Model switches families without a reload; a model no family reads is refused naming its model_type and architectures', async () => {
    await activateExtension();
    await vscode.commands.executeCommand('attentionExplorer.selectModel', { localModelPath: familyModelDir('ROBERTA_CLS') });
    const editor = await openDocument('What a wonderful, terrible day.');
    const outcome = await analyseAll(editor);
    assert.deepEqual(outcome.labels, ['negative', 'neutral', 'positive']);
    assert.equal(outcome.tokens[0]?.text, '<s>');
    const t5 = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-t5-'));
    fs.cpSync(familyModelDir('ROBERTA_CLS'), t5, { recursive: true });
    fs.writeFileSync(
      path.join(t5, 'config.json'),
      JSON.stringify({ model_type: 't5', architectures: ['T5ForConditionalGeneration'], num_layers: 2 }),
    );
    const refused = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', { localModelPath: t5 });
    assert.equal(refused.kind, 'refused');
    assert.match(refused.kind === 'refused' ? refused.message : '', /model_type "t5" with architectures T5ForConditionalGeneration/);
    assert.equal(vscode.workspace.getConfiguration('attentionExplorer').get('localModelPath'), familyModelDir('ROBERTA_CLS'));
  });

  test('a language model: surprisal tints the least expected tokens strongest, and the hover says what the model expected', async () => {
    const { api } = await activateExtension();
    const folder = familyModelDir('QWEN3');
    const selected = await vscode.commands.executeCommand<SelectModelOutcome>('attentionExplorer.selectModel', { localModelPath: folder });
    assert.equal(selected.kind, 'selected');
    const editor = await openDocument('def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)\n');
    const outcome = await analyseAll(editor);
    const ids = outcome.tokens.map((token) => token.id);
    const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as LlamaConfig;
    const forward = ReferenceLlama.load(path.join(folder, 'model.safetensors'), config).forward(ids);
    const vocab = forward.dims.at(-1)!;
    const surprisal = ids.map((id, index) => {
      if (index === 0) return 0;
      const probabilities = softmax(forward.output.slice((index - 1) * vocab, index * vocab));
      return -Math.log2(probabilities[id]!);
    });
    await vscode.commands.executeCommand('attentionExplorer.showSurprisal');
    try {
      await waitFor(() => api.decorationsOf(editor)?.mode === 'surprisal', 'surprisal decorations');
      const applied = api.decorationsOf(editor)!;
      const strongest = applied.levels.at(-1)!;
      assert.ok(strongest.length > 0, 'some token is at the strongest level');
      const top = surprisal.indexOf(Math.max(...surprisal));
      assert.ok(strongest.includes(top), `the most surprising token (${top}) is tinted strongest`);
      const token = outcome.tokens[top]!;
      const hover = (await hoverTexts(editor, token.start)).replace(/\\/g, '');
      assert.match(hover, new RegExp(`Surprisal ${surprisal[top]!.toFixed(2)} bits`));
      assert.match(hover, /The model gave this token p = /);
    } finally {
      await setSetting('decorations.mode', 'attention');
      await vscode.commands.executeCommand('attentionExplorer.toggleDecorations');
    }
  });

  test('Compare Models runs the selection through the configured model and another, both kept loaded', async () => {
    const { api } = await activateExtension();
    await useTestModel();
    const editor = await openDocument('The acting was wonderful.');
    const document = editor.document;
    editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(document.getText().length));
    const compared = await vscode.commands.executeCommand<CompareOutcome>('attentionExplorer.compareModels', {
      localModelPath: familyModelDir('ROBERTA_CLS'),
    });
    assert.equal(compared.kind, 'compared', JSON.stringify(compared));
    if (compared.kind !== 'compared') return;
    await waitFor(() => api.panelAnalysisId === compared.a, 'the compare view of A');
    assert.match(compared.models?.[0] ?? '', /test-distilbert/);
    assert.match(compared.models?.[1] ?? '', /test-roberta-text-classification/);
    const diagnostics = await api.diagnostics();
    assert.equal(diagnostics.sessionsLoaded >= 2, true);
    // The model status (status bar, side view) is still the configured model's, not the compared one's.
    const status = api.modelStatus;
    assert.doesNotMatch('modelName' in status ? status.modelName : '', /roberta/);
    await setSetting('localModelPath', undefined);
  });
});
