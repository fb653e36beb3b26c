/**
 * UI end-to-end tests: the packaged VSIX installed into code-server, driven in Debian's Chromium with playwright-core.
 *   tsx scripts/run-ui-tests.ts        (needs `npm run package` first; `npm test` runs it before this)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../test/support/paths';
import { ensureChromium, ensureCodeServer } from './lib/tools';

const pointer = path.join(repoRoot, 'build', 'latest-vsix.txt');
const vsix = fs.existsSync(pointer) ? fs.readFileSync(pointer, 'utf8').trim() : '';
if (!vsix || !fs.existsSync(vsix)) {
  console.error('[ui] no packaged VSIX found: run `npm run package` first (npm test does).');
  process.exit(1);
}
// Installed here rather than inside vitest so their output is not swallowed.
ensureChromium();
ensureCodeServer();
const result = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--config', 'test/ui/vitest.config.mts'], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...process.env, ATTN_VSIX: vsix },
});
process.exit(result.status ?? 1);
