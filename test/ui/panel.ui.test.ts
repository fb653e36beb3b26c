/**
 * The attention panel in code-server + Chromium, checked against the model's own numbers: the same tiny test model
 * runs here, in the test process, on the same text.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FrameLocator } from 'playwright-core';
import { Analyzer, type AnalysisResult } from '../../src/model/analyzer';
import { parseAttentionDocument } from '../../src/shared/attentionFile';
import { sharedDir } from '../support/paths';
import { ensureTestModel } from '../support/testModels';
import {
  acceptSaveDialog,
  attentionPanel,
  cspViolations,
  openTab,
  openWorkbenchWithAnalysedSample,
  runCommand,
  screenshot,
  selectLine,
  type Workbench,
} from './workbench';
import { allLayers, type LayerMaps } from '../../src/model/layerMaps';

const TEXT = 'I absolutely loved this movie, it was fantastic!';
let workbench: Workbench;
let panel: FrameLocator;
let expected: AnalysisResult;
let attentions: Float32Array[];
let n: number;

const weightOf = (layer: number, head: number, row: number, col: number) => attentions[layer]![(head * n + row) * n + col]!;

async function data(selector: string): Promise<Record<string, string | undefined>> {
  return panel.locator(selector).evaluate((element) => ({ ...(element as HTMLElement).dataset }));
}

beforeAll(async () => {
  const analyzer = new Analyzer();
  let attention: LayerMaps;
  ({ result: expected, attention } = await analyzer.analyze(
    {
      source: { kind: 'folder', folder: ensureTestModel('tiny') },
      dtype: 'fp32',
      offline: true,
      storageDir: fs.mkdtempSync(path.join(os.tmpdir(), 'attn-ui-expected-')),
    },
    TEXT,
  ));
  attentions = await allLayers(attention);
  await analyzer.dispose();
  n = expected.tokens.length;
  workbench = await openWorkbenchWithAnalysedSample();
  panel = await attentionPanel(workbench.page);
});

afterAll(async () => {
  await workbench?.close();
});

describe('model view', () => {
  it('shows every layer × head of the model; hovering a cell shows the exact weight the model produced for that pair', async () => {
    const grid = await data('canvas.grid-canvas');
    expect([grid.layers, grid.heads]).toEqual(['2', '4']);
    const [left, top, tile, gap] = [grid.left, grid.top, grid.tile, grid.gap].map(Number) as [number, number, number, number];
    for (const [layer, head, row, col] of [
      [1, 2, 3, 5],
      [0, 0, 0, n - 1],
    ] as const) {
      await panel.locator('canvas.grid-canvas').hover({
        position: { x: left + head * (tile + gap) + ((col + 0.5) / n) * tile, y: top + layer * (tile + gap) + ((row + 0.5) / n) * tile },
      });
      await expect.poll(async () => (await data('.grid-readout')).weight).toBe(String(weightOf(layer, head, row, col)));
      const readout = await data('.grid-readout');
      expect([readout.layer, readout.head, readout.row, readout.col]).toEqual([layer, head, row, col].map(String));
    }
    await screenshot(workbench.page, 'model-grid');
  });

  it('opens one head large on click; the focus view reads exact weights, zooms, and has a table alternative', async () => {
    const grid = await data('canvas.grid-canvas');
    const [left, top, tile, gap] = [grid.left, grid.top, grid.tile, grid.gap].map(Number) as [number, number, number, number];
    await panel
      .locator('canvas.grid-canvas')
      .click({ position: { x: left + 2 * (tile + gap) + tile / 2, y: top + 1 * (tile + gap) + tile / 2 } });
    await expect.poll(() => panel.locator('.focus-section h3').textContent()).toBe('Layer 2, head 3');
    const focus = panel.locator('canvas.focus-canvas').first();
    const { margin, cell } = await focus.evaluate((element) => ({
      margin: Number((element as HTMLElement).dataset.margin),
      cell: Number((element as HTMLElement).dataset.cell),
    }));
    await focus.hover({ position: { x: margin + 6.5 * cell, y: margin + 4.5 * cell } });
    await expect.poll(async () => (await data('.focus-section .heatmap-readout')).weight).toBe(String(weightOf(1, 2, 4, 6)));
    expect(await panel.locator('.focus-section .heatmap-readout').textContent()).toContain(
      `“${expected.tokens[4]!.text}” → “${expected.tokens[6]!.text}”`,
    );
    await focus.focus();
    await workbench.page.keyboard.press('+');
    await expect
      .poll(async () => Number((await focus.evaluate((element) => (element as HTMLElement).dataset.zoom)) ?? 1))
      .toBeGreaterThan(1);
    await workbench.page.keyboard.press('0');
    await panel.locator('#table-toggle').click();
    await expect.poll(() => panel.locator('table.attention-table tbody tr').count()).toBe(n);
    await screenshot(workbench.page, 'model-focus');
  });

  it('moves between heads with the arrow keys and opens one with Enter', async () => {
    await panel.locator('#back-to-grid').click();
    const canvas = panel.locator('canvas.grid-canvas');
    await canvas.focus();
    await workbench.page.keyboard.press('ArrowRight');
    await workbench.page.keyboard.press('ArrowUp');
    await expect.poll(() => panel.locator('.grid-readout').textContent()).toContain('Layer 1, head 4');
    await workbench.page.keyboard.press('Enter');
    await expect.poll(() => panel.locator('.focus-section h3').textContent()).toBe('Layer 1, head 4');
    await panel.locator('#back-to-grid').click();
  });

  it("draws the next analysis's grid from the thumbnails the host computed ahead, with the model's exact weights", async () => {
    const before = await data('canvas.grid-canvas');
    expect(before.source).toBe('request');
    // The same tabs serve the next analysis: kept in the page, not built again (which costs a layout of all of them).
    await panel.locator('vscode-tabs').evaluate((tabs) => tabs.setAttribute('data-kept', 'yes'));
    await selectLine(workbench.page, 1);
    await runCommand(workbench.page, 'Attention Explorer: Analyze Selection');
    await expect
      .poll(async () => Number((await data('canvas.grid-canvas')).drawnAt), { timeout: 60_000 })
      .toBeGreaterThan(Number(before.drawnAt));
    const grid = await data('canvas.grid-canvas');
    // Computed by the host while the analysis was on its way and sent just before it: the page did not ask.
    expect(grid.source).toBe('prefetch');
    expect(await panel.locator('vscode-tabs').getAttribute('data-kept')).toBe('yes');
    const [left, top, tile, gap] = [grid.left, grid.top, grid.tile, grid.gap].map(Number) as [number, number, number, number];
    const [layer, head, row, col] = [1, 3, 2, 4];
    await panel.locator('canvas.grid-canvas').hover({
      position: { x: left + head * (tile + gap) + ((col + 0.5) / n) * tile, y: top + layer * (tile + gap) + ((row + 0.5) / n) * tile },
    });
    await expect.poll(async () => (await data('.grid-readout')).weight).toBe(String(weightOf(layer, head, row, col)));
  });
});

describe('other views', () => {
  it("the head view draws each token's lines and keeps one token's when it is pointed at", async () => {
    await openTab(panel, 'head');
    const canvas = panel.locator('canvas.head-view-canvas');
    await expect.poll(async () => Number((await data('canvas.head-view-canvas')).lines ?? 0)).toBeGreaterThan(n);
    const all = Number((await data('canvas.head-view-canvas')).lines);
    await canvas.hover({ position: { x: 60, y: 10 + 2.5 * 18 } });
    await expect.poll(async () => Number((await data('canvas.head-view-canvas')).lines)).toBeLessThan(all);
    expect(await panel.locator('.head-view-readout').textContent()).toContain(`“${expected.tokens[2]!.text}”`);
    await screenshot(workbench.page, 'head-view');
  });

  it("aggregates: the mean over heads is the model's own head mean; flow renders; statistics and entropies cover every head", async () => {
    await openTab(panel, 'aggregates');
    const heatmap = panel.locator('.aggregates-view canvas.focus-canvas');
    await heatmap.waitFor();
    await expect.poll(() => panel.locator('table.statistics-table tbody tr').count()).toBe(8);
    expect(await panel.locator('table.entropy-table tbody tr').count()).toBe(2);
    const { margin, cell } = await heatmap.evaluate((element) => ({
      margin: Number((element as HTMLElement).dataset.margin),
      cell: Number((element as HTMLElement).dataset.cell),
    }));
    await heatmap.hover({ position: { x: margin + 2.5 * cell, y: margin + 7.5 * cell } });
    const layer = Number(await panel.locator('#aggregate-layer').evaluate((element) => (element as HTMLElement & { value: string }).value));
    await expect
      .poll(async () => Number((await data('.aggregates-view .heatmap-readout')).weight))
      .toBeCloseTo(expected.headMeans![layer * n * n + 7 * n + 2]!, 6);
    await panel.locator('#aggregate-kind').evaluate((element) => {
      (element as HTMLElement & { value: string }).value = 'flow';
      element.dispatchEvent(new Event('change'));
    });
    await expect.poll(() => panel.locator('#aggregate-explanation').textContent()).toContain('maximum flow');
    await expect.poll(async () => (await heatmap.getAttribute('aria-label')) ?? '').toContain('attention flow');
    // The readout follows the map now shown: no caption of the mean map left behind.
    const readout = panel.locator('.aggregates-view .heatmap-readout');
    await expect.poll(() => readout.textContent()).toContain('flow');
    expect(await readout.textContent()).not.toContain('mean over heads');
    await screenshot(workbench.page, 'aggregates');
  });

  it('the neuron view: the softmax of q·k/√d is the attention the model reported', async () => {
    await openTab(panel, 'neuron');
    const rows = panel.locator('table.neuron-numbers tbody tr');
    await expect.poll(() => rows.count()).toBe(n);
    const cells = await rows.evaluateAll((elements) =>
      elements.map((row) => Array.from(row.querySelectorAll('td'), (cell) => cell.textContent ?? '')),
    );
    const state = await panel.locator('#neuron-layer').evaluate((element) => (element as HTMLElement & { value: string }).value);
    const layer = Number(state);
    const head = Number(await panel.locator('#neuron-head').evaluate((element) => (element as HTMLElement & { value: string }).value));
    const query = Number(await panel.locator('#neuron-token').evaluate((element) => (element as HTMLElement & { value: string }).value));
    cells.forEach((row, key) => {
      const computed = Number(row[2]);
      const reported = Number(row[3]);
      expect(Math.abs(computed - reported)).toBeLessThanOrEqual(2e-6);
      expect(reported).toBeCloseTo(weightOf(layer, head, query, key), 6);
    });
    await screenshot(workbench.page, 'neuron-view');
  });

  it("the playground shows NumPy's numbers for the seed article's example (seed 42)", async () => {
    await openTab(panel, 'playground');
    const golden = JSON.parse(fs.readFileSync(path.join(sharedDir, 'goldens', 'seed-article-example.json'), 'utf8')) as {
      weights: number[][][];
      output: number[][][];
    };
    for (const [step, values] of [
      ['batch0.weights', golden.weights[0]!],
      ['batch1.weights', golden.weights[1]!],
      ['batch1.output', golden.output[1]!],
    ] as const) {
      await panel.locator(`button.step-link[data-step="${step}"]`).click();
      const table = panel.locator(`table.matrix[data-step="${step}"]`);
      await table.waitFor();
      const shown = await table
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((row) => Array.from(row.querySelectorAll('td'), (cell) => Number(cell.textContent))));
      expect(shown.length).toBe(values.length);
      shown.forEach((row, index) => row.forEach((value, col) => expect(Math.abs(value - values[index]![col]!)).toBeLessThanOrEqual(5e-9)));
    }
    await screenshot(workbench.page, 'playground');
  });
});

describe('exports', () => {
  const workspace = () => inject('workspaceFolder');

  async function exportAs(format: 'png' | 'svg' | 'csv' | 'json', name: string): Promise<string> {
    const file = path.join(workspace(), name);
    fs.rmSync(file, { force: true });
    await panel.locator(`#export-${format}`).click();
    await acceptSaveDialog(workbench.page, name);
    await expect.poll(async () => (await data('#status')).path ?? '', { timeout: 30_000 }).toBe(file);
    return file;
  }

  it("exports the focused head as PNG, SVG, CSV and JSON whose numbers are the model's", async () => {
    await openTab(panel, 'model');
    const grid = await data('canvas.grid-canvas');
    const [left, top, tile, gap] = [grid.left, grid.top, grid.tile, grid.gap].map(Number) as [number, number, number, number];
    await panel.locator('canvas.grid-canvas').click({ position: { x: left + 1 * (tile + gap) + tile / 2, y: top + tile / 2 } });
    await expect.poll(() => panel.locator('.focus-section h3').textContent()).toBe('Layer 1, head 2');
    const head = Array.from({ length: n * n }, (_, index) => weightOf(0, 1, Math.floor(index / n), index % n));

    const csv = fs
      .readFileSync(await exportAs('csv', 'attention-layer1-head2.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv).toHaveLength(n + 1);
    const numbers = csv.slice(1).flatMap((line) => line.split(',').slice(-n).map(Number));
    expect(numbers).toEqual(head);

    const json = JSON.parse(fs.readFileSync(await exportAs('json', 'attention-layer1-head2.json'), 'utf8')) as {
      labels: string[];
      map: number[][];
      layer: number;
      head: number;
    };
    expect(json.labels).toEqual(expected.tokens.map((token) => token.text));
    expect(json.map.flat()).toEqual(head);
    expect([json.layer, json.head]).toEqual([1, 2]);

    const png = fs.readFileSync(await exportAs('png', 'attention-layer1-head2.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const canvasSize = await panel
      .locator('canvas.focus-canvas')
      .first()
      .evaluate((element) => [(element as HTMLCanvasElement).width, (element as HTMLCanvasElement).height]);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual(canvasSize);

    const svg = fs.readFileSync(await exportAs('svg', 'attention-layer1-head2.svg'), 'utf8');
    const parsed = await workbench.page.evaluate((text) => {
      const document = new DOMParser().parseFromString(text, 'image/svg+xml');
      return {
        error: document.querySelector('parsererror') !== null,
        rects: document.querySelectorAll('rect').length,
        texts: document.querySelectorAll('text').length,
      };
    }, svg);
    expect(parsed).toEqual({ error: false, rects: n * n, texts: 2 * n });
  });

  it('exports the whole tensor behind the grid as JSON and CSV', async () => {
    await panel.locator('#back-to-grid').click();
    // An attention file (docs/ATTENTION_FORMAT.md), named after the analysed document.
    const json = parseAttentionDocument(fs.readFileSync(await exportAs('json', 'sample.attention.json'), 'utf8'));
    expect(json.sequences[0]!.tokens.map((token) => token.text)).toEqual(expected.tokens.map((token) => token.text));
    expect(json.attentions[0]!.data.flatMap((layer) => Array.from(layer))).toEqual(attentions.flatMap((layer) => Array.from(layer)));
    const csv = fs
      .readFileSync(await exportAs('csv', 'attention.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv).toHaveLength(1 + 2 * 4 * n * n);
    expect(Number(csv[1 + (1 * 4 + 3) * n * n + 2 * n + 7]!.split(',').pop())).toBe(weightOf(1, 3, 2, 7));
  });
});

describe('look and feel', () => {
  it('re-colours the canvases when the theme changes: light, dark and high contrast', async () => {
    const before = (await data('canvas.grid-canvas')).background ?? '';
    const lightNow = await panel.locator('body').evaluate((body) => body.classList.contains('vscode-light'));
    const chooseTheme = async (name: string) => {
      await runCommand(workbench.page, 'Preferences: Color Theme');
      await workbench.page.locator('.quick-input-widget input').fill(name);
      await workbench.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
    };
    await chooseTheme(lightNow ? 'Dark Modern' : 'Light Modern');
    await expect.poll(async () => (await data('canvas.grid-canvas')).background, { timeout: 15_000 }).not.toBe(before);
    const pixel = await panel
      .locator('canvas.grid-canvas')
      .evaluate((element) => Array.from((element as HTMLCanvasElement).getContext('2d')!.getImageData(1, 1, 1, 1).data));
    const channels = pixel.slice(0, 3);
    expect(
      lightNow ? channels.every((channel) => channel < 80) : channels.every((channel) => channel > 200),
      `background pixel ${pixel.join(', ')}`,
    ).toBe(true);
    await screenshot(workbench.page, lightNow ? 'dark-theme' : 'light-theme');
    const contrasting = (await data('canvas.grid-canvas')).background;
    await chooseTheme('Dark High Contrast');
    await expect.poll(async () => (await data('canvas.grid-canvas')).background, { timeout: 15_000 }).not.toBe(contrasting);
    expect(await panel.locator('body').evaluate((body) => body.classList.contains('vscode-high-contrast'))).toBe(true);
    const black = await panel
      .locator('canvas.grid-canvas')
      .evaluate((element) => Array.from((element as HTMLCanvasElement).getContext('2d')!.getImageData(1, 1, 1, 1).data));
    expect(
      black.slice(0, 3).every((channel) => channel < 16),
      `high-contrast background pixel ${black.join(', ')}`,
    ).toBe(true);
    await screenshot(workbench.page, 'high-contrast-theme');
    await chooseTheme(lightNow ? 'Light Modern' : 'Dark Modern');
    await expect.poll(async () => (await data('canvas.grid-canvas')).background, { timeout: 15_000 }).toBe(before);
  });

  it('logged no Content Security Policy violation', () => {
    expect(cspViolations(workbench.console)).toEqual([]);
  });
});
