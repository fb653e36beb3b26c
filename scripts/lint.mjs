/**
 * `npm run lint`: ESLint (type-checked rules, --max-warnings 0) and Prettier's check, side by side (on two cores they
 * take about as long together as ESLint alone). Fails when either fails; each one's output is printed whole, in
 * order, once both have finished.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** @param {string} file */
const bin = (file) => fileURLToPath(new URL(`../node_modules/${file}`, import.meta.url));
const tools = [
  // Both caches live in node_modules/.cache and skip files whose content is unchanged since they last passed. ESLint's
  // type-checked rules can also be broken by an edit in another file: a clean clone (CI) has no cache and lints all.
  {
    name: 'eslint',
    bin: bin('eslint/bin/eslint.js'),
    args: ['.', '--max-warnings', '0', '--cache', '--cache-strategy', 'content', '--cache-location', 'node_modules/.cache/eslint/'],
  },
  { name: 'prettier', bin: bin('prettier/bin/prettier.cjs'), args: ['--check', '--cache', '.'] },
];

const runs = tools.map(
  ({ name, bin: file, args }) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      child.on('close', (code) => resolve({ name, code: code ?? 1, output }));
    }),
);
let failed = false;
for (const { name, code, output } of await Promise.all(runs)) {
  if (output.trim()) process.stdout.write(`[${name}]\n${output}${output.endsWith('\n') ? '' : '\n'}`);
  if (code !== 0) {
    failed = true;
    console.error(`[lint] ${name} failed (exit code ${code})`);
  }
}
process.exit(failed ? 1 : 0);
