/**
 * The panel gives the room to the views: in a 1600 × 1000 window with the panel beside the editor, the prediction is
 * one line, the options one row, and the model grid's first row of heads is on screen without scrolling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameLocator } from 'playwright-core';
import { attentionPanel, openWorkbenchWithAnalysedSample, screenshot, type Workbench } from './workbench';

let workbench: Workbench;
let panel: FrameLocator;

beforeAll(async () => {
  workbench = await openWorkbenchWithAnalysedSample({ width: 1600, height: 1000 });
  panel = await attentionPanel(workbench.page);
});

afterAll(async () => {
  await workbench?.close();
});

describe('the panel beside the editor in a 1600 × 1000 window', () => {
  it("shows the model grid's first row without scrolling; the prediction is one line and the options one row", async () => {
    const layout = await panel.locator('canvas.grid-canvas[data-layers]').evaluate((canvas) => {
      const grid = canvas.getBoundingClientRect();
      const summary = document.querySelector('details.prediction > summary')!.getBoundingClientRect();
      const controls = Array.from(document.querySelectorAll('.toolbar > *'), (element) => element.getBoundingClientRect()).filter(
        (rect) => rect.width > 0,
      );
      return {
        firstRowBottom: grid.top + Number(canvas.dataset.top) + Number(canvas.dataset.tile),
        viewportHeight: window.innerHeight,
        viewportWidth: window.innerWidth,
        scrollY: window.scrollY,
        summaryHeight: summary.height,
        toolbarRows: new Set(controls.map((rect) => Math.round(rect.top))).size,
        headerHeight:
          document.querySelector('header')!.getBoundingClientRect().height -
          document.getElementById('status')!.getBoundingClientRect().height,
        cardOpen: (document.querySelector('details.prediction') as HTMLDetailsElement).open,
        // Every option and export button is on screen, none scrolled out of the row.
        offScreen: Array.from(
          document.querySelectorAll(
            '.toolbar vscode-checkbox, .toolbar vscode-single-select, .toolbar vscode-textfield, .export-group button',
          ),
        )
          .filter((element) => element.getBoundingClientRect().right > window.innerWidth)
          .map((element) => element.id),
      };
    });
    // The panel really is beside the editor, not the whole window.
    expect(layout.viewportWidth).toBeLessThan(1000);
    expect(layout.scrollY).toBe(0);
    expect(layout.firstRowBottom).toBeLessThanOrEqual(layout.viewportHeight);
    expect(layout.cardOpen).toBe(false);
    expect(layout.summaryHeight).toBeLessThan(40);
    expect(layout.headerHeight).toBeLessThan(40);
    expect(layout.toolbarRows).toBe(1);
    expect(layout.offScreen).toEqual([]);
    await screenshot(workbench.page, 'layout-1600x1000');
  });

  it('the prediction line expands to every label with its probability, and stays open across views', async () => {
    await panel.locator('details.prediction > summary').click();
    await expect.poll(() => panel.locator('.prediction meter').first().isVisible()).toBe(true);
    expect(await panel.locator('.prediction table.probabilities tbody tr').count()).toBe(2);
    await panel.locator('vscode-tab-header[data-tab="head"]').click();
    await panel.locator('vscode-tab-header[data-tab="model"]').click();
    expect(await panel.locator('details.prediction').evaluate((card) => (card as HTMLDetailsElement).open)).toBe(true);
    await panel.locator('details.prediction > summary').click();
  });
});
