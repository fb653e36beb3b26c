/**
 * Renders media/icon.svg to media/icon.png (128×128; the Marketplace needs a PNG) with headless Chromium.
 *   npx tsx scripts/render-icon.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from './lib/browser';
import { repoRoot } from '../test/support/paths';

async function main(): Promise<void> {
  const svg = fs.readFileSync(path.join(repoRoot, 'media', 'icon.svg'), 'utf8');
  const launched = await launchChromium({ viewport: { width: 128, height: 128 } });
  try {
    const page = await launched.context.newPage();
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: path.join(repoRoot, 'media', 'icon.png'), omitBackground: true });
  } finally {
    await launched.close();
  }
}

void main();
