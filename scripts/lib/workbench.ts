/**
 * Driving VS Code's workbench (code-server) in Chromium as a user would: open files, select text, run commands,
 * reach the attention panel's webview. Shared by the UI tests and the UI benchmark, so it depends on neither.
 */
import type { ConsoleMessage, FrameLocator, Locator, Page } from 'playwright-core';
import { launchChromium, type LaunchedBrowser } from './browser';

export interface Workbench {
  page: Page;
  browser: LaunchedBrowser;
  /** Every console message of the page and its frames (webviews included). */
  console: ConsoleMessage[];
  close(): Promise<void>;
}

/** Opens code-server at `serverUrl` on `folder` and waits until the explorer lists it. */
export async function openWorkbenchAt(serverUrl: string, folder: string, viewport?: { width: number; height: number }): Promise<Workbench> {
  const browser = await launchChromium(viewport ? { viewport } : {});
  const page = await browser.context.newPage();
  const messages: ConsoleMessage[] = [];
  page.on('console', (message) => messages.push(message));
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(folder)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The explorer lists the workspace once the remote file system is up.
  await page.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
  return { page, browser, console: messages, close: () => browser.close() };
}

/**
 * Opens the quick input with `key` (F1, Ctrl+P) and returns its input box. A workbench still busy restoring
 * (a slow or loaded machine) can drop the key press or show the widget before its input takes text, so the
 * press is repeated (after Escape) until the input is visible and editable, up to three times.
 */
export async function openQuickInput(page: Page, key: string): Promise<Locator> {
  const input = page.locator('.quick-input-widget input');
  await focusWorkbench(page);
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await expectEditable(input, 5_000);
      return input;
    } catch (error) {
      if (attempt === 3) throw new Error(`the quick input did not open after pressing ${key} three times`, { cause: error });
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * Moves the keyboard focus out of a webview (to the first editor group) and waits until it has left. A quick input
 * opened from a webview gives the focus back to it when it closes, and that focus arrives asynchronously: on a loaded
 * machine after the next quick input (the extension's quick pick that the command opens) has shown, which then
 * closes, because quick inputs hide when they lose the focus. Seen in the UI tests under load.
 */
async function focusWorkbench(page: Page): Promise<void> {
  const inWebview = () => page.evaluate<boolean>("document.activeElement?.tagName === 'IFRAME'");
  if (!(await inWebview())) return;
  await page.keyboard.press('Control+1');
  // Best effort: a notebook's first group takes the focus back into its output webview; the callers retry anyway.
  const deadline = Date.now() + 3_000;
  while ((await inWebview()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function expectEditable(input: Locator, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await input.isEditable().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('the quick input is visible but does not take text');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Opens a workspace file with quick open; `text: false` for files that open in another editor (a notebook, a custom editor). */
export async function openFile(page: Page, name: string, options: { text?: boolean } = {}): Promise<void> {
  const input = await openQuickInput(page, 'Control+P');
  await input.fill(name);
  // The list shows recently opened files until the search catches up: pick the row that names the file.
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor();
  await row.click();
  await page.locator(`.tab.active[aria-label^="${name}"]`).waitFor();
  if (options.text !== false) await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
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
  for (let attempt = 1; ; attempt++) {
    const input = await openQuickInput(page, 'F1');
    try {
      await input.fill(`>${title}`, { timeout: 10_000 });
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
      await row.click({ timeout: 15_000 });
      return;
    } catch (error) {
      // The palette closed under the test's hands (see focusWorkbench): open it again.
      if (attempt === 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * The DOM of one of the extension's webviews (`panel`, `side`): two iframes deep. Every webview's outer iframe
 * looks the same, so the page is found by the `data-page` mark of its document, then addressed by its outer
 * iframe's name (stable while the webview lives; ask again after a window reload). Waits for it to exist.
 */
export function extensionWebview(page: Page, name: 'panel' | 'side', timeoutMs = 60_000): Promise<FrameLocator> {
  return extensionWebviewFrame(page, `main[data-page="${name}"]`, timeoutMs);
}

/**
 * The DOM of the webview whose document has an element matching `selector` (open shadow roots included): the
 * extension's pages by their `data-page` mark, a notebook's output webview by its outputs.
 */
export async function extensionWebviewFrame(page: Page, selector: string, timeoutMs = 60_000): Promise<FrameLocator> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const frame of page.frames()) {
      const marked = await frame
        .locator(selector)
        .count()
        .catch(() => 0);
      const outer = marked > 0 ? frame.parentFrame() : null;
      const element = outer ? await outer.frameElement().catch(() => null) : null;
      const id = element ? await element.getAttribute('name') : null;
      if (id) return page.frameLocator(`iframe.webview.ready[name="${id}"]`).frameLocator('iframe#active-frame');
    }
    if (Date.now() > deadline) throw new Error(`no webview with ${selector} after ${timeoutMs} ms`);
    await page.waitForTimeout(100);
  }
}

/** The attention panel's DOM (see {@link extensionWebview}). */
export function attentionPanel(page: Page, timeoutMs?: number): Promise<FrameLocator> {
  return extensionWebview(page, 'panel', timeoutMs);
}

/** Opens one of the panel's tabs (model, head, aggregates, neuron, playground, tokens). */
export async function openTab(panel: FrameLocator, tab: string): Promise<void> {
  await panel.locator(`vscode-tab-header[data-tab="${tab}"]`).click();
}

export function cspViolations(messages: readonly ConsoleMessage[]): string[] {
  return messages.map((message) => message.text()).filter((text) => /Content Security Policy|Refused to (load|execute|apply)/i.test(text));
}
