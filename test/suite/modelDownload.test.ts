import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LoopbackHub } from '../../scripts/lib/loopbackHub';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import type { ModelStatus } from '../../src/analysis/modelService';
import { activateExtension, closeAllEditors, openDocument, setSetting, testModelDir, useTestModel } from './helpers';

const MODEL_ID = 'attention-explorer/tiny-distilbert';

suite('Model download from a hub', () => {
  let hub: LoopbackHub;

  suiteSetup(async () => {
    hub = await LoopbackHub.start([{ id: MODEL_ID, folder: testModelDir() }]);
  });

  suiteTeardown(async () => {
    await hub.close();
    await useTestModel();
    await setSetting('model', undefined);
    await setSetting('hubUrl', undefined);
  });

  teardown(closeAllEditors);

  test('downloads through the hub into global storage, reports progress in the status, then clears the cache', async () => {
    const { api } = await activateExtension();
    await vscode.commands.executeCommand('attentionExplorer.clearModelCache');
    await setSetting('localModelPath', undefined);
    await setSetting('model', MODEL_ID);
    await setSetting('hubUrl', hub.url);
    // Slow enough that progress is reported several times.
    hub.addFault({ file: /model\.onnx$/, fault: { kind: 'slow', bytesPerSecond: 8_000_000 } });
    const states: ModelStatus['state'][] = [];
    const timer = setInterval(() => states.push(api.modelStatus.state), 20);
    try {
      const editor = await openDocument('This product is terrible, I want a refund.');
      editor.selection = new vscode.Selection(0, 0, 0, 42);
      const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
      assert.equal(outcome?.kind, 'analysed', JSON.stringify(outcome));
      if (outcome?.kind === 'analysed') assert.equal(outcome.model.name, MODEL_ID);
    } finally {
      clearInterval(timer);
      hub.clearFaults();
    }
    assert.ok(states.includes('downloading'), `states seen: ${[...new Set(states)].join(', ')}`);
    assert.equal(api.modelStatus.state, 'ready');
    assert.equal(hub.fullDownloadsOf(/model\.onnx$/).length, 1);
    const cached = path.join(api.modelCacheDir, ...MODEL_ID.split('/'), 'onnx', 'model.onnx');
    assert.equal(fs.statSync(cached).size, fs.statSync(path.join(testModelDir(), 'onnx', 'model.onnx')).size);

    await vscode.commands.executeCommand('attentionExplorer.clearModelCache');
    assert.equal(api.modelStatus.state, 'not-downloaded');
    assert.equal(fs.existsSync(cached), false);
  });

  test('an http:// hub that is not this machine is refused, naming the setting', async () => {
    await setSetting('localModelPath', undefined);
    await setSetting('hubUrl', 'http://mirror.example.com');
    try {
      const editor = await openDocument('Some text.');
      editor.selection = new vscode.Selection(0, 0, 0, 10);
      const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
      assert.equal(outcome?.kind, 'failed');
      assert.match(outcome?.kind === 'failed' ? outcome.message : '', /attentionExplorer\.hubUrl must be an https:\/\/ URL/);
    } finally {
      await setSetting('hubUrl', undefined);
      await useTestModel();
    }
  });

  test('a hub URL with credentials is refused, naming the setting, without repeating the secret', async () => {
    const secret = 'hf_sEcReT0token';
    await setSetting('localModelPath', undefined);
    await setSetting('hubUrl', `https://user:${secret}@huggingface.co`);
    try {
      const editor = await openDocument('Some text.');
      editor.selection = new vscode.Selection(0, 0, 0, 10);
      const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
      assert.equal(outcome?.kind, 'failed');
      const message = outcome?.kind === 'failed' ? outcome.message : '';
      assert.match(message, /attentionExplorer\.hubUrl must not contain credentials/);
      assert.ok(!message.includes(secret), message);
    } finally {
      await setSetting('hubUrl', undefined);
      await useTestModel();
    }
  });

  test('offline mode with nothing downloaded says so, and downloads nothing', async () => {
    await vscode.commands.executeCommand('attentionExplorer.clearModelCache');
    await setSetting('localModelPath', undefined);
    await setSetting('model', MODEL_ID);
    await setSetting('hubUrl', hub.url);
    await setSetting('offline', true);
    hub.requests.length = 0;
    try {
      const editor = await openDocument('Some text.');
      editor.selection = new vscode.Selection(0, 0, 0, 10);
      const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
      assert.equal(outcome?.kind, 'failed');
      assert.match(outcome?.kind === 'failed' ? outcome.message : '', /not downloaded yet .* offline mode is on/);
      assert.deepEqual(hub.requests, []);
    } finally {
      await setSetting('offline', undefined);
      await useTestModel();
    }
  });
});
