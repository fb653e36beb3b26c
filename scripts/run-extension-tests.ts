/**
 * Runs the extension-host suite (test/suite, bundled to dist/test/suite.js) inside a real VS Code.
 *
 *   tsx scripts/run-extension-tests.ts [--host auto|electron|code-server] [--suite soak --out FILE]
 *
 * `--suite soak` runs the benchmark's memory soak (test/suite/soak.bench.ts) on the full-size model instead of the
 * tests, and writes its measurements to FILE.
 *
 * - electron: @vscode/test-electron's `runTests`, with `$VSCODE_EXECUTABLE` if set, else the VS Code it downloads
 *   (needs internet, and a display or xvfb-run on Linux).
 * - code-server: VS Code's own workbench and server, opened in headless Chromium with the smoke-test driver; the
 *   suite's log arrives through `window.codeAutomationLog`, its exit code through `window.codeAutomationExit`.
 * - auto (default): electron when `$VSCODE_EXECUTABLE` is set or VS Code's download server answers, else
 *   code-server. The runner prints which one it used and why.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import { launchChromium } from './lib/browser';
import { startCodeServer } from './lib/codeServer';
import { repoRoot, sharedTokenizerDir } from '../test/support/paths';
import { ensureTestModel } from '../test/support/testModels';
import { extensionSuiteEnv } from './lib/extensionSuiteEnv';

type Host = 'electron' | 'code-server';

interface Report {
  passed: string[];
  failed: Array<{ title: string; error: string }>;
}

/** Workbench chatter unrelated to the suite (gallery lookups this offline machine cannot make, start-up traces). */
const WORKBENCH_NOISE = /ENOTFOUND|AccountPolicyGate|AgentHost|Service Worker|Creating a socket|^\s+at /;

const workspaceFolder = path.join(repoRoot, 'test', 'fixtures', 'workspace');
const suitePath = path.join(repoRoot, 'dist', 'test', 'suite.js');

function parseHost(): 'auto' | Host {
  const index = process.argv.indexOf('--host');
  const value = index >= 0 ? process.argv[index + 1] : process.env.ATTN_EXTENSION_HOST;
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'electron' || value === 'code-server') return value;
  throw new Error(`--host must be auto, electron or code-server (got ${value})`);
}

async function canDownloadVsCode(): Promise<boolean> {
  try {
    const response = await fetch('https://update.code.visualstudio.com/api/releases/stable', { signal: AbortSignal.timeout(4000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function chooseHost(): Promise<{ host: Host; why: string }> {
  const requested = parseHost();
  if (requested !== 'auto') return { host: requested, why: 'requested' };
  if (process.env.VSCODE_EXECUTABLE) return { host: 'electron', why: `VSCODE_EXECUTABLE=${process.env.VSCODE_EXECUTABLE}` };
  if (await canDownloadVsCode()) return { host: 'electron', why: 'VS Code can be downloaded from update.code.visualstudio.com' };
  return { host: 'code-server', why: 'no VSCODE_EXECUTABLE and VS Code cannot be downloaded here' };
}

/** What the suite needs from outside the extension: the shared tokenizer and a project-built test model. */
function suiteEnv(): Record<string, string> {
  const suiteIndex = process.argv.indexOf('--suite');
  if (suiteIndex >= 0 && process.argv[suiteIndex + 1] === 'soak') {
    const outIndex = process.argv.indexOf('--out');
    return {
      ATTN_TOKENIZER_DIR: sharedTokenizerDir,
      ATTN_TEST_MODEL_DIR: ensureTestModel('full', 7, ['fp32']),
      ATTN_EXTENSION_SUITE: 'soak',
      ...(outIndex >= 0 ? { ATTN_SOAK_OUT: path.resolve(process.argv[outIndex + 1]!) } : {}),
      ...(process.env.ATTN_SOAK_ANALYSES ? { ATTN_SOAK_ANALYSES: process.env.ATTN_SOAK_ANALYSES } : {}),
    };
  }
  return extensionSuiteEnv();
}

function summarize(report: Report | undefined, exitCode: number, host: string): number {
  if (!report) {
    console.error(`[extension-host] no test report was written (exit code ${exitCode})`);
    return exitCode === 0 ? 1 : exitCode;
  }
  console.log(`[extension-host] ${host}: ${report.passed.length} passed, ${report.failed.length} failed`);
  for (const failure of report.failed) {
    console.log(`[extension-host]   FAILED ${failure.title}: ${failure.error}`);
  }
  if (report.passed.length === 0) {
    console.error('[extension-host] no test passed: treating the run as failed');
    return 1;
  }
  return report.failed.length > 0 || exitCode !== 0 ? 1 : 0;
}

function readReport(file: string): Report | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Report) : undefined;
}

async function runInElectron(reportFile: string): Promise<number> {
  const { runTests } = await import('@vscode/test-electron');
  const exitCode = await runTests({
    ...(process.env.VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE } : {}),
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: suitePath,
    launchArgs: [workspaceFolder, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
    extensionTestsEnv: { ...suiteEnv(), ATTN_EXTENSION_TEST_REPORT: reportFile },
  }).catch((error: unknown) => {
    console.error(`[extension-host] VS Code (electron) failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  });
  return summarize(readReport(reportFile), exitCode, 'desktop VS Code (@vscode/test-electron)');
}

async function runInCodeServer(stateDir: string, reportFile: string): Promise<number> {
  const server = await startCodeServer({
    stateDir,
    folder: workspaceFolder,
    smokeTestDriver: true,
    env: { ...suiteEnv(), ATTN_EXTENSION_TEST_REPORT: reportFile },
  });
  console.log(`[extension-host] code-server ${server.version} on ${server.url}`);
  const launched = await launchChromium();
  try {
    const page = await launched.context.newPage();
    const exit = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const line = format(...(Array.isArray(args) ? args : [args]));
      if (line.trim() && !WORKBENCH_NOISE.test(line)) console.log(`  ${type === 'error' ? '!' : '|'} ${line}`);
    });
    const remote = (file: string) => `vscode-remote://127.0.0.1:${server.port}${file}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(repoRoot)],
      ['extensionTestsPath', remote(suitePath)],
    ]);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspaceFolder)}&payload=${encodeURIComponent(payload)}`);
    const timeout = new Promise<number>((resolve) =>
      setTimeout(() => {
        console.error('[extension-host] the suite did not finish within 10 minutes');
        resolve(1);
      }, 10 * 60_000).unref(),
    );
    const exitCode = await Promise.race([exit, timeout]);
    return summarize(readReport(reportFile), exitCode, `code-server ${server.version}`);
  } finally {
    await launched.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [path.join(repoRoot, 'esbuild.js')], { cwd: repoRoot, stdio: 'inherit' });
  const { host, why } = await chooseHost();
  console.log(
    `[extension-host] running the suite in ${host === 'electron' ? 'desktop VS Code via @vscode/test-electron' : 'code-server + headless Chromium'} (${why})`,
  );
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-ext-tests-'));
  const reportFile = path.join(stateDir, 'report.json');
  try {
    const code = host === 'electron' ? await runInElectron(reportFile) : await runInCodeServer(stateDir, reportFile);
    process.exitCode = code;
  } finally {
    if (process.exitCode === 0 || process.exitCode === undefined) {
      fs.rmSync(stateDir, { recursive: true, force: true });
    } else {
      console.log(`[extension-host] state kept for inspection in ${stateDir}`);
    }
  }
}

main().catch((error: unknown) => {
  console.error(`[extension-host] ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
