/**
 * `npm run reliability`: copies the reliability report of the latest `npm test` (artifacts/reliability/RELIABILITY.md)
 * to docs/RELIABILITY.md, after checking that it came from a run in which every layer recorded its cases.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../test/support/paths';

const source = path.join(repoRoot, 'artifacts', 'reliability', 'RELIABILITY.md');
const complete = path.join(repoRoot, 'artifacts', 'reliability', 'complete');
if (!fs.existsSync(source) || !fs.existsSync(complete)) {
  console.error('reliability: no report from a complete `npm test` run with every layer passing; run `npm test` first.');
  process.exit(1);
}
fs.copyFileSync(source, path.join(repoRoot, 'docs', 'RELIABILITY.md'));
console.log('reliability: docs/RELIABILITY.md updated from the latest npm test run.');
