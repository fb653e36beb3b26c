// @ts-check
/**
 * Installs the project's npm dependencies when they are missing or the lock file changed, offline-safely:
 * onnxruntime-node's install script would download a CUDA provider from outside the npm registry, so it is told to
 * skip (the CPU binaries are inside its npm package). Runs with Node's standard library only, before anything is
 * installed; every `npm start`/`npm test`/`npm run package` begins with it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Attention Explorer needs Node.js 20.19 or newer (this is ${process.version}).`);
  process.exit(1);
}

const lock = readFileSync(join(root, 'package-lock.json'));
const hash = createHash('sha256').update(lock).digest('hex');
const stamp = join(root, 'node_modules', '.attention-explorer-lock-hash');
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
  process.exit(0);
}

console.log('[deps] installing npm dependencies (npm ci)');
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, env, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('[deps] npm ci failed; see the output above.');
  process.exit(result.status ?? 1);
}
writeFileSync(stamp, hash);
