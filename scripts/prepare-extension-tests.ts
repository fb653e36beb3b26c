/**
 * `npm run test:prepare`: what the "Extension Tests" launch configuration (F5 in VS Code) needs before it starts:
 * the development bundles (the suite included) and dist/test/suite.env with the suite's environment.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../test/support/paths';
import { extensionSuiteEnv } from './lib/extensionSuiteEnv';

execFileSync(process.execPath, [path.join(repoRoot, 'esbuild.js')], { cwd: repoRoot, stdio: 'inherit' });
const env = extensionSuiteEnv();
const file = path.join(repoRoot, 'dist', 'test', 'suite.env');
fs.writeFileSync(
  file,
  Object.entries(env)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n') + '\n',
);
console.log(`[test:prepare] wrote ${path.relative(repoRoot, file)}`);
