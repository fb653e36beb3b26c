import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWebviewHtml, contentSecurityPolicy } from '../../src/views/webviewPage';
import { repoRoot } from '../support/paths';

const parts = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  nonce: 'bm9uY2Utb25l',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.js',
  styleUris: [
    'https://file+.vscode-resource.vscode-cdn.net/ext/media/common.css',
    'https://file+.vscode-resource.vscode-cdn.net/ext/media/panel.css',
  ],
  language: 'en',
  title: 'Attention <Explorer>',
  page: 'panel',
};

describe('webview page', () => {
  it('denies everything by default and allows only nonce-carrying scripts and local styles', () => {
    const policy = contentSecurityPolicy(parts.cspSource, parts.nonce);
    const directives: Record<string, string> = Object.fromEntries(
      policy.split('; ').map((directive) => [directive.split(' ')[0], directive]),
    );
    expect(directives['default-src']).toBe("default-src 'none'");
    expect(directives['script-src']).toBe(`script-src 'nonce-${parts.nonce}'`);
    expect(directives['style-src']).toBe(`style-src ${parts.cspSource}`);
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('has no inline script or style, and every script carries the nonce', () => {
    const html = buildWebviewHtml(parts);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts).toHaveLength(1);
    expect(scripts[0]?.[1]).toContain(`nonce="${parts.nonce}"`);
    expect(scripts[0]?.[2]).toBe('');
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toContain('<title>Attention &lt;Explorer&gt;</title>');
    // The shared stylesheet, then the page's own.
    expect([...html.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((match) => match[1])).toEqual(parts.styleUris);
  });

  it('keeps our webview code free of inline styles and HTML injection', () => {
    // Only our own sources: the bundled UI library styles its shadow roots through constructable
    // stylesheets, which CSP allows; the UI suite checks the live page for CSP violations.
    const sources = listTypeScript(path.join(repoRoot, 'webview'));
    expect(sources.length).toBeGreaterThan(5);
    for (const file of sources) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|\.style\.|setAttribute\(\s*["']style/);
    }
  });

  it('evaluates at startup only what activation needs: the rest of the host is a bundle of its own', () => {
    // esbuild's development build names each module it bundles in a comment.
    const modules = (file: string) =>
      new Set([...fs.readFileSync(path.join(repoRoot, 'dist', file), 'utf8').matchAll(/^\/\/ (src\/\S+\.ts)$/gm)].map((match) => match[1]));
    expect([...modules('extension.js')].sort()).toEqual([
      'src/extension.ts',
      'src/shared/contributions.ts',
      'src/shared/errors.ts',
      'src/views/startupStatus.ts',
    ]);
    const rest = modules('features.js');
    for (const module of ['src/features.ts', 'src/views/attentionPanel.ts', 'src/analysis/modelService.ts', 'src/views/statusBar.ts']) {
      expect(rest.has(module), module).toBe(true);
    }
  });

  it('ships no eval or new Function in any bundle (host, worker, webviews)', () => {
    const bundles = ['extension.js', 'features.js', 'worker.js', 'webview/panel.js', 'webview/side.js'].map((file) =>
      path.join(repoRoot, 'dist', file),
    );
    for (const bundle of bundles) {
      const script = fs.readFileSync(bundle, 'utf8');
      expect(script.length, bundle).toBeGreaterThan(2_000);
      expect(script.match(/(?<![\w.$])eval\(|new Function\(|(?<![\w.$])Function\(\s*["'`]/g), bundle).toBeNull();
    }
    // The one call site transformers.js's embedded onnxruntime-web glue has is replaced by a stub that throws.
    expect(fs.readFileSync(path.join(repoRoot, 'dist', 'worker.js'), 'utf8')).toContain('__attentionExplorerNoDynamicCode()');
  });
});

function listTypeScript(directory: string): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return listTypeScript(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}
