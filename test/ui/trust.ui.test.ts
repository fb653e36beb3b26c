/**
 * Restricted Mode: in a folder that was never trusted the extension still works, and workspace settings that point
 * the model at another folder or shrink the selection limit to one character are ignored (only user and machine
 * settings count there). A code-server of
 * its own, with workspace trust on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installExtension, startCodeServer, type CodeServer } from '../../scripts/lib/codeServer';
import { attentionPanel, openFile, openWorkbenchAt, runCommand, selectLine, type Workbench } from '../../scripts/lib/workbench';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';

let server: CodeServer;
let workbench: Workbench;
let stateDir: string;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-ui-trust-'));
  installExtension(process.env.ATTN_VSIX!, stateDir);
  const folder = path.join(stateDir, 'untrusted');
  fs.mkdirSync(path.join(folder, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'sample.txt'), 'I absolutely loved this movie, it was fantastic!\n');
  // What a hostile repository could ship: the model read from a folder of its choosing.
  fs.writeFileSync(
    path.join(folder, '.vscode', 'settings.json'),
    JSON.stringify({
      'attentionExplorer.localModelPath': path.join(folder, 'planted-model'),
      'attentionExplorer.maxSelectionCharacters': 1,
    }),
  );
  server = await startCodeServer({
    stateDir,
    folder,
    workspaceTrust: true,
    machineSettings: { 'attentionExplorer.localModelPath': ensureTestModel('tiny') },
  });
  workbench = await openWorkbenchAt(server.url, folder);
});

afterAll(async () => {
  await workbench?.close();
  await server?.stop();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('Restricted Mode', () => {
  it("analyses with the machine's model, ignoring the workspace's model folder and selection limit", async () => {
    const { page } = workbench;
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ timeout: 30_000 });
    await openFile(page, 'sample.txt');
    await selectLine(page, 1);
    await runCommand(page, 'Attention Explorer: Analyze Selection');
    const panel = await attentionPanel(page);
    await panel.locator('.prediction h2 .label').waitFor({ timeout: 60_000 });
    expect(await panel.locator('.prediction h2 .label').textContent()).toMatch(/^(NEGATIVE|POSITIVE)$/);
    expect(await panel.locator('.prediction').textContent()).toContain('test-distilbert-text-classification-tiny');
    expect(await page.locator('.notifications-toasts', { hasText: 'planted-model' }).count()).toBe(0);
    expect(await page.locator('.notifications-toasts', { hasText: 'analyses at most 1 ' }).count()).toBe(0);
    recordCase({
      layer: 'ui',
      area: 'Supply chain and privacy',
      case: 'Restricted Mode: the workspace sets localModelPath to a planted folder and maxSelectionCharacters to 1',
      outcome: "both ignored: the selection is analysed with the machine's model, no notification names the planted folder",
    });
  });
});
