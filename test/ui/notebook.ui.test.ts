/**
 * Attention from Python in a VS Code notebook, in code-server + Chromium: the notebook's stored outputs were written
 * at setup by the Python package (`python/examples/make_notebook.py`), and code-server's built-in ipynb support shows
 * them without a kernel. The renderer must draw the grid with the document's layers × heads, read back the exact
 * weight Python wrote, draw the head view, follow the theme, break no CSP rule, ask nothing of the network, and move
 * an output into the full panel. An `.attention.json` file opens in the extension's editor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ATTENTION_FILE_FIXTURE, MANY_OUTPUTS, MANY_OUTPUTS_FIXTURE, NOTEBOOK_FIXTURE } from './globalSetup';
import {
  attentionPanel,
  cspViolations,
  extensionWebviewFrame,
  openFile,
  openTab,
  openWorkbench,
  runCommand,
  screenshot,
  type Workbench,
} from './workbench';

interface StoredDocument {
  sequences: Array<{ name: string; tokens: string[] }>;
  attentions: Array<{ name: string; layers: number; heads: number; data: string; queries: string; keys: string }>;
}

/** The three outputs' models, as make_notebook.py names them. */
const BERT = 'test-bert (random weights)';
const GPT2 = 'test-gpt2 (random weights)';
const MARIAN = 'test-marian (random weights)';

let workbench: Workbench;
let page: Page;
let documents: StoredDocument[];
const requests: string[] = [];

/** The weights Python wrote for one output, decoded here with Node's own base64 (independent of the renderer). */
function weightsOf(
  document: StoredDocument,
  name = 'attention',
): { weight: (layer: number, head: number, row: number, col: number) => number; n: number } {
  const attention = document.attentions.find((candidate) => candidate.name === name)!;
  const n = document.sequences.find((sequence) => sequence.name === attention.queries)!.tokens.length;
  const floats = new Float32Array(Uint8Array.from(Buffer.from(attention.data, 'base64')).buffer);
  return { n, weight: (layer, head, row, col) => floats[((layer * attention.heads + head) * n + row) * n + col]! };
}

/** The notebook's output webview: the frame whose document holds our outputs (inside their shadow roots). */
async function outputFrame(): Promise<FrameLocator> {
  return extensionWebviewFrame(page, 'main[data-page="notebook-output"]');
}

/**
 * The output of the model named `model`, scrolled into view: outputs are drawn only once on screen (and VS Code
 * orders their containers as it likes), so the notebook is scrolled down until that one has been drawn.
 */
async function outputOf(model: string): Promise<Locator> {
  const frame = await outputFrame();
  const output = frame.locator(`main[data-page="notebook-output"][data-model="${model}"]`);
  const notebook = page.locator('.notebook-editor .monaco-list').first();
  for (let step = 0; step < 40 && (await output.count()) === 0; step += 1) {
    await notebook.hover({ position: { x: 200, y: 300 } });
    await page.mouse.wheel(0, step < 20 ? 300 : -300);
    await page.waitForTimeout(150);
  }
  await output.waitFor({ timeout: 10_000 });
  return output;
}

/**
 * Scrolls the notebook (its cell list, which moves the output webview with it: the webview's own document does not
 * scroll) until `target` is wholly on screen, and returns where it is on the page. Pointer actions then go to page
 * coordinates: an element scrolled inside the webview's document would sit under other outputs.
 */
async function onScreen(target: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const editor = (await page.locator('.notebook-editor').first().boundingBox())!;
  for (let step = 0; step < 30; step += 1) {
    const box = await target.boundingBox();
    if (box && box.y >= editor.y + 40 && box.y + box.height <= editor.y + editor.height - 10) return box;
    const delta = box ? box.y - (editor.y + 120) : 300;
    await page.mouse.move(editor.x + 200, editor.y + 300);
    await page.mouse.wheel(0, Math.max(-500, Math.min(500, delta)));
    await page.waitForTimeout(200);
  }
  throw new Error('could not scroll the output on screen');
}

beforeAll(async () => {
  const notebook = JSON.parse(fs.readFileSync(path.join(inject('workspaceFolder'), NOTEBOOK_FIXTURE), 'utf8')) as {
    cells: Array<{ outputs?: Array<{ data: Record<string, unknown> }> }>;
  };
  documents = notebook.cells
    .flatMap((cell) => cell.outputs ?? [])
    .map((output) => output.data['application/vnd.attention-explorer.attention+json'] as StoredDocument);
  workbench = await openWorkbench({ width: 1600, height: 1000 });
  page = workbench.page;
  const origin = new URL(inject('codeServerUrl')).origin;
  // What the webviews ask for: the workbench's own requests (its extension gallery) are not the renderer's. Local
  // resources reach a webview through VS Code's resource domain, answered by its service worker, never the network.
  page.context().on('request', (request) => {
    const url = request.url();
    let frame;
    try {
      frame = request.frame();
    } catch {
      return; // a service worker's own request
    }
    if (frame === page.mainFrame()) return;
    if (url.startsWith(origin) || /^(data|blob):/.test(url) || /^https:\/\/[^/]+\.vscode-resource\.vscode-cdn\.net\//.test(url)) return;
    requests.push(url);
  });
  await openFile(page, NOTEBOOK_FIXTURE, { text: false });
});

afterAll(async () => {
  await workbench?.close();
});

describe('a notebook with attention outputs from Python', () => {
  it('draws the grid with the layers × heads Python wrote; pointing at a cell reads that exact weight', async () => {
    const output = await outputOf(BERT);
    await output.locator('canvas.grid-canvas[data-layers]').waitFor({ timeout: 60_000 });
    const grid = await output.locator('canvas.grid-canvas').evaluate((element) => ({ ...(element as HTMLElement).dataset }));
    const first = documents[0]!;
    expect([grid.layers, grid.heads]).toEqual([String(first.attentions[0]!.layers), String(first.attentions[0]!.heads)]);
    const { weight, n } = weightsOf(first);
    const [left, top, tile, gap] = [grid.left, grid.top, grid.tile, grid.gap].map(Number) as [number, number, number, number];
    const box = await onScreen(output.locator('canvas.grid-canvas'));
    for (const [layer, head, row, col] of [
      [1, 2, 3, 5],
      [0, 1, 0, n - 1],
    ] as const) {
      await page.mouse.move(
        box.x + left + head * (tile + gap) + ((col + 0.5) / n) * tile,
        box.y + top + layer * (tile + gap) + ((row + 0.5) / n) * tile,
      );
      await expect
        .poll(async () => output.locator('.grid-readout').evaluate((element) => (element as HTMLElement).dataset.weight))
        .toBe(String(weight(layer, head, row, col)));
    }
    await screenshot(page, 'notebook-grid');
  });

  it('draws the head view of the head_view() output with lines', async () => {
    const output = await outputOf(GPT2);
    const canvas = output.locator('canvas.head-view-canvas');
    await canvas.waitFor({ timeout: 30_000 });
    await expect
      .poll(async () => Number(await canvas.evaluate((element) => (element as HTMLElement).dataset.lines ?? '0')))
      .toBeGreaterThan(0);
    // The encoder-decoder output offers its self-attentions.
    const third = await outputOf(MARIAN);
    await third.locator('canvas.grid-canvas[data-layers]').waitFor({ timeout: 30_000 });
    expect(await third.locator('.attention-picker vscode-option').allTextContents()).toEqual(['encoder', 'decoder']);
  });

  it('re-colours the outputs when the theme changes', async () => {
    const frame = await outputFrame();
    const grid = (await outputOf(BERT)).locator('canvas.grid-canvas');
    const before = await grid.evaluate((element) => (element as HTMLElement).dataset.background);
    const lightNow = await frame.locator('body').evaluate((body) => body.classList.contains('vscode-light'));
    const chooseTheme = async (name: string) => {
      await runCommand(page, 'Preferences: Color Theme');
      await page.locator('.quick-input-widget input').fill(name);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click();
    };
    // The editor backgrounds of the two themes: the grid is drawn on each in turn, whatever theme an earlier test left.
    const background = { 'Light Modern': '#ffffff', 'Dark Modern': '#1f1f1f' } as const;
    const [first, second] = lightNow ? (['Dark Modern', 'Light Modern'] as const) : (['Light Modern', 'Dark Modern'] as const);
    await chooseTheme(first);
    await expect
      .poll(() => grid.evaluate((element) => (element as HTMLElement).dataset.background), { timeout: 15_000 })
      .toBe(background[first]);
    expect(background[first]).not.toBe(before);
    await screenshot(page, 'notebook-theme');
    await chooseTheme(second);
    await expect
      .poll(() => grid.evaluate((element) => (element as HTMLElement).dataset.background), { timeout: 15_000 })
      .toBe(background[second]);
  });

  it('breaks no Content Security Policy rule and asks nothing of the network', () => {
    expect(cspViolations(workbench.console)).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('"Open in Attention Explorer" shows the same maps in the panel', async () => {
    const output = await outputOf(BERT);
    const button = await onScreen(output.locator('button.open-in-panel'));
    await page.mouse.click(button.x + button.width / 2, button.y + button.height / 2);
    const panel = await attentionPanel(page);
    const grid = panel.locator('canvas.grid-canvas[data-layers]');
    await grid.waitFor({ timeout: 60_000 });
    const first = documents[0]!;
    const data = await grid.evaluate((element) => ({ ...(element as HTMLElement).dataset }));
    expect([data.layers, data.heads]).toEqual([String(first.attentions[0]!.layers), String(first.attentions[0]!.heads)]);
    expect(await panel.locator('details.prediction').getAttribute('data-task')).toBe('none');
    const { weight, n } = weightsOf(first);
    const [left, top, tile, gap] = [data.left, data.top, data.tile, data.gap].map(Number) as [number, number, number, number];
    await grid.hover({
      position: { x: left + 2 * (tile + gap) + ((4 + 0.5) / n) * tile, y: top + 1 * (tile + gap) + ((2 + 0.5) / n) * tile },
    });
    await expect
      .poll(async () => panel.locator('.grid-readout').evaluate((element) => (element as HTMLElement).dataset.weight))
      .toBe(String(weight(1, 2, 2, 4)));
    await openTab(panel, 'model');
    await screenshot(page, 'notebook-open-in-panel');
  });
});

describe('an attention file', () => {
  it('opens in the Attention Explorer editor with its maps', async () => {
    await runCommand(page, 'View: Close All Editors');
    await openFile(page, ATTENTION_FILE_FIXTURE, { text: false });
    const frame = await extensionWebviewFrame(page, 'main[data-page="attentionFile"]');
    const grid = frame.locator('canvas.grid-canvas[data-layers]');
    await grid.waitFor({ timeout: 60_000 });
    const data = await grid.evaluate((element) => ({ ...(element as HTMLElement).dataset }));
    // The file is the first output's document.
    const first = documents[0]!;
    expect([data.layers, data.heads]).toEqual([String(first.attentions[0]!.layers), String(first.attentions[0]!.heads)]);
    expect(cspViolations(workbench.console)).toEqual([]);
    await screenshot(page, 'attention-file-editor');
  });
});

describe('a notebook with many outputs', () => {
  it('draws only the outputs on screen, and the others as they scroll in', async () => {
    await runCommand(page, 'View: Close All Editors');
    const opened = Date.now();
    await openFile(page, MANY_OUTPUTS_FIXTURE, { text: false });
    const frame = await outputFrame();
    const rendered = frame.locator('main[data-page="notebook-output"][data-rendered="true"]');
    await rendered.first().waitFor({ timeout: 60_000 });
    const firstDrawnMs = Date.now() - opened;
    await page.waitForTimeout(1000);
    const onOpen = await rendered.count();
    expect(onOpen).toBeGreaterThan(0);
    expect(onOpen).toBeLessThan(MANY_OUTPUTS / 4);
    // To the last cell with the keyboard, as a reader would: a cell's editor, Escape to the notebook, Ctrl+End.
    await page.locator('.notebook-editor .cell-editor-container .view-lines').first().click();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+End');
    await page.waitForTimeout(1000);
    await screenshot(page, 'notebook-many-scrolled');
    console.log(`[ui] outputs in the page: ${await frame.locator('main[data-page="notebook-output"]').count()}`);
    await expect.poll(() => rendered.count(), { timeout: 15_000 }).toBeGreaterThan(onOpen);
    console.log(
      `[ui] ${MANY_OUTPUTS} outputs: first drawn ${firstDrawnMs} ms after opening, ${onOpen} drawn on open, ${await rendered.count()} after scrolling`,
    );
  });
});
