/**
 * The extension in the editor, in code-server + Chromium: hover insights, trusted links from a hover into the
 * panel, the side view (prediction, [CLS]'s rollout, model status), live mode, decorations and the status bar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attentionPanel,
  cspViolations,
  extensionWebview,
  openWorkbenchWithAnalysedSample,
  runCommand,
  screenshot,
  selectLine,
  type Workbench,
  wordCentre,
} from './workbench';

let workbench: Workbench;

beforeAll(async () => {
  workbench = await openWorkbenchWithAnalysedSample();
});

afterAll(async () => {
  await workbench?.close();
});

describe('in the editor', () => {
  it("hovering an analysed word shows its tokens and what it attends to; the hover's link opens the neuron view of that token", async () => {
    const { page } = workbench;
    const target = await wordCentre(page, 'fantastic');
    await page.mouse.move(target.x, target.y);
    const hover = page.locator('.monaco-hover:visible', { hasText: 'Attends most to' });
    await hover.waitFor({ timeout: 15_000 });
    const text = (await hover.textContent()) ?? '';
    expect(text).toContain('fantastic');
    expect(text).toContain('ids 10392');
    expect(text).toContain('Attended most by');
    expect(text).toContain('mean over all layers and heads');
    expect(await hover.locator('tr').count()).toBe(6);
    await screenshot(page, 'hover');
    await hover.locator('a', { hasText: 'Neuron view of this token' }).click();
    const panel = await attentionPanel(page);
    // "fantastic" is token 10 of "[CLS] i absolutely loved this movie , it was fantastic ! [SEP]".
    await expect
      .poll(() => panel.locator('#neuron-token').evaluate((element) => (element as HTMLElement & { value: string }).value), {
        timeout: 15_000,
      })
      .toBe('9');
    await expect.poll(() => panel.locator('vscode-tab-header[data-tab="neuron"]').getAttribute('aria-selected')).toBe('true');
  });

  it("the status bar shows the last label; the side view shows the prediction, [CLS]'s rollout over the tokens and the model's state", async () => {
    const { page } = workbench;
    const panel = await attentionPanel(page);
    const label = (await panel.locator('.prediction h2 .label').textContent()) ?? '';
    const status = page.locator('.statusbar-item[aria-label^="Attention Explorer"]');
    await expect.poll(() => status.textContent()).toContain(label);
    await status.click();
    const side = await extensionWebview(page, 'side');
    await expect.poll(() => side.locator('.current .label').textContent(), { timeout: 15_000 }).toBe(label);
    expect(await side.locator('.importance .chip').count()).toBe(12);
    await expect.poll(() => side.locator('.model-text').textContent()).toMatch(/is ready: fp32, 2 layers × 4 heads/);
    expect(await side.locator('.recent-item').count()).toBeGreaterThan(0);
    await screenshot(page, 'side-view');
  });

  it('live mode re-analyses the selection as it changes and shows it in the side view', async () => {
    const { page } = workbench;
    const side = await extensionWebview(page, 'side');
    await side.locator('#live-mode').click();
    try {
      await expect.poll(() => side.locator('.live-status').textContent(), { timeout: 10_000 }).toBeTruthy();
      await selectLine(page, 2);
      await expect.poll(() => side.locator('.current .source').textContent(), { timeout: 30_000 }).toContain('This product is terrible');
      expect(await side.locator('.importance .chip').count()).toBe(13);
      await selectLine(page, 1);
      await expect.poll(() => side.locator('.current .source').textContent(), { timeout: 30_000 }).toContain('I absolutely loved');
    } finally {
      await side.locator('#live-mode').click();
      await expect.poll(() => side.locator('.live-status').count()).toBe(0);
    }
  });

  it('Toggle Attention Decorations tints the analysed tokens and clears them again', async () => {
    const { page } = workbench;
    // Extension decoration types render with generated `ced-…` classes (the editor's own word highlights do not).
    const tints = page.locator('.editor-instance .monaco-editor .view-overlays [class*="ced-"]');
    const before = await tints.count();
    const target = await wordCentre(page, 'loved');
    await page.mouse.click(target.x, target.y);
    await runCommand(page, 'Attention Explorer: Toggle Attention Decorations');
    await expect.poll(() => tints.count(), { timeout: 10_000 }).toBeGreaterThan(before);
    await screenshot(page, 'decorations');
    await runCommand(page, 'Attention Explorer: Toggle Attention Decorations');
    await expect.poll(() => tints.count(), { timeout: 10_000 }).toBe(before);
  });

  it('logged no Content Security Policy violation', () => {
    expect(cspViolations(workbench.console)).toEqual([]);
  });
});
