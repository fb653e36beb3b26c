/**
 * `npm test`: every test layer, in order, each in its own process; a summary table at the end. A layer that cannot
 * run fails with its reason (nothing is skipped silently), and the command fails when any layer fails.
 *
 *   1. typecheck    tsc on the host, webview and UI-test projects (strict, no unused locals or parameters)
 *   2. lint         ESLint (typescript-eslint, type-checked rules) and Prettier, zero warnings
 *   3. unit         vitest in plain Node (test/unit)
 *   4. extension    the mocha suite inside a real VS Code (scripts/run-extension-tests.ts)
 *   5. package      the production VSIX (scripts/package.ts)
 *   6. ui           playwright-core + Chromium against code-server with that VSIX installed (test/ui)
 *
 * Then the reliability report is written from the cases the layers recorded (test/support/reliability.ts) to
 * artifacts/reliability/RELIABILITY.md, and a last check fails when the committed docs/RELIABILITY.md lists other
 * cases (`npm run reliability` updates it). Nothing tracked is written: the checkout stays clean.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { casesOf, readRecords, renderReliabilityReport } from './lib/reliabilityReport';
import { ensurePython } from './lib/tools';
import { repoRoot } from '../test/support/paths';

interface Layer {
  name: string;
  command: string[];
}

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);

// Every layer that runs Python (the package's suite, the unit and UI tests' references) uses this one.
const python = ensurePython();
process.env.ATTN_PYTHON = python;

const layers: Layer[] = [
  { name: 'typecheck', command: ['npm', 'run', '--silent', 'typecheck'] },
  { name: 'lint', command: ['npm', 'run', '--silent', 'lint'] },
  { name: 'unit (vitest)', command: [bin('vitest'), 'run'] },
  // The notebook package: pure Python, its own unittest suite (NumPy is used where the machine has it).
  { name: 'python (unittest)', command: [python, '-B', '-m', 'unittest', 'discover', '-s', 'python/tests', '-t', 'python'] },
  { name: 'extension host (mocha in VS Code)', command: [tsx, 'scripts/run-extension-tests.ts'] },
  { name: 'package (VSIX)', command: [tsx, 'scripts/package.ts'] },
  { name: 'ui (playwright + Chromium + code-server)', command: [tsx, 'scripts/run-ui-tests.ts'] },
];

const only = process.argv.slice(2);
const reliabilityDir = path.join(repoRoot, 'artifacts', 'reliability');
fs.rmSync(reliabilityDir, { recursive: true, force: true });
const results: Array<{ name: string; ok: boolean; seconds: number }> = [];
for (const layer of layers) {
  if (only.length > 0 && !only.some((name) => layer.name.startsWith(name))) {
    continue;
  }
  console.log(`\n=== ${layer.name} ===`);
  const started = Date.now();
  const [command = 'false', ...args] = layer.command;
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, FORCE_COLOR: '0', ATTN_RELIABILITY_DIR: reliabilityDir },
  });
  results.push({ name: layer.name, ok: result.status === 0, seconds: (Date.now() - started) / 1000 });
}

if (only.length === 0) {
  console.log('\n=== reliability report up to date ===');
  const started = Date.now();
  const report = renderReliabilityReport(readRecords(reliabilityDir));
  fs.mkdirSync(reliabilityDir, { recursive: true });
  fs.writeFileSync(path.join(reliabilityDir, 'RELIABILITY.md'), report);
  const committed = fs.readFileSync(path.join(repoRoot, 'docs', 'RELIABILITY.md'), 'utf8');
  const [now, before] = [casesOf(report), casesOf(committed)];
  const added = now.filter((line) => !before.includes(line));
  const gone = before.filter((line) => !now.includes(line));
  const allPassed = results.every((result) => result.ok);
  if (allPassed) fs.writeFileSync(path.join(reliabilityDir, 'complete'), '');
  console.log(`[test] wrote artifacts/reliability/RELIABILITY.md (${now.length} cases)`);
  for (const line of added) console.log(`  new:  ${line}`);
  for (const line of gone) console.log(`  gone: ${line}`);
  const upToDate = added.length === 0 && gone.length === 0;
  if (!upToDate)
    console.log(
      allPassed
        ? 'docs/RELIABILITY.md lists other cases than this run recorded: run `npm run reliability` and commit it.'
        : 'Cases are missing because a layer failed.',
    );
  results.push({ name: 'reliability report up to date', ok: upToDate, seconds: (Date.now() - started) / 1000 });
}

console.log('\n=== summary ===');
const width = Math.max(...results.map((result) => result.name.length));
for (const result of results) {
  console.log(`${result.ok ? 'PASS' : 'FAIL'}  ${result.name.padEnd(width)}  ${result.seconds.toFixed(1).padStart(6)} s`);
}
const failed = results.filter((result) => !result.ok);
if (failed.length > 0) {
  console.log(`\n${failed.length} layer(s) failed: ${failed.map((result) => result.name).join(', ')}`);
  process.exitCode = 1;
}
