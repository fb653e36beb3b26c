/**
 * Every user-facing string can be translated: the host's `vscode.l10n.t` strings are all in l10n/bundle.l10n.json
 * (regenerate with `npm run l10n`), and every `%key%` of package.json has its text in package.nls.json.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths';

describe('localisation', () => {
  it('l10n/bundle.l10n.json holds exactly the strings the source passes to vscode.l10n.t', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-l10n-'));
    execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'vscode-l10n-dev'), ['export', '--outDir', out, './src'], { cwd: repoRoot, stdio: 'pipe' });
    const extracted = JSON.parse(fs.readFileSync(path.join(out, 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, 'l10n', 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(extracted).length).toBeGreaterThan(50);
    expect(committed, 'run `npm run l10n` after changing user-facing strings').toEqual(extracted);
  });

  it('every %key% in package.json has a text in package.nls.json, and no text is unused', () => {
    const manifest = fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8');
    const nls = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.nls.json'), 'utf8')) as Record<string, string>;
    const keys = new Set([...manifest.matchAll(/"%([\w.]+)%"/g)].map((match) => match[1]!));
    expect(keys.size).toBeGreaterThan(20);
    expect([...keys].filter((key) => !(key in nls))).toEqual([]);
    expect(Object.keys(nls).filter((key) => !keys.has(key))).toEqual([]);
  });
});
