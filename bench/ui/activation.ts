/**
 * Activation time in a real VS Code. The packaged extension in code-server activates at startup (onStartupFinished,
 * no command). VS Code's own measure is read from "Developer: Show Running Extensions" (loading the code, calling
 * activate, until it resolves), next to the built-in extensions of the same window; the extension's log adds its
 * own split (evaluating the bundle, running activate()). The window is reloaded several times, a fresh extension
 * host each time. For contrast, the same run times the first analysis, which loads transformers.js, onnxruntime
 * and the model lazily in the worker.
 *
 *   tsx bench/ui/activation.ts --out result.json
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { installExtension, startCodeServer } from '../../scripts/lib/codeServer';
import { ensureChromium, ensureCodeServer } from '../../scripts/lib/tools';
import { attentionPanel, openFile, openWorkbenchAt, runCommand, selectLine } from '../../scripts/lib/workbench';
import { repoRoot } from '../../test/support/paths';
import { ensureTestModel } from '../../test/support/testModels';
import { formatMs, percentile, textOfTokens, type Section } from '../lib';

const STARTS = 8;
const GOAL_MS = 40;
/** Select → heatmap drawn: token counts, warm repetitions, and the goals (warm: model loaded). */
const END_TO_END = [
  { n: 64, warmRuns: 7, goalMs: 150 },
  { n: 512, warmRuns: 3, goalMs: 2500 },
];
const NAME = 'Attention Explorer';

interface OwnSplit {
  evaluateMs: number;
  activateMs: number;
}

/** Every line of the extension's logs so far (every window's), sorted (each starts with its time). */
function logLines(userDataDir: string): string[] {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === `${NAME}.log`) files.push(full);
    }
  };
  walk(path.join(userDataDir, 'logs'));
  return files.flatMap((file) => fs.readFileSync(file, 'utf8').split('\n')).sort();
}

/** Every activation the extension has logged so far, oldest first. */
function ownSplits(userDataDir: string): OwnSplit[] {
  return logLines(userDataDir)
    .filter((line) => line.includes('Activated: bundle evaluated'))
    .map((line) => {
      const match = /evaluated in ([\d.]+) ms, activate\(\) took ([\d.]+) ms/.exec(line)!;
      return { evaluateMs: Number(match[1]), activateMs: Number(match[2]) };
    });
}

/** Every load of the rest of the extension on first use so far: its total and its bundle's evaluation (ms). */
function firstUseLoads(userDataDir: string): Array<{ loadMs: number; evaluateMs: number }> {
  return logLines(userDataDir).flatMap((line) => {
    const match = /Loaded on first use in ([\d.]+) ms \(the bundle evaluated in ([\d.]+) ms/.exec(line);
    return match ? [{ loadMs: Number(match[1]), evaluateMs: Number(match[2]) }] : [];
  });
}

async function waitForOwnSplits(userDataDir: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (ownSplits(userDataDir).length < count) {
    if (Date.now() > deadline) throw new Error(`the extension did not log activation ${count} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** VS Code's "Running Extensions": each activated extension's name and activation time (ms). */
async function runningExtensions(page: Page): Promise<Map<string, number>> {
  await runCommand(page, 'Developer: Show Running Extensions');
  const rows = page.locator('.runtime-extensions-editor .monaco-list-row');
  await rows.filter({ hasText: NAME }).first().waitFor({ timeout: 30_000 });
  const texts = await rows.evaluateAll((elements) => elements.map((element) => element.textContent ?? ''));
  await page.keyboard.press('Escape');
  await runCommand(page, 'View: Close All Editors');
  const times = new Map<string, number>();
  for (const text of texts) {
    const match = /^(.*?)\s*\d+\.\d+\.\d+.*?Activation:\s*([\d.]+)\s*ms/.exec(text.replace(/\s+/g, ' ').trim());
    if (match) times.set(match[1]!.trim(), Number(match[2]));
  }
  return times;
}

async function reloadWindow(page: Page): Promise<void> {
  // Listen before asking: a fast reload can fire its load event before a later listener exists.
  const reloaded = page.waitForEvent('load', { timeout: 120_000 });
  await runCommand(page, 'Developer: Reload Window');
  await reloaded;
  await page.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
}

/** One select → heatmap run, every time on the browser's shared clock (performance.timeOrigin + now), in ms. */
interface EndToEndRun {
  /** Key press to the grid drawn. */
  ms: number;
  /** The analysis's own total in the worker (tokenize, model), as the prediction card states it. */
  analysisMs: number;
  /** Key press to the panel receiving the analysis: the workbench, the extension host, the worker, the messages. */
  toPanelMs: number;
  /** The panel receiving the analysis to its grid drawn: rebuilding the page and the canvas draw. */
  inPanelMs: number;
}

/**
 * Selects all of `tokens-{n}.txt`, presses Analyze Selection's keybinding, and returns the time from that key press
 * (in the workbench) to the panel's grid of every head drawn for the new analysis (in the webview), both read on
 * the browser's shared clock. The wait runs inside the webview (a MutationObserver on the grid's draw stamp), so
 * the benchmark does not poll the page through the debugging protocol while the extension works.
 */
async function selectToHeatmap(page: Page, n: number): Promise<EndToEndRun> {
  await openFile(page, `tokens-${n}.txt`);
  await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+A');
  await page.evaluate(() => {
    const state = window as unknown as { attnPressedAt?: number; attnListening?: boolean };
    state.attnPressedAt = 0;
    if (state.attnListening) return;
    state.attnListening = true;
    window.addEventListener(
      'keydown',
      (event) => {
        if (event.ctrlKey && event.altKey && event.key.toLowerCase() === 'a' && !state.attnPressedAt)
          state.attnPressedAt = performance.timeOrigin + performance.now();
      },
      { capture: true },
    );
  });
  await page.keyboard.press('Control+Alt+A');
  const pressedAt = await page.evaluate(() => (window as unknown as { attnPressedAt?: number }).attnPressedAt ?? 0);
  if (!pressedAt) throw new Error('the key press was not seen');
  const deadline = Date.now() + 180_000;
  for (;;) {
    const panel = await attentionPanel(page, 180_000);
    // A panel restored after a reload may replace its frame while this waits: then wait in the new one.
    const stamps = await panel
      .locator('#app')
      .evaluate(
        // No named helpers in here: tsx's keepNames would wrap them in a `__name` the page does not have.
        (app, { tokens, after, waitMs }) =>
          new Promise<{ drawnAt: number; receivedAt: number; meta: string } | undefined>((resolve) => {
            const observer = new MutationObserver(() => {
              const canvas = app.querySelector<HTMLCanvasElement>(`canvas.grid-canvas[data-tokens="${tokens}"]`);
              const drawnAt = Number(canvas?.dataset.drawnAt ?? 0);
              if (drawnAt <= after) return;
              observer.disconnect();
              clearTimeout(timer);
              const meta = app.querySelector('.prediction .meta')?.textContent ?? '';
              resolve({ drawnAt, receivedAt: Number(app.dataset.receivedAt ?? 0), meta });
            });
            // Declared after the observer, which only runs later (mutation callbacks are queued).
            const timer = setTimeout(() => {
              observer.disconnect();
              resolve(undefined);
            }, waitMs);
            observer.observe(app, { subtree: true, attributes: true, attributeFilter: ['data-drawn-at'] });
            // The draw may have happened already: touching the stamp's own attribute makes the observer look.
            app.setAttribute('data-drawn-at', '0');
          }),
        { tokens: n, after: pressedAt, waitMs: 5_000 },
        { timeout: 180_000 },
      )
      .catch((error: unknown) => {
        console.log(`[bench:activation] waiting again: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        return undefined;
      });
    if (stamps) {
      return {
        ms: stamps.drawnAt - pressedAt,
        analysisMs: Number(/total (\d+) ms/.exec(stamps.meta)?.[1] ?? Number.NaN),
        toPanelMs: stamps.receivedAt - pressedAt,
        inPanelMs: stamps.drawnAt - stamps.receivedAt,
      };
    }
    if (Date.now() > deadline) throw new Error(`the grid for ${n} tokens was not drawn within 180 s`);
  }
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const outFile = outIndex >= 0 ? process.argv[outIndex + 1] : undefined;
  ensureChromium();
  const { version } = ensureCodeServer();
  if (!fs.existsSync(path.join(repoRoot, 'build', 'latest-vsix.txt'))) {
    execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), [path.join(repoRoot, 'scripts', 'package.ts')], {
      cwd: repoRoot,
      stdio: 'inherit',
    });
  }
  const vsix = fs.readFileSync(path.join(repoRoot, 'build', 'latest-vsix.txt'), 'utf8').trim();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-activation-bench-'));
  const workspace = path.join(stateDir, 'workspace');
  fs.mkdirSync(workspace);
  fs.writeFileSync(path.join(workspace, 'sample.txt'), 'I absolutely loved this movie, it was fantastic!\n');
  for (const { n } of END_TO_END) fs.writeFileSync(path.join(workspace, `tokens-${n}.txt`), `${textOfTokens(n)}\n`);
  installExtension(vsix, stateDir);
  const modelFolder = ensureTestModel('full', 7, ['fp32']);
  const server = await startCodeServer({
    stateDir,
    folder: workspace,
    machineSettings: { 'attentionExplorer.localModelPath': modelFolder },
  });
  const workbench = await openWorkbenchAt(server.url, workspace);
  try {
    const ours: number[] = [];
    const others = new Map<string, number[]>();
    for (let start = 0; start < STARTS; start += 1) {
      if (start > 0) {
        await reloadWindow(workbench.page);
      }
      await waitForOwnSplits(server.userDataDir, start + 1);
      const times = await runningExtensions(workbench.page);
      const mine = times.get(NAME);
      if (mine === undefined) throw new Error(`${NAME} is not among the running extensions`);
      ours.push(mine);
      for (const [name, ms] of times) if (name !== NAME) others.set(name, [...(others.get(name) ?? []), ms]);
    }
    const splits = ownSplits(server.userDataDir);
    // The first analysis of this extension host: worker start, transformers.js, onnxruntime, the model, inference.
    await openFile(workbench.page, 'sample.txt');
    await selectLine(workbench.page, 1);
    const started = Date.now();
    await runCommand(workbench.page, 'Attention Explorer: Analyze Selection');
    const panel = await attentionPanel(workbench.page, 180_000);
    await panel.locator('.prediction h2').waitFor({ timeout: 180_000 });
    const firstAnalysisMs = Date.now() - started;

    // Select → heatmap: cold (a fresh extension host, the model on disk) and then warm (model loaded).
    const endToEnd: Array<{ n: number; goalMs: number; cold: number; runs: EndToEndRun[]; warm: number[] }> = [];
    for (const { n, warmRuns, goalMs } of END_TO_END) {
      await reloadWindow(workbench.page);
      console.log(`[bench:activation] select → heatmap, n = ${n}`);
      const cold = (await selectToHeatmap(workbench.page, n)).ms;
      const runs: EndToEndRun[] = [];
      for (let run = 0; run < warmRuns; run += 1) runs.push(await selectToHeatmap(workbench.page, n));
      endToEnd.push({ n, goalMs, cold, runs, warm: runs.map((run) => run.ms) });
    }

    const median = (values: number[]) => percentile(values, 0.5);
    // One per window that was used: the first analysis's and each select → heatmap window's first command.
    const loads = firstUseLoads(server.userDataDir);
    const total = median(ours);
    const builtIns = [...others.entries()]
      .filter(([, values]) => values.length === STARTS)
      .map(([name, values]) => ({ name, ms: median(values) }))
      .sort((a, b) => b.ms - a.ms);
    const section: Section = {
      id: 'activation',
      title: 'Startup and end to end: activation, first result, select → heatmap',
      method:
        `the packaged VSIX in code-server ${version.split(' ')[0]}, activated by onStartupFinished with no command run. VS Code's own ` +
        'activation time (Developer: Show Running Extensions: loading the code, calling activate(), until it resolves) ' +
        `after the first start and after each of ${STARTS - 1} "Developer: Reload Window" (a fresh extension host each time), ` +
        "beside the built-in extensions that activated in the same windows; the extension's log splits its own part. " +
        'Then the first Analyze Selection with the full-size test model (fp32), from the command to the prediction on screen. ' +
        "Select → heatmap: all of a file of exactly n tokens selected, Analyze Selection's keybinding pressed, until the panel has drawn the grid of all 72 heads " +
        "(key press in the workbench to the draw in the webview, on the browser's shared clock). Cold: the first analysis after a window reload (a fresh extension host: worker, " +
        'transformers.js, onnxruntime and the model from the disk cache); warm: the next ones.',
      tables: [
        {
          title: 'Attention Explorer',
          columns: ['', 'median', 'p95', `vs the ${GOAL_MS} ms goal`],
          rows: [
            ["activation (VS Code's measure)", formatMs(total), formatMs(percentile(ours, 0.95)), `${(total / GOAL_MS).toFixed(2)}×`],
            [
              '… evaluating our bundle',
              formatMs(median(splits.map((split) => split.evaluateMs))),
              formatMs(
                percentile(
                  splits.map((split) => split.evaluateMs),
                  0.95,
                ),
              ),
              '',
            ],
            [
              '… running activate()',
              formatMs(median(splits.map((split) => split.activateMs))),
              formatMs(
                percentile(
                  splits.map((split) => split.activateMs),
                  0.95,
                ),
              ),
              '',
            ],
            [
              `loading the rest on first use (not at startup; ${loads.length} windows)`,
              loads.length > 0 ? formatMs(median(loads.map((load) => load.loadMs))) : 'never logged',
              loads.length > 0
                ? formatMs(
                    percentile(
                      loads.map((load) => load.loadMs),
                      0.95,
                    ),
                  )
                : '',
              loads.length > 0 ? `of which evaluating its bundle ${formatMs(median(loads.map((load) => load.evaluateMs)))}` : '',
            ],
            [
              'first analysis (worker, transformers.js, model: lazy)',
              formatMs(firstAnalysisMs),
              '',
              `activation is ${((total / firstAnalysisMs) * 100).toFixed(1)}% of it`,
            ],
          ],
          notes: [
            "VS Code's measure also counts the extension host being busy with other extensions starting at the same moment, which is why it exceeds our own two parts; what it adds depends on what else the extension host does at startup, which on this shared 2-core VM varies from run to run.",
            'What is evaluated at startup is the startup bundle (under 5 KB) (dist/extension.js: the status bar item, the log, registrations); the rest of the extension (dist/features.js) loads at the first command, view, editor or notebook message, and transformers.js, onnxruntime and the model later still, in the worker, on the first analysis.',
          ],
        },
        {
          title: 'Select → heatmap drawn (full-size model, fp32)',
          columns: [
            'n',
            'cold (after reload)',
            'warm (median)',
            'warm p95',
            '… of which the analysis in the worker',
            '… key press to the panel receiving it',
            '… panel: received to drawn',
            'goal (warm)',
            'warm / goal',
          ],
          rows: endToEnd.map(({ n, goalMs, cold, runs, warm }) => [
            String(n),
            formatMs(cold),
            formatMs(median(warm)),
            formatMs(percentile(warm, 0.95)),
            formatMs(median(runs.map((run) => run.analysisMs))),
            formatMs(median(runs.map((run) => run.toPanelMs))),
            formatMs(median(runs.map((run) => run.inPanelMs))),
            formatMs(goalMs),
            `${(median(warm) / goalMs).toFixed(2)}×`,
          ]),
          notes: [
            'The stages are medians of their own, so they need not add up to the median total. The key press to the panel receiving the analysis holds the analysis in the worker; what else it holds is the workbench and the extension host. The wait for the draw runs inside the webview (a MutationObserver), so the benchmark does not poll the page while the extension works.',
            "The rest of a warm run is the workbench and the webview: the key press reaching the extension host, the grid's thumbnails pooled in the worker while the analysis is sent on (at the size the panel last asked for, so the panel does not ask again), the messages to the webview (through code-server's connection), the panel rebuilding its page and the canvas draw.",
            "A warm run includes everything the user waits for: the command, tokenizing with offsets, the model with all 72 attention maps in the worker, the host's cache, the transfer to the webview, the worker pooling the grid thumbnails and the canvas draw.",
          ],
        },
        {
          title: "Built-in extensions in the same windows (VS Code's measure, median)",
          columns: ['extension', 'activation', 'Attention Explorer / it'],
          rows: builtIns.slice(0, 8).map(({ name, ms }) => [name, formatMs(ms), `${(total / ms).toFixed(2)}×`]),
        },
      ],
      goals: [
        {
          goal: `Activation at startup ≤ ${GOAL_MS} ms (no command; the model loads lazily)`,
          measured: `${formatMs(total)} median of ${STARTS} starts (VS Code's measure), p95 ${formatMs(percentile(ours, 0.95))}`,
          met: total <= GOAL_MS,
        },
        ...endToEnd.map(({ n, goalMs, cold, warm }) => ({
          goal: `Select → heatmap drawn ≤ ${formatMs(goalMs)} at n = ${n} (warm)`,
          measured: `${formatMs(median(warm))} median of ${warm.length} (cold, after a reload: ${formatMs(cold)})`,
          met: median(warm) <= goalMs,
        })),
      ],
    };
    const json = JSON.stringify(section, null, 2);
    if (outFile) fs.writeFileSync(outFile, json);
    else console.log(json);
  } finally {
    await workbench.close();
    await server.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`[bench:activation] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
