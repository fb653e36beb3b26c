/**
 * Explaining a prediction in code-server + Chromium: the head-importance map and the occlusion table equal the
 * independent TypeScript forward pass with that head zeroed or that token masked; the attribution tints the editor;
 * Compare Selections sets two analyses side by side.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetTokenizer } from '../../src/model/tokenizer';
import { ReferenceDistilBert, type DistilBertConfig } from '../../src/reference/distilbert';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';
import {
  attentionPanel,
  cspViolations,
  openFile,
  openTab,
  openWorkbenchWithAnalysedSample,
  runCommand,
  screenshot,
  selectLine,
  type Workbench,
} from './workbench';

const LINE_1 = 'I absolutely loved this movie, it was fantastic!';
let workbench: Workbench;
let reference: ReferenceDistilBert;
let ids: number[];
let special: boolean[];

const probabilities = (logits: ArrayLike<number>) => {
  const exps = Array.from(logits, (value) => Math.exp(value));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
};
/** A cell as the panel prints a change: "+1.23" or "−0.45" percentage points. */
const points = (text: string) => Number(text.replace('−', '-'));

beforeAll(async () => {
  const folder = ensureTestModel('tiny');
  reference = ReferenceDistilBert.load(
    path.join(folder, 'model.safetensors'),
    JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as DistilBertConfig,
  );
  const tokens = (await OffsetTokenizer.load({ kind: 'folder', folder })).tokenize(LINE_1).tokens;
  ids = tokens.map((token) => token.id);
  special = tokens.map((token) => token.special);
  workbench = await openWorkbenchWithAnalysedSample();
});

afterAll(async () => {
  await workbench?.close();
});

describe('explaining the prediction', () => {
  it("the head sweep fills the layers × heads map with each head's Δ, equal to the reference forward with that head zeroed", async () => {
    const panel = await attentionPanel(workbench.page);
    await openTab(panel, 'explain');
    await panel.locator('#run-sweep').click();
    await panel.locator('table.head-grid[data-swept="true"]').waitFor({ timeout: 60_000 });
    const cells = await panel.locator('table.head-grid[data-swept="true"] button.head-cell').allTextContents();
    expect(cells).toHaveLength(8);
    const base = probabilities(reference.forward(ids).output);
    const label = base.indexOf(Math.max(...base));
    cells.forEach((text, index) => {
      const mask = Array.from({ length: 8 }, (_, head) => (head === index ? 0 : 1));
      const expected = (probabilities(reference.forward(ids, undefined, mask).output)[label]! - base[label]!) * 100;
      expect(Math.abs(points(text) - expected)).toBeLessThanOrEqual(0.006);
    });
    // The normalised view: every cell within [0, 1], the extremes exactly 0 and 1.
    await panel.locator('#importance-normalised').click();
    const normalised = (await panel.locator('table.head-grid button.head-cell').allTextContents()).map(Number);
    expect(Math.min(...normalised)).toBe(0);
    expect(Math.max(...normalised)).toBe(1);
    await panel.locator('#importance-normalised').click();
  });

  it('switching off selected heads shows the new probabilities next to the original', async () => {
    const panel = await attentionPanel(workbench.page);
    await panel.locator('button.head-cell[data-layer="0"][data-head="1"]').click();
    await panel.locator('button.head-cell[data-layer="1"][data-head="2"]').click();
    expect(await panel.locator('button.head-cell[aria-pressed="true"]').count()).toBe(2);
    await panel.locator('#ablate-selected').click();
    const row = panel.locator('#ablation-result table.ablation-table tbody tr').first();
    await row.waitFor({ timeout: 30_000 });
    const mask = Array.from({ length: 8 }, (_, index) => (index === 1 || index === 6 ? 0 : 1));
    const expected = probabilities(reference.forward(ids, undefined, mask).output);
    const cells = await row.locator('td').allTextContents();
    expect(Math.abs(Number(cells[1]!.replace('%', '')) - expected[0]! * 100)).toBeLessThanOrEqual(0.006);
  });

  it("token attribution lists each token's occlusion Δ (equal to the reference with the token masked) with rollout and flow, and tints the editor", async () => {
    const { page } = workbench;
    const panel = await attentionPanel(page);
    await panel.locator('#run-attribution').click();
    const rows = panel.locator('table.attribution-table tbody tr');
    await rows.first().waitFor({ timeout: 60_000 });
    expect(await rows.count()).toBe(special.filter((value) => !value).length);
    const base = probabilities(reference.forward(ids).output);
    const label = base.indexOf(Math.max(...base));
    const occlusion = await rows.evaluateAll((elements) => elements.map((row) => row.querySelectorAll('td')[0]?.textContent ?? ''));
    const textIndices = special.flatMap((value, index) => (value ? [] : [index]));
    occlusion.forEach((text, row) => {
      const masked = ids.map((id, position) => (position === textIndices[row] ? 103 : id));
      const expected = (probabilities(reference.forward(masked).output)[label]! - base[label]!) * 100;
      expect(Math.abs(points(text) - expected)).toBeLessThanOrEqual(0.006);
    });
    expect(await panel.locator('table.attribution-table th', { hasText: 'Flow' }).count()).toBe(1);
    await screenshot(page, 'explain');

    const tints = page.locator('.editor-instance .monaco-editor .view-overlays [class*="ced-"]');
    const before = await tints.count();
    await panel.locator('#show-attribution').click();
    await expect.poll(() => tints.count(), { timeout: 10_000 }).toBeGreaterThan(before);
    await expect.poll(() => panel.locator('#status').textContent()).toContain('tinted by occlusion attribution');
    await screenshot(page, 'attribution-decorations');
    await runCommand(page, 'Attention Explorer: Toggle Attention Decorations');
    await expect.poll(() => tints.count(), { timeout: 10_000 }).toBe(before);
  });

  it('the head report names heads by what they attend to, and a head opens in the model view', async () => {
    const panel = await attentionPanel(workbench.page);
    await openTab(panel, 'explain');
    const report = panel.locator('dl.head-report');
    await report.waitFor();
    expect(await report.locator('dt').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Attend to the previous token \(\d+\)$/), expect.stringMatching(/^Broad/)]),
    );
    const chips = report.locator('button.head-chip');
    if ((await chips.count()) > 0) {
      await chips.first().click();
      await expect.poll(() => panel.locator('vscode-tab-header[data-tab="model"]').getAttribute('aria-selected')).toBe('true');
    }
  });

  it("Compare Selections sets the last two analyses side by side with one head's difference over the shared tokens", async () => {
    const { page } = workbench;
    await selectLine(page, 2);
    await runCommand(page, 'Attention Explorer: Analyze Selection');
    let panel = await attentionPanel(page);
    await expect.poll(() => panel.locator('.prediction').textContent(), { timeout: 30_000 }).toBeTruthy();
    await runCommand(page, 'Attention Explorer: Compare Selections');
    panel = await attentionPanel(page);
    await expect
      .poll(() => panel.locator('vscode-tab-header[data-tab="compare"]').getAttribute('aria-selected'), { timeout: 15_000 })
      .toBe('true');
    const caption = panel.locator('table.compare-prediction caption');
    await expect.poll(() => caption.textContent(), { timeout: 15_000 }).toContain('I absolutely loved');
    expect(await caption.textContent()).toContain('This product is terrible');
    expect(await panel.locator('table.compare-grid tbody tr').count()).toBe(2);
    // "[CLS] … , i … ! [SEP]" against "[CLS] … , i … . [SEP]": the shared tokens in order.
    await expect.poll(() => panel.locator('#compare-alignment').textContent()).toMatch(/^\d+ tokens align/);
    await panel.locator('.compare-view canvas.focus-canvas').waitFor();
    await screenshot(page, 'compare');
  });

  it('a long occlusion shows its progress with the buttons disabled, and Cancel stops it', async () => {
    const { page } = workbench;
    // Into the editor group beside the panel, not the panel's own group.
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await openFile(page, 'long-review.txt');
    // One line, wrapped on screen: Shift+End would take only its first row.
    await selectLine(page, 1);
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Control+Shift+End');
    await runCommand(page, 'Attention Explorer: Analyze Selection');
    const panel = await attentionPanel(page);
    await expect.poll(() => panel.locator('.prediction').textContent(), { timeout: 30_000 }).toContain('truncated');
    await openTab(panel, 'explain');
    await panel.locator('#occlusion-mode').evaluate((element) => {
      (element as HTMLElement & { value: string }).value = 'remove';
      element.dispatchEvent(new Event('change'));
    });
    await panel.locator('#run-attribution').click();
    const strip = panel.locator('#job-strip');
    await strip.waitFor({ state: 'visible', timeout: 10_000 });
    for (const id of ['run-attribution', 'run-sweep', 'ablate-selected', 'show-attribution']) {
      expect(await panel.locator(`#${id}`).getAttribute('disabled'), id).not.toBeNull();
    }
    await expect.poll(() => panel.locator('#job-text').textContent(), { timeout: 15_000 }).toMatch(/Occluding each token… [1-9]\d*%/);
    const progress = await panel.locator('#job-text').textContent();
    await panel.locator('#job-cancel').click();
    await expect.poll(() => panel.locator('#status').textContent(), { timeout: 10_000 }).toBe('Cancelled.');
    expect(await strip.isHidden()).toBe(true);
    expect(await panel.locator('#run-attribution').getAttribute('disabled')).toBeNull();
    // What was computed before Cancel stays on screen: the units streamed with the progress.
    const partial = panel.locator('table.attribution-table[data-partial]');
    expect(await partial.count()).toBe(1);
    expect(Number(await partial.getAttribute('data-partial'))).toBeGreaterThan(0);
    expect(await partial.locator('caption').textContent()).toMatch(/^Occlusion stopped: \d+ of \d+ runs were done/);
    recordCase({
      layer: 'ui',
      area: 'Load',
      case: 'occlusion by removal of a 512-token text from the Explain tab, cancelled halfway',
      outcome: `progress shown (“${progress ?? ''}”) with the sweep, ablation and attribution buttons disabled; Cancel stopped it (“Cancelled.”), the buttons came back, no partial table`,
    });
  });

  it('logged no Content Security Policy violation', () => {
    expect(cspViolations(workbench.console)).toEqual([]);
  });
});
