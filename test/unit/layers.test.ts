/**
 * Dependencies point down only: extension → features → views → analysis → config → model → shared → engine (the independent
 * reference forward passes sit beside the model and read only the engine). Every import of every file under src/ is
 * read from its syntax tree, type-only imports included, and an import that points up (or sideways into another
 * branch) fails the test with the file and line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths';

const src = path.join(repoRoot, 'src');

/** Each layer and the layers it may import from (besides itself). */
const LAYERS: Record<string, readonly string[]> = {
  engine: [],
  shared: ['engine'],
  reference: ['engine'],
  model: ['shared', 'engine'],
  config: ['model', 'shared', 'engine'],
  analysis: ['config', 'model', 'shared', 'engine'],
  views: ['analysis', 'config', 'model', 'shared', 'engine'],
  features: ['views', 'analysis', 'config', 'model', 'shared', 'engine'],
  // The startup bundle: it loads `features` on first use.
  extension: ['features', 'views', 'analysis', 'config', 'model', 'shared', 'engine'],
};

function layerOf(file: string, root = src): string {
  const relative = path.relative(root, file).split(path.sep);
  if (relative.length === 1) return relative[0]!.replace(/\.ts$/, '');
  return relative[0]!;
}

function sources(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module a file names: static and type-only imports, re-exports, dynamic imports and requires. */
function importsOf(file: string): Array<{ specifier: string; line: number }> {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Array<{ specifier: string; line: number }> = [];
  const add = (node: ts.Node, specifier: ts.Expression | undefined) => {
    if (specifier && ts.isStringLiteralLike(specifier))
      found.push({ specifier: specifier.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal);
    if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    )
      add(node, node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The imports that break the layering, as `file:line → target`. */
function upwardImports(files: readonly string[], root = src): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = layerOf(file, root);
    const allowed = LAYERS[from];
    if (!allowed) {
      problems.push(`${path.relative(repoRoot, file)}: not in any layer`);
      continue;
    }
    for (const { specifier, line } of importsOf(file)) {
      if (!specifier.startsWith('.')) continue; // packages and node: builtins
      const target = layerOf(path.resolve(path.dirname(file), specifier), root);
      if (target !== from && !allowed.includes(target))
        problems.push(`${path.relative(root, file)}:${line} (${from}) → ${specifier} (${target})`);
    }
  }
  return problems;
}

describe('layering', () => {
  it('every import under src/ points down: extension → views → analysis → config → model → shared → engine', () => {
    const files = sources(src);
    expect(files.length).toBeGreaterThan(50);
    expect(upwardImports(files)).toEqual([]);
  });

  it('the engine and the shared protocol never import vscode or Node (the webviews bundle them)', () => {
    const offending = sources(src)
      .filter((file) => ['engine', 'shared'].includes(layerOf(file)))
      .flatMap((file) =>
        importsOf(file)
          .filter(({ specifier }) => specifier === 'vscode' || specifier.startsWith('node:'))
          .map(({ specifier, line }) => `${path.relative(repoRoot, file)}:${line} ${specifier}`),
      );
    expect(offending).toEqual([]);
  });

  it('finds an upward import, a type-only one included', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-layers-'));
    const probe = path.join(root, 'analysis', 'probe.ts');
    fs.mkdirSync(path.dirname(probe));
    fs.writeFileSync(
      probe,
      "import type { AttentionPanelManager } from '../views/attentionPanel';\nimport { argmax } from '../engine/argmax';\nexport const x = import('../extension');\n",
    );
    expect(upwardImports([probe], root)).toEqual([
      'analysis/probe.ts:1 (analysis) → ../views/attentionPanel (views)',
      'analysis/probe.ts:3 (analysis) → ../extension (extension)',
    ]);
  });
});
