/**
 * The UI tests' side of driving the workbench: the shared drivers, bound to the code-server the global setup
 * started, plus helpers that assert or write artifacts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import type { FrameLocator, Page } from 'playwright-core';
import { attentionPanel, openFile, openTab, openWorkbenchAt, runCommand, selectLine, type Workbench } from '../../scripts/lib/workbench';

export {
  attentionPanel,
  collapseSelection,
  cspViolations,
  extensionWebview,
  extensionWebviewFrame,
  openFile,
  openTab,
  runCommand,
  selectLine,
  type Workbench,
} from '../../scripts/lib/workbench';

export function openWorkbench(viewport?: { width: number; height: number }): Promise<Workbench> {
  return openWorkbenchAt(inject('codeServerUrl'), inject('workspaceFolder'), viewport);
}

/** A workbench with the sample's first line analysed and the panel's grid drawn. */
export async function openWorkbenchWithAnalysedSample(viewport?: { width: number; height: number }): Promise<Workbench> {
  const workbench = await openWorkbench(viewport);
  await openFile(workbench.page, 'sample.txt');
  await selectLine(workbench.page, 1);
  await runCommand(workbench.page, 'Attention Explorer: Analyze Selection');
  const panel = await attentionPanel(workbench.page);
  await panel.locator('canvas.grid-canvas[data-layers]').waitFor({ timeout: 90_000 });
  return workbench;
}

/** Accepts VS Code's save dialog (the simple file dialog in the browser) at its suggested path. */
export async function acceptSaveDialog(page: Page, suggestedName: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await expect.poll(() => input.inputValue()).toContain(suggestedName);
  await page.keyboard.press('Enter');
}

/** Reads the token table of the panel (opening its tab): [index, token, id, characters, text in document] per row. */
export async function readTokenTable(panel: FrameLocator): Promise<string[][]> {
  await openTab(panel, 'tokens');
  const rows = panel.locator('table.tokens tbody tr');
  await rows.first().waitFor();
  return rows.evaluateAll((elements) => elements.map((row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent ?? '')));
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(inject('artifactsDir'), `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Screen coordinates of the middle of `word` in the first editor's text (Monaco renders text in spans). */
export async function wordCentre(page: Page, word: string): Promise<{ x: number; y: number }> {
  const box = await page
    .locator('.editor-instance .monaco-editor .view-lines')
    .first()
    .evaluate((lines, target) => {
      const walker = document.createTreeWalker(lines, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.textContent?.indexOf(target) ?? -1;
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + target.length);
        const rect = range.getBoundingClientRect();
        return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
      }
      return undefined;
    }, word);
  if (!box) throw new Error(`"${word}" is not on screen`);
  return box;
}

export { expect };

/** Select Model → "Another model on the hub…" → the id, as a user types it. */
export async function selectHubModel(page: Page, id: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, 'Attention Explorer: Select Model…');
    try {
      // The extension's own quick pick replaces the palette once the command runs (activating the extension first
      // on a cold window): wait for its title rather than typing into whichever quick input is showing.
      await page
        .locator('.quick-input-widget .quick-input-title', { hasText: 'Attention Explorer: Select Model' })
        .waitFor({ timeout: 60_000 });
      await input.fill('Another model on the hub', { timeout: 10_000 });
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Another model on the hub' }).first().click({ timeout: 10_000 });
      await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Hub model id' }).waitFor({ timeout: 10_000 });
      await input.fill(id, { timeout: 10_000 });
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
      break;
    } catch (error) {
      // The quick pick closed under the test's hands (focus moved; see focusWorkbench in runCommand): again.
      if (attempt === 2) throw error;
      await page.keyboard.press('Escape');
    }
  }
  // The quick pick closes before the extension host has written the setting: a page closed right after (a test
  // file's afterAll) could lose the write, and the next file would run with this model.
  // Where code-server keeps it: the user's settings, or the remote machine's for machine-overridable settings.
  const files = ['User', 'Machine'].map((scope) => path.join(inject('userDataDir'), scope, 'settings.json'));
  const written = () => files.map((file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '')).join('\n');
  // A plain loop, not expect.poll: this also runs in afterAll hooks, outside any test.
  const wanted = `"attentionExplorer.model": ${JSON.stringify(id)}`;
  const deadline = Date.now() + 15_000;
  while (!written().includes(wanted)) {
    if (Date.now() > deadline) throw new Error(`Select Model did not write ${wanted} to the settings within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function analyseFirstLine(page: Page, file: string): Promise<void> {
  // One editor at a time: the file opens where the keyboard selects.
  await runCommand(page, 'View: Close All Editors');
  await openFile(page, file);
  await selectLine(page, 1);
  await runCommand(page, 'Attention Explorer: Analyze Selection');
}

/**
 * A workbench for a test file that switches models: opened on `file`, and on close switched back to the sample model
 * the other UI test files expect.
 */
export function useModelSwitchingWorkbench(file: string, sampleModelId: string): () => Workbench {
  let workbench: Workbench | undefined;
  beforeAll(async () => {
    workbench = await openWorkbench();
    await openFile(workbench.page, file);
  });
  afterAll(async () => {
    if (workbench) await selectHubModel(workbench.page, sampleModelId);
    await workbench?.close();
  });
  return () => workbench!;
}
