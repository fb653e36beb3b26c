/**
 * A contributor who opens the repository in VS Code can press F5: the launch configurations start an Extension
 * Development Host on this checkout (and one runs the extension-host suite), their pre-launch tasks exist and run
 * npm scripts that exist, and the paths they name are the ones the build writes. Desktop VS Code cannot run here;
 * the same extensionDevelopmentPath / extensionTestsPath pair is what `npm run test:extension` hands code-server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths';

interface LaunchConfiguration {
  name: string;
  type: string;
  request: string;
  args: string[];
  envFile?: string;
  outFiles: string[];
  preLaunchTask?: string;
}

/** Reads a JSON-with-comments file as VS Code does (TypeScript's reader accepts the same dialect). */
function readJsonc<T>(file: string): T {
  const { config, error } = ts.parseConfigFileTextToJson(file, fs.readFileSync(file, 'utf8'));
  if (error) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  return config as T;
}

const inWorkspace = (value: string) => path.join(repoRoot, value.replace('${workspaceFolder}', ''));
const launch = readJsonc<{ version: string; configurations: LaunchConfiguration[] }>(path.join(repoRoot, '.vscode', 'launch.json'));
const tasks = readJsonc<{ tasks: Array<{ label: string; type: string; script?: string }> }>(path.join(repoRoot, '.vscode', 'tasks.json'));
const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  main: string;
  scripts: Record<string, string>;
};

describe('the launch configurations (F5)', () => {
  it('start an Extension Development Host on this checkout, after a task that builds it', () => {
    const run = launch.configurations.find((configuration) => configuration.name === 'Run Extension');
    expect(run).toMatchObject({ type: 'extensionHost', request: 'launch' });
    expect(run!.args).toContain('--extensionDevelopmentPath=${workspaceFolder}');
    // The document it opens on is the sample `npm start` opens.
    expect(fs.existsSync(inWorkspace(run!.args.find((arg) => !arg.startsWith('--'))!))).toBe(true);
    // The bundle VS Code loads is the one the build writes, and the debugger maps it to the sources.
    expect(fs.existsSync(path.join(repoRoot, manifest.main))).toBe(true);
    expect(run!.outFiles).toEqual(['${workspaceFolder}/dist/**/*.js']);
  });

  it("one runs the extension-host suite: the suite bundle the build writes, with the suite's environment", () => {
    const suite = launch.configurations.find((configuration) => configuration.name === 'Extension Tests');
    const testsPath = suite!.args.find((arg) => arg.startsWith('--extensionTestsPath='))!.split('=')[1]!;
    expect(fs.existsSync(inWorkspace(testsPath))).toBe(true);
    expect(fs.existsSync(inWorkspace(suite!.args.find((arg) => !arg.startsWith('--'))!))).toBe(true);
    expect(suite!.envFile).toBe('${workspaceFolder}/dist/test/suite.env');
    // The pre-launch task writes that file: the same script, and the same environment, as npm run test:extension.
    expect(fs.readFileSync(path.join(repoRoot, 'scripts', 'prepare-extension-tests.ts'), 'utf8')).toContain("'dist', 'test', 'suite.env'");
  });

  it('every pre-launch task exists and runs an npm script that exists', () => {
    for (const configuration of launch.configurations) {
      const task = tasks.tasks.find((candidate) => candidate.label === configuration.preLaunchTask);
      expect(task, `${configuration.name}: task "${configuration.preLaunchTask}"`).toBeDefined();
      expect(task!.type).toBe('npm');
      expect(manifest.scripts[task!.script!], `npm script ${task!.script}`).toBeDefined();
    }
  });

  it('the recommended extensions are the linters and formatter the project uses', () => {
    const { recommendations } = readJsonc<{ recommendations: string[] }>(path.join(repoRoot, '.vscode', 'extensions.json'));
    expect(recommendations).toEqual(expect.arrayContaining(['dbaeumer.vscode-eslint', 'esbenp.prettier-vscode']));
  });
});

describe('dependency install scripts', () => {
  it('every package in the lockfile with an install script is named in allowScripts (npm 11 runs uncovered ones)', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const allowed = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> })
      .allowScripts;
    const withScripts = Object.entries(lock.packages)
      .filter(([location, entry]) => location !== '' && entry.hasInstallScript)
      .map(([location]) => location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !(allowed && Object.hasOwn(allowed, name)))).toEqual([]);
    // Denied, not allowed: none of them is needed (the binaries are in the packages themselves).
    expect(Object.values(allowed ?? {}).every((value) => value === false)).toBe(true);
  });
});
