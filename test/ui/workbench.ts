/**
 * Driving VS Code's workbench (code-server) in Chromium: open files, select text, run commands, read the webview.
 */
import * as path from 'node:path';
import { expect, inject } from 'vitest';
import type { ConsoleMessage, FrameLocator, Page } from 'playwright-core';
import { launchChromium, type LaunchedBrowser } from '../../scripts/lib/browser';

export interface Workbench {
  page: Page;
  browser: LaunchedBrowser;
  /** Every console message of the page and its frames (webviews included). */
  console: ConsoleMessage[];
  close(): Promise<void>;
}

export async function openWorkbench(): Promise<Workbench> {
  const browser = await launchChromium();
  const page = await browser.context.newPage();
  const messages: ConsoleMessage[] = [];
  page.on('console', (message) => messages.push(message));
  const folder = inject('workspaceFolder');
  await page.goto(`${inject('codeServerUrl')}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The explorer lists the workspace once the remote file system is up.
  await page.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
  return { page, browser, console: messages, close: () => browser.close() };
}

export async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator(`.tab.active[aria-label^="${name}"]`).waitFor();
  await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
}

/** Selects line `line` (1-based) of the active editor with the keyboard, as a user would. */
export async function selectLine(page: Page, line: number): Promise<void> {
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+G');
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+End');
  // The editor paints the selection on its next frame; commands read it from the model at once, but mouse
  // interactions need it on screen.
  await page.locator('.editor-instance .monaco-editor .selected-text').first().waitFor();
}

export async function collapseSelection(page: Page): Promise<void> {
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('End');
}

/** Runs a command by its palette title (F1, type, Enter). */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor();
  await row.click();
}

/** The DOM of the attention panel's webview: two iframes deep. */
export function attentionPanel(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** Opens one of the panel's tabs (model, head, aggregates, neuron, playground, tokens). */
export async function openTab(panel: FrameLocator, tab: string): Promise<void> {
  await panel.locator(`vscode-tab-header[data-tab="${tab}"]`).click();
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
  return rows.evaluateAll((elements) =>
    elements.map((row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent ?? '')),
  );
}

export function cspViolations(messages: readonly ConsoleMessage[]): string[] {
  return messages
    .map((message) => message.text())
    .filter((text) => /Content Security Policy|Refused to (load|execute|apply)/i.test(text));
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(inject('artifactsDir'), `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export { expect };
