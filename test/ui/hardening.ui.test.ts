/**
 * Text that looks like markup, analysed in the real workbench: every view shows it as text, no script runs (a flag the
 * payloads would set stays unset in every frame), and no Content Security Policy violation is reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from 'playwright-core';
import { recordCase } from '../support/reliability';
import {
  attentionPanel,
  cspViolations,
  extensionWebview,
  openFile,
  openTab,
  openWorkbench,
  runCommand,
  selectLine,
  type Workbench,
} from './workbench';

let workbench: Workbench;

const PAYLOADS = [
  { line: 1, name: '<script> payload', literal: '<script>window.attnInjected = 1; alert(1)</script>' },
  { line: 2, name: '<img onerror> payload', literal: '<img src=x onerror="window.attnInjected = 2">' },
  { line: 3, name: '</style> payload', literal: '</style><style>*{display:none}</style>' },
];

/** Whether any frame of the page (workbench, webview hosts, our webviews) has the flag the payloads set. */
async function injectedAnywhere(frames: Frame[]): Promise<unknown[]> {
  const flags = await Promise.all(
    frames.map((frame) => frame.evaluate(() => (window as unknown as { attnInjected?: unknown }).attnInjected).catch(() => undefined)),
  );
  return flags.filter((flag) => flag !== undefined);
}

beforeAll(async () => {
  workbench = await openWorkbench();
  await openFile(workbench.page, 'payloads.txt');
});

afterAll(async () => {
  await workbench?.close();
});

describe('markup in the analysed text', () => {
  for (const payload of PAYLOADS) {
    it(`${payload.name}: shown as text in the panel and the side view; nothing runs`, async () => {
      const { page } = workbench;
      await selectLine(page, payload.line);
      await runCommand(page, 'Attention Explorer: Analyze Selection');
      const panel = await attentionPanel(page);
      await expect.poll(() => panel.locator('header .meta').textContent(), { timeout: 60_000 }).toContain(`line ${payload.line}:1`);
      await openTab(panel, 'tokens');
      const source = panel.locator('table.tokens td.source-text');
      await source.first().waitFor();
      const shown = (await source.allTextContents()).join('');
      // Every character of the payload (but spaces) is in the tokens' source column, as characters.
      expect(shown.replace(/\s/g, '')).toContain(payload.literal.replace(/\s/g, ''));
      // No element the payload could have created: images, scripts without our nonce, inline event handlers.
      const created = await panel.locator('body').evaluate((body) => ({
        images: body.ownerDocument.querySelectorAll('img').length,
        // VS Code injects its own acquireVsCodeApi script into every webview; anything else must carry our nonce.
        scripts: Array.from(body.ownerDocument.querySelectorAll('script')).filter(
          (script) => !script.nonce && !/^\s*globalThis\.acquireVsCodeApi = /.test(script.textContent ?? ''),
        ).length,
        handlers: Array.from(body.ownerDocument.querySelectorAll('*')).filter((element) =>
          Array.from(element.attributes).some((attribute) => attribute.name.startsWith('on')),
        ).length,
      }));
      expect(created).toEqual({ images: 0, scripts: 0, handlers: 0 });
      await page.locator('.statusbar-item[aria-label^="Attention Explorer"]').click();
      const side = await extensionWebview(page, 'side');
      await expect.poll(() => side.locator('.current .source').textContent(), { timeout: 15_000 }).toContain(payload.literal.slice(0, 20));
      expect(await side.locator('img').count()).toBe(0);
      expect(await injectedAnywhere(page.frames())).toEqual([]);
      recordCase({
        layer: 'ui',
        area: 'Bad input',
        case: `${payload.name} in the selection`,
        outcome:
          "analysed; the panel's tokens and the side view show the characters as text; no element created, no script ran in any frame",
      });
    });
  }

  it('logged no Content Security Policy violation', () => {
    expect(cspViolations(workbench.console)).toEqual([]);
    recordCase({
      layer: 'ui',
      area: 'Webview hardening',
      case: 'CSP violations across the payload analyses',
      outcome: 'none reported by Chromium (the UI tests fail on any)',
    });
  });
});
