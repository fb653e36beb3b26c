import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttentionExplorerApi } from '../../src/extension';

export const EXTENSION_ID = 'attention-explorer.attention-explorer';

export async function activateExtension(): Promise<{ api: AttentionExplorerApi; extension: vscode.Extension<AttentionExplorerApi> }> {
  const extension = vscode.extensions.getExtension<AttentionExplorerApi>(EXTENSION_ID);
  if (!extension) {
    throw new Error(`Extension ${EXTENSION_ID} is not loaded`);
  }
  const api = await extension.activate();
  return { api, extension };
}

/** The project-built tiny DistilBERT (random weights, real tokenizer) that the runner builds and passes in. */
export function testModelDir(): string {
  const folder = process.env.ATTN_TEST_MODEL_DIR;
  if (!folder) {
    throw new Error('ATTN_TEST_MODEL_DIR is not set: run the suite through scripts/run-extension-tests.ts');
  }
  return folder;
}

/**
 * The other families' test models the runner builds: a BERT NER tagger, a BERT fill-mask model, a RoBERTa classifier,
 * a Qwen3 language model.
 */
export function familyModelDir(kind: 'BERT_NER' | 'BERT_MLM' | 'ROBERTA_CLS' | 'QWEN3' | 'QWEN2_FULL'): string {
  const folder = process.env[`ATTN_TEST_MODEL_${kind}`];
  if (!folder) throw new Error(`ATTN_TEST_MODEL_${kind} is not set: run the suite through scripts/run-extension-tests.ts`);
  return folder;
}

export async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('attentionExplorer').update(key, value, vscode.ConfigurationTarget.Global);
}

/** Points the extension at the test model folder (no hub, no download). */
export async function useTestModel(): Promise<void> {
  await setSetting('localModelPath', testModelDir());
  await setSetting('dtype', undefined);
  await setSetting('offline', undefined);
}

let fileCounter = 0;

/** Writes `content` to a new file on disk and opens it: a real, saved document (closing it asks nothing). */
export async function openDocument(content: string): Promise<vscode.TextEditor> {
  fileCounter += 1;
  const file = path.join(os.tmpdir(), `attention-explorer-test-${process.pid}-${fileCounter}.txt`);
  fs.writeFileSync(file, content);
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  return vscode.window.showTextDocument(document, vscode.ViewColumn.One);
}

export function attentionPanelTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('attentionExplorer.panel'));
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Polls until `condition` holds: the workbench reports some state (tabs, editors) to the extension host a moment later. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
