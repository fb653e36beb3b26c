/**
 * A language model in code-server + Chromium: a Qwen3-shaped test model in onnxruntime-genai's fused style
 * (GroupQueryAttention, 4 query heads sharing 2 key/value heads), downloaded from the loopback hub, on a code
 * selection. The grid groups the query heads by the key/value head they share and leaves each causal map's upper
 * triangle empty; the card shows the next tokens; the Generate tab adds three tokens, each with its attention over
 * everything before it; Show Surprisal tints the code and the hover says what the model expected.
 */
import { describe, expect, it } from 'vitest';
import { UI_DECODER_MODEL, UI_TEST_MODEL_ID } from './globalSetup';
import {
  analyseFirstLine,
  attentionPanel,
  openTab,
  runCommand,
  screenshot,
  selectHubModel,
  useModelSwitchingWorkbench,
  wordCentre,
} from './workbench';

const workbenchOf = useModelSwitchingWorkbench('code.py', UI_TEST_MODEL_ID);

describe('a decoder language model (Qwen3, fused GroupQueryAttention)', () => {
  it('grid grouped by KV head with empty upper triangles, next-token card, three generation steps, surprisal tint and hover', async () => {
    const { page } = workbenchOf();
    await selectHubModel(page, UI_DECODER_MODEL.id);
    await analyseFirstLine(page, 'code.py');
    const panel = await attentionPanel(page);
    const card = panel.locator('details.prediction[data-task="text-generation"]');
    await card.waitFor({ timeout: 120_000 });
    expect(await card.locator(':scope > summary').textContent()).toContain('next →');
    await card.locator(':scope > summary').click();
    const next = (await card.locator('table.next-token-card tbody td.num').allTextContents()).map((text) => Number.parseFloat(text));
    expect(next).toHaveLength(10);
    expect(next).toEqual([...next].sort((a, b) => b - a));

    // The grid: 2 layers × 4 query heads in 2 groups of 2 (one per key/value head), a wider gap between groups.
    const grid = panel.locator('canvas.grid-canvas');
    await expect.poll(() => grid.getAttribute('data-draw-ms'), { timeout: 30_000 }).not.toBeNull();
    const layout = await grid.evaluate((element) => ({ ...(element as HTMLElement).dataset }));
    expect(layout.heads).toBe('4');
    expect(layout.perGroup).toBe('2');
    expect(Number(layout.groupGap)).toBeGreaterThan(Number(layout.gap));
    // Pixels of the first tile: its top-right cell (a key after the query) is the background seen between tiles;
    // its bottom-left cell (the last token attending to the first) is painted.
    const pixels = await grid.evaluate((element) => {
      const canvas = element as HTMLCanvasElement;
      const data = canvas.dataset;
      const ratio = canvas.width / Number(data.cssWidth);
      const [left, top, tile, gap] = [data.left, data.top, data.tile, data.gap].map(Number) as [number, number, number, number];
      const at = (x: number, y: number) =>
        Array.from(canvas.getContext('2d')!.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data);
      return {
        upperRight: at(left + tile - 2, top + 2),
        gap: at(left + tile + gap / 2, top + tile / 2),
        lowerLeft: at(left + 2, top + tile - 2),
      };
    });
    expect(pixels.upperRight).toEqual(pixels.gap);
    expect(pixels.lowerLeft).not.toEqual(pixels.gap);
    await screenshot(page, 'decoder-grid');

    // Generation: three greedy steps, each with its attention row over the text and the tokens before it.
    await openTab(panel, 'generate');
    await panel.locator('#next-tokens tbody tr').first().waitFor();
    expect(await panel.locator('#next-tokens tbody tr').count()).toBe(10);
    const tokens = Number(layout.tokens);
    await panel.locator('#generate-start').click();
    const steps = panel.locator('#generation-steps li');
    await expect.poll(() => steps.count(), { timeout: 60_000 }).toBe(3);
    expect(await steps.evaluateAll((items) => items.map((item) => Number((item as HTMLElement).dataset.positions)))).toEqual([
      tokens,
      tokens + 1,
      tokens + 2,
    ]);
    for (const label of await panel
      .locator('#generation-steps canvas.step-attention')
      .evaluateAll((items) => items.map((item) => item.getAttribute('aria-label') ?? '')))
      expect(label).toMatch(/attends most to/);
    expect(await panel.locator('#generated-text').textContent()).toMatch(/^Generated: /);
    await screenshot(page, 'decoder-generation');
    // Insert writes the generated text after the selection in the editor.
    const before = await page.locator('.editor-instance .view-lines').first().textContent();
    await panel.locator('#generate-insert').click();
    await expect.poll(() => page.locator('.editor-instance .view-lines').first().textContent(), { timeout: 15_000 }).not.toBe(before);

    // The decoder statistics: sinks, previous-token and induction heads.
    await openTab(panel, 'aggregates');
    const statistics = panel.locator('table.statistics-table thead th');
    await expect
      .poll(() => statistics.allTextContents(), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['→ first (sink)', '→ previous', 'Induction']));

    // Surprisal: the analysed code is tinted, and the hover of a token says what the model expected there.
    await runCommand(page, 'Attention Explorer: Show Surprisal in the Editor (language models)');
    const overlays = page.locator('.editor-instance .monaco-editor .view-overlays [class*="ced-"]');
    await expect.poll(() => overlays.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const point = await wordCentre(page, 'fibonacci');
    await page.mouse.move(point.x, point.y);
    const hover = page.locator('.monaco-hover:visible', { hasText: 'Surprisal' });
    await hover.waitFor({ timeout: 15_000 });
    expect(await hover.textContent()).toMatch(/Surprisal \d+\.\d\d bits/);
    expect(await hover.textContent()).toMatch(/The model gave this token p = /);
    await screenshot(page, 'decoder-surprisal-hover');
    await page.mouse.move(0, 0);
    await runCommand(page, 'Attention Explorer: Toggle Attention Decorations');
  });
});
