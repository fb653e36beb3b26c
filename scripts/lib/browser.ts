/**
 * Debian's Chromium, headless, driven by playwright-core (never a browser download). Chromium writes to HOME and
 * XDG folders, so both point into a throw-away folder; the background-networking flags keep it from trying hosts
 * this machine cannot reach.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { ensureChromium } from './tools';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface LaunchedBrowser {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(options: { viewport?: { width: number; height: number } } = {}): Promise<LaunchedBrowser> {
  const executablePath = ensureChromium();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-chromium-'));
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, 'config'),
      XDG_CACHE_HOME: path.join(home, 'cache'),
      XDG_DATA_HOME: path.join(home, 'data'),
    },
  });
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
  return {
    browser,
    context,
    close: async () => {
      await browser.close().catch(() => undefined);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
