/**
 * The extension-host test suite's entry point: the module VS Code loads as `extensionTestsPath`, whether it was
 * started by @vscode/test-electron (desktop VS Code) or by code-server's smoke-test driver (see
 * scripts/run-extension-tests.ts). Test files are bundled in; mocha's `suite`/`test` globals are installed before
 * they are imported.
 */
import * as fs from 'node:fs';
import Mocha from 'mocha';

interface TestReport {
  passed: string[];
  failed: Array<{ title: string; error: string }>;
}

export async function run(): Promise<void> {
  // ATTN_EXTENSION_GREP runs only the tests whose titles match (while working on one).
  const grep = process.env.ATTN_EXTENSION_GREP;
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec', ...(grep ? { grep } : {}) });
  mocha.suite.emit('pre-require', globalThis, 'extension-host-suite', mocha);
  if (process.env.ATTN_EXTENSION_SUITE === 'soak') {
    // The benchmark's memory soak (npm run bench), on the full-size model.
    await import('./soak.bench');
  } else {
    await import('./commands.test');
    await import('./analyzeSelection.test');
    await import('./modelDownload.test');
    await import('./editor.test');
    await import('./families.test');
    await import('./attentionFiles.test');
    await import('./reliability.test');
    await import('./scale.test');
  }

  const report: TestReport = { passed: [], failed: [] };
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('pass', (test) => report.passed.push(test.fullTitle()));
    runner.on('fail', (test, error: Error) => report.failed.push({ title: test.fullTitle(), error: error.message }));
  });
  // The runner reads this file for its summary; the exit code alone does not say which tests ran.
  const reportPath = process.env.ATTN_EXTENSION_TEST_REPORT;
  if (reportPath) {
    fs.writeFileSync(reportPath, JSON.stringify(report, null, 2));
  }
  if (failures > 0) {
    throw new Error(`${failures} extension-host test(s) failed`);
  }
}
