/**
 * The model families in code-server + Chromium, switched with Select Model (no reload) between test models the
 * loopback hub serves: a BERT NER tagger (entities tinted in the editor, the hover names the label), a fill-mask
 * model (the mask's guesses in the panel and in its hover) and a RoBERTa classifier (the card with its labels).
 */
import { describe, expect, it } from 'vitest';
import { UI_FAMILY_MODELS, UI_TEST_MODEL_ID } from './globalSetup';
import { analyseFirstLine, attentionPanel, screenshot, selectHubModel, useModelSwitchingWorkbench, wordCentre } from './workbench';

const workbenchOf = useModelSwitchingWorkbench('entities.txt', UI_TEST_MODEL_ID);

describe('model families', () => {
  it('a BERT NER tagger: the entities are tinted in the editor with their label, and the hover names it', async () => {
    const { page } = workbenchOf();
    await selectHubModel(page, UI_FAMILY_MODELS.ner.id);
    const overlays = page.locator('.editor-instance .monaco-editor .view-overlays [class*="ced-"]');
    await analyseFirstLine(page, 'entities.txt');
    const panel = await attentionPanel(page);
    const card = panel.locator('details.prediction[data-task="token-classification"]');
    await card.waitFor({ timeout: 90_000 });
    await card.locator(':scope > summary').click();
    const entities = await card
      .locator('table.entities tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => ({ label: row.querySelector('th')?.textContent ?? '', word: row.querySelector('td button')?.textContent ?? '' })),
      );
    expect(entities.length).toBeGreaterThan(0);
    await expect.poll(() => overlays.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await screenshot(page, 'ner-entities');
    // Hover the first entity's first word: the hover says which entity it belongs to.
    const first = entities[0]!;
    const line = 'Ada Lovelace met Charles Babbage in London in 1833.';
    const at = line.toLowerCase().indexOf(first.word.split(' ')[0]!.replace(/^##/, ''));
    expect(at).toBeGreaterThanOrEqual(0);
    const point = await wordCentre(page, line.slice(at, at + 2));
    await page.mouse.move(point.x, point.y);
    const hover = page.locator('.monaco-hover:visible', { hasText: 'entity' });
    await hover.waitFor({ timeout: 15_000 });
    expect(await hover.textContent()).toContain(first.label);
    expect(await hover.textContent()).toContain('This token:');
    await screenshot(page, 'ner-hover');
    await page.mouse.move(0, 0);
  });

  it("a fill-mask model: the mask's five guesses in the panel, its row outlined, and its hover", async () => {
    const { page } = workbenchOf();
    await selectHubModel(page, UI_FAMILY_MODELS.fillMask.id);
    await analyseFirstLine(page, 'masks.txt');
    const panel = await attentionPanel(page);
    const card = panel.locator('details.prediction[data-task="fill-mask"]');
    await card.waitFor({ timeout: 90_000 });
    expect(await card.locator(':scope > summary').textContent()).toContain('mask →');
    await card.locator(':scope > summary').click();
    const table = card.locator('table.mask-predictions');
    expect(await table.count()).toBe(1);
    // "[CLS] paris is the [MASK] of france . [SEP]": the mask is token 4.
    expect(await table.getAttribute('data-index')).toBe('4');
    expect(await table.locator('tbody tr').count()).toBe(5);
    const probabilities = (await table.locator('tbody td.num').allTextContents()).map((text) => Number.parseFloat(text));
    expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
    // The attention from the mask is outlined when a head is opened.
    const grid = panel.locator('canvas.grid-canvas');
    const layout = await grid.evaluate((element) => ({ ...(element as HTMLElement).dataset }));
    const [left, top, tile] = [layout.left, layout.top, layout.tile].map(Number) as [number, number, number];
    await grid.click({ position: { x: left + tile / 2, y: top + tile / 2 } });
    await expect.poll(() => panel.locator('canvas.focus-canvas').first().getAttribute('data-marked-row')).toBe('4');
    await screenshot(page, 'fill-mask-panel');
    const point = await wordCentre(page, '[MASK]');
    await page.mouse.move(point.x, point.y);
    const hover = page.locator('.monaco-hover:visible', { hasText: 'guesses for this mask' });
    await hover.waitFor({ timeout: 15_000 });
    expect(await hover.locator('table').first().locator('tr').count()).toBe(6);
    await page.mouse.move(0, 0);
  });

  it('a RoBERTa classifier: the card lists its three labels with their probabilities', async () => {
    const { page } = workbenchOf();
    await selectHubModel(page, UI_FAMILY_MODELS.sentiment.id);
    await analyseFirstLine(page, 'review.txt');
    const panel = await attentionPanel(page);
    const card = panel.locator('details.prediction[data-task="text-classification"]');
    await card.waitFor({ timeout: 90_000 });
    expect(await card.locator(':scope > summary').textContent()).toContain(UI_FAMILY_MODELS.sentiment.id);
    await card.locator(':scope > summary').click();
    expect(await card.locator('table.probabilities tbody th').allTextContents()).toEqual(['negative', 'neutral', 'positive']);
    const sum = (await card.locator('table.probabilities tbody td.num').allTextContents())
      .map((text) => Number.parseFloat(text))
      .reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 100)).toBeLessThan(0.2);
    await screenshot(page, 'roberta-card');
  });
});
