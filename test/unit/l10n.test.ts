/**
 * Every user-facing string can be translated: the `l10n.t` / `vscode.l10n.t` strings of the host and the webviews are
 * all in l10n/bundle.l10n.json (regenerate with `npm run l10n`), every `%key%` of package.json has its text in
 * package.nls.json, and no webview puts an English literal where a reader sees it (read from the TypeScript syntax
 * tree: element text, titles and labels, status lines, canvas text).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths';

/** Attributes a reader (or a screen reader) perceives. */
const SHOWN_ATTRIBUTES = new Set(['title', 'aria-label', 'label', 'placeholder', 'alt', 'ariaLabel', 'caption']);
/** Calls whose text argument is shown. */
const SHOWING_CALLS = new Set(['setStatus', 'fillText', 'strokeText']);
/** Words of notation that read the same in every language. */
const NOTATION = new Set(['CLS', 'SEP', 'MASK', 'PNG', 'SVG', 'CSV', 'JSON', 'PE', 'W_O', 'b_O']);

/** The static text of a literal, if it is one. */
function staticText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join(' ');
  return undefined;
}

function isWords(text: string): boolean {
  return [...text.matchAll(/\p{L}[\p{L}_]+/gu)].some(([word]) => !NOTATION.has(word));
}

function isL10nCall(node: ts.Node): boolean {
  return (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    node.expression.name.text === 't' &&
    /(^|\.)l10n$/.test(node.expression.expression.getText())
  );
}

/** The literals an expression shows, looking through conditionals, concatenation and parentheses. */
function shownLiterals(node: ts.Expression): ts.Node[] {
  if (isL10nCall(node)) return [];
  if (ts.isParenthesizedExpression(node)) return shownLiterals(node.expression);
  if (ts.isConditionalExpression(node)) return [...shownLiterals(node.whenTrue), ...shownLiterals(node.whenFalse)];
  if (
    ts.isBinaryExpression(node) &&
    (node.operatorToken.kind === ts.SyntaxKind.PlusToken ||
      node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
      node.operatorToken.kind === ts.SyntaxKind.BarBarToken)
  ) {
    return [...shownLiterals(node.left), ...shownLiterals(node.right)];
  }
  const text = staticText(node);
  return text !== undefined && isWords(text) ? [node] : [];
}

function unlocalisedLiterals(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: ts.Node[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
      if (name === 'h') node.arguments.slice(2).forEach((argument) => found.push(...shownLiterals(argument)));
      if (SHOWING_CALLS.has(name) && node.arguments[0]) found.push(...shownLiterals(node.arguments[0]));
    }
    if (ts.isNewExpression(node) && node.expression.getText() === 'Error' && node.arguments?.[0])
      found.push(...shownLiterals(node.arguments[0]));
    if (ts.isPropertyAssignment(node)) {
      const key = ts.isIdentifier(node.name) || ts.isStringLiteral(node.name) ? node.name.text : '';
      if (SHOWN_ATTRIBUTES.has(key)) found.push(...shownLiterals(node.initializer));
    }
    if (
      ts.isBinaryExpression(node) &&
      node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isPropertyAccessExpression(node.left) &&
      ['textContent', 'title', 'ariaLabel'].includes(node.left.name.text)
    ) {
      found.push(...shownLiterals(node.right));
    }
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      node.expression.name.text === 'setAttribute' &&
      node.arguments[0] &&
      SHOWN_ATTRIBUTES.has(staticText(node.arguments[0]) ?? '') &&
      node.arguments[1]
    ) {
      found.push(...shownLiterals(node.arguments[1]));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.map(
    (node) =>
      `${path.relative(repoRoot, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText().slice(0, 80)}`,
  );
}

function webviewSources(folder = path.join(repoRoot, 'webview')): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? webviewSources(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('localisation', () => {
  it('l10n/bundle.l10n.json holds exactly the strings the host and the webviews pass to l10n.t', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-l10n-'));
    execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'vscode-l10n-dev'), ['export', '--outDir', out, './src', './webview'], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
    const extracted = JSON.parse(fs.readFileSync(path.join(out, 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, 'l10n', 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
    expect(Object.keys(extracted).length).toBeGreaterThan(300);
    expect(committed, 'run `npm run l10n` after changing user-facing strings').toEqual(extracted);
  });

  it('no webview shows an English literal: every shown text goes through l10n.t', () => {
    const files = webviewSources();
    expect(files.length).toBeGreaterThan(15);
    expect(files.flatMap(unlocalisedLiterals)).toEqual([]);
  });

  it('the check finds a shown literal, in every position it reads', () => {
    const probe = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'attn-l10n-probe-')), 'probe.ts');
    fs.writeFileSync(
      probe,
      [
        "h('p', {}, 'Hello there');",
        "h('button', { title: `Open layer ${1}` });",
        "status.textContent = ok ? 'Done' : l10n.t('Failed');",
        "context.setStatus('Saved it');",
        "canvas.setAttribute('aria-label', 'A grid');",
        "context.fillText('Layer ' + 1, 0, 0);",
        "throw new Error('Nothing to draw');",
        "h('p', {}, l10n.t('Fine'), '→ [CLS]', `${count} × ${count}`);",
      ].join('\n'),
    );
    expect(unlocalisedLiterals(probe).map((line) => line.replace(/^.*?:(\d+): /, '$1 '))).toEqual([
      "1 'Hello there'",
      '2 `Open layer ${1}`',
      "3 'Done'",
      "4 'Saved it'",
      "5 'A grid'",
      "6 'Layer '",
      "7 'Nothing to draw'",
    ]);
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
