/**
 * `npm start`: builds and packages the extension, then opens a real VS Code with it installed on the sample
 * document. Desktop `code` when there is one on PATH; otherwise code-server on 127.0.0.1, left running in the
 * background (stop it with `npm run stop`), with its URL printed.
 *
 *   npm start [-- --port 8080]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { installExtension, freePort, killGroup, startCodeServer } from './lib/codeServer';
import { desktopCode, toolsDir } from './lib/tools';
import { repoRoot } from '../test/support/paths';
import { ensureTestModel } from '../test/support/testModels';

const sampleFolder = path.join(repoRoot, 'samples');
const sampleDocument = path.join(sampleFolder, 'sample.txt');
const stateDir = path.join(toolsDir, 'start');
const pidFile = path.join(stateDir, 'code-server.pid');

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function hubReachable(): Promise<boolean> {
  try {
    const response = await fetch('https://huggingface.co/api/models/Xenova/distilbert-base-uncased-finetuned-sst-2-english', {
      method: 'HEAD',
      signal: AbortSignal.timeout(4000),
    });
    return response.status < 500;
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return false;
  } catch {
    return true;
  }
}

export function stopPrevious(): void {
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    if (Number.isInteger(pid) && pid > 0) {
      killGroup(pid, 'SIGTERM');
    }
    fs.rmSync(pidFile, { force: true });
  }
}

async function main(): Promise<void> {
  execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), [path.join(repoRoot, 'scripts', 'package.ts')], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  const vsix = fs.readFileSync(path.join(repoRoot, 'build', 'latest-vsix.txt'), 'utf8').trim();

  const code = desktopCode();
  if (code && !process.argv.includes('--code-server')) {
    console.log(`[start] installing ${path.basename(vsix)} into desktop VS Code`);
    spawnSync(code, ['--install-extension', vsix, '--force'], { stdio: 'inherit' });
    spawnSync(code, ['--new-window', sampleFolder, sampleDocument], { stdio: 'inherit' });
    console.log(`[start] VS Code opened ${sampleDocument}`);
    return;
  }

  const machineSettings: Record<string, unknown> = {};
  if (!(await hubReachable())) {
    // The real weights cannot be fetched: a DistilBERT-shaped model with random weights stands in, and says so.
    const folder = ensureTestModel('tiny');
    machineSettings['attentionExplorer.localModelPath'] = folder;
    console.log(`[start] huggingface.co is not reachable, so the real model cannot be downloaded here.`);
    console.log(`[start] The extension is set to a project-built DistilBERT with RANDOM weights (${folder}):`);
    console.log('[start] the tokens, attention maps and tools all work, but its predictions mean nothing (the panel says so).');
  }

  stopPrevious();
  fs.mkdirSync(stateDir, { recursive: true });
  installExtension(vsix, stateDir);
  const requested = Number(argument('--port') ?? process.env.PORT ?? 8080);
  const port = (await portFree(requested)) ? requested : await freePort();
  const server = await startCodeServer({
    stateDir,
    folder: sampleFolder,
    port,
    machineSettings,
    settings: { 'editor.wordWrap': 'on' },
    detached: true,
  });
  fs.writeFileSync(pidFile, String(server.pid));
  const payload = JSON.stringify([['openFile', `vscode-remote://127.0.0.1:${server.port}${sampleDocument}`]]);
  const url = `${server.url}/?folder=${encodeURIComponent(sampleFolder)}&payload=${encodeURIComponent(payload)}`;
  console.log(`\n[start] VS Code (code-server ${server.version.split(' ')[0]}) with Attention Explorer is running:\n\n    ${url}\n`);
  console.log(`[start] it keeps running in the background; stop it with: npm run stop (log: ${server.logFile})`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`[start] ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
