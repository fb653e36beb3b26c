import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attentionPanel,
  collapseSelection,
  cspViolations,
  openFile,
  openWorkbench,
  openTab,
  readTokenTable,
  runCommand,
  screenshot,
  selectLine,
  type Workbench,
} from './workbench';

let workbench: Workbench;

beforeAll(async () => {
  workbench = await openWorkbench();
  await openFile(workbench.page, 'sample.txt');
});

afterAll(async () => {
  await workbench?.close();
});

describe('Analyze Selection in code-server', () => {
  it('downloads the model from the hub with a progress notification, then shows the prediction, a heatmap and the tokens', async () => {
    const { page } = workbench;
    // Whatever ran before, start from an empty model cache so that this analysis downloads.
    await runCommand(page, 'Attention Explorer: Clear Model Cache');
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'the model cache is empty' }).waitFor();
    await selectLine(page, 1);
    await runCommand(page, 'Attention Explorer: Analyze Selection');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'downloading attention-explorer/tiny-distilbert' });
    await toast.waitFor({ timeout: 30_000 });
    await expect.poll(() => toast.textContent(), { timeout: 10_000 }).toMatch(/\d+\.\d of \d+\.\d MB/);
    await screenshot(page, 'download-progress');
    const panel = await attentionPanel(page);
    await panel.locator('.prediction h2').waitFor({ timeout: 60_000 });
    expect(await panel.locator('.prediction h2 .label').textContent()).toMatch(/^(NEGATIVE|POSITIVE)$/);
    expect(await panel.locator('.prediction meter').count()).toBe(2);
    await expect.poll(() => panel.locator('.prediction .notice.warning').textContent()).toContain('random weights');
    await panel.locator('canvas.grid-canvas').waitFor();
    const rows = await readTokenTable(panel);
    expect(rows.map((row) => row[1])).toEqual([
      '[CLS]',
      'i',
      'absolutely',
      'loved',
      'this',
      'movie',
      ',',
      'it',
      'was',
      'fantastic',
      '!',
      '[SEP]',
    ]);
    expect(rows.map((row) => Number(row[2]))).toEqual([101, 1045, 7078, 3866, 2023, 3185, 1010, 2009, 2001, 10392, 999, 102]);
    expect(rows[2]?.slice(3)).toEqual(['2–12', 'absolutely']);
    expect(rows[9]?.slice(3)).toEqual(['38–47', 'fantastic']);
    await screenshot(page, 'analyze-selection');
  });

  it('runs from the keybinding on another line and splits words into pieces', async () => {
    const { page } = workbench;
    await selectLine(page, 2);
    await page.keyboard.press('Control+Alt+A');
    const panel = await attentionPanel(page);
    const rows = await readTokenTable(panel);
    expect(rows.map((row) => row[1])).toContain('terrible');
    expect(rows.map((row) => row[1])).toEqual([
      '[CLS]',
      'this',
      'product',
      'is',
      'terrible',
      ',',
      'i',
      'want',
      'a',
      'ref',
      '##und',
      '.',
      '[SEP]',
    ]);
    expect(rows[9]?.slice(3)).toEqual(['35–38', 'ref']);
    expect(rows[10]?.slice(3)).toEqual(['38–41', 'und']);
  });

  it('runs from the editor context menu', async () => {
    const { page } = workbench;
    await selectLine(page, 1);
    // Right-click in the middle of the selection highlight, as a user does (a click outside it moves the cursor).
    // The editor repaints its selection overlay after a selection change: wait until it holds still.
    const overlay = page.locator('.editor-instance .monaco-editor .selected-text').first();
    let highlight: { x: number; y: number; width: number; height: number } | null = null;
    await expect
      .poll(async () => {
        const before = await overlay.boundingBox();
        await page.waitForTimeout(50);
        highlight = await overlay.boundingBox();
        return before !== null && highlight !== null && before.x === highlight.x && before.width === highlight.width;
      })
      .toBe(true);
    const box = highlight!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    await menu.locator('.action-item', { hasText: 'Analyze Selection' }).waitFor();
    // Walk to the item with the arrow keys and press Enter: the menu acts on the item it has focused, and a mouse
    // click that lands while it is still laying itself out can be dropped.
    for (let step = 0; step < 20; step += 1) {
      if ((await menu.locator('.action-item.focused', { hasText: 'Analyze Selection' }).count()) > 0) break;
      await page.keyboard.press('ArrowDown');
    }
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'hidden' });
    const panel = await attentionPanel(page);
    await expect.poll(async () => (await readTokenTable(panel)).map((row) => row[1]), { timeout: 10_000 }).toContain('fantastic');
    await screenshot(page, 'context-menu');
  });

  it('selects a token in the editor when it is clicked in the panel', async () => {
    const { page } = workbench;
    await selectLine(page, 2);
    await page.keyboard.press('Control+Alt+A');
    const panel = await attentionPanel(page);
    await expect.poll(async () => (await readTokenTable(panel)).map((row) => row[1])).toContain('terrible');
    await panel.locator('button.token', { hasText: 'terrible' }).click();
    await expect.poll(() => panel.locator('#status').textContent()).toContain('Selected “terrible” in the editor');
    // The editor's status bar shows the selection it now has.
    await expect.poll(() => page.locator('.statusbar-item', { hasText: /Ln 2, Col \d+ \(8 selected\)/ }).count()).toBe(1);
  });

  it('shows a notification for an empty selection', async () => {
    const { page } = workbench;
    await collapseSelection(page);
    await page.keyboard.press('Control+Alt+A');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Select some text first' });
    await toast.waitFor();
    await screenshot(page, 'empty-selection');
  });

  it('restores the panel with its tokens after the window reloads', async () => {
    const { page } = workbench;
    // VS Code's own reload (a user's Ctrl+R in the browser skips the workbench's orderly shutdown).
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForEvent('load');
    await page.locator('.monaco-workbench').waitFor();
    const panel = await attentionPanel(page);
    const rows = await readTokenTable(panel);
    expect(rows.map((row) => row[1])).toContain('terrible');
    // The tensors died with the old extension host; the panel offers to analyse again, and gets them back.
    await openTab(panel, 'model');
    await panel.locator('#reanalyze').click();
    await panel.locator('canvas.grid-canvas').waitFor({ timeout: 60_000 });
  });

  it('logged no Content Security Policy violation', () => {
    expect(cspViolations(workbench.console)).toEqual([]);
  });
});
