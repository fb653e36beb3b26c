/**
 * Starts and stops code-server (VS Code's workbench and server) on loopback, isolated in its own folders: user
 * data, extensions, XDG config/data/cache. It runs in its own process group so that stopping it also stops the
 * helper processes (extension host, file watcher, pty host) that outlive the main pid.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ensureCodeServer } from './tools';

export interface CodeServerOptions {
  /** Root for every folder this instance writes (user data, extensions, logs, XDG dirs). */
  stateDir: string;
  /** Folder opened as the workspace. */
  folder: string;
  /** User settings written before start. */
  settings?: Record<string, unknown>;
  /**
   * Settings of the machine the extension host runs on (`Machine/settings.json`). Settings with `machine` or
   * `machine-overridable` scope, such as model folders, are only read from there in a remote window.
   */
  machineSettings?: Record<string, unknown>;
  /** Extra environment for code-server and therefore the extension host. */
  env?: Record<string, string>;
  /** Enables the smoke-test driver (`window.codeAutomationLog` / `codeAutomationExit`) for extension-host suites. */
  smokeTestDriver?: boolean;
  /** Fixed port; a free one is picked otherwise. */
  port?: number;
  /** Leave the server running after this process exits (for `npm start`). */
  detached?: boolean;
  /** Keep VS Code's workspace trust on: the folder opens in Restricted Mode (it was never trusted). */
  workspaceTrust?: boolean;
}

export interface CodeServer {
  url: string;
  port: number;
  pid: number;
  version: string;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function isolatedEnv(stateDir: string, extra: Record<string, string>, nodeBinDir: string): NodeJS.ProcessEnv {
  const xdg = {
    XDG_CONFIG_HOME: path.join(stateDir, 'xdg', 'config'),
    XDG_DATA_HOME: path.join(stateDir, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(stateDir, 'xdg', 'cache'),
  };
  for (const dir of Object.values(xdg)) {
    fs.mkdirSync(dir, { recursive: true });
  }
  // The extension must switch onnxruntime's telemetry off itself (src/model/telemetry.ts): tests check that it does.
  const { ORT_DISABLE_TELEMETRY: _inherited, ...inherited } = process.env;
  return {
    ...inherited,
    ...xdg,
    PATH: `${nodeBinDir}${path.delimiter}${process.env.PATH ?? ''}`,
    ...extra,
  };
}

/** Installs a VSIX into an extensions folder with code-server's CLI. */
export function installExtension(vsix: string, stateDir: string): void {
  const codeServer = ensureCodeServer();
  const extensionsDir = path.join(stateDir, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });
  const result = spawnSync(
    codeServer.node,
    [
      codeServer.bin,
      '--extensions-dir',
      extensionsDir,
      '--user-data-dir',
      path.join(stateDir, 'user-data'),
      '--install-extension',
      vsix,
      '--force',
    ],
    { env: isolatedEnv(stateDir, {}, path.dirname(codeServer.node)), encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`Installing ${vsix} into code-server failed:\n${result.stdout}\n${result.stderr}`);
  }
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const codeServer = ensureCodeServer();
  const port = options.port ?? (await freePort());
  const userDataDir = path.join(options.stateDir, 'user-data');
  const extensionsDir = path.join(options.stateDir, 'extensions');
  const logFile = path.join(options.stateDir, 'code-server.log');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': 'off',
    'update.mode': 'none',
    'security.workspace.trust.enabled': options.workspaceTrust === true,
    'security.workspace.trust.startupPrompt': 'never',
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'git.openRepositoryInParentFolders': 'never',
    ...options.settings,
  };
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  if (options.machineSettings) {
    fs.mkdirSync(path.join(userDataDir, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(options.machineSettings, null, 2));
  }
  const configFile = path.join(options.stateDir, 'config.yaml');
  fs.writeFileSync(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);

  const args = [
    codeServer.bin,
    '--config',
    configFile,
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...(options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    options.folder,
  ];
  const out = fs.openSync(logFile, 'a');
  const child = spawn(codeServer.node, args, {
    env: isolatedEnv(options.stateDir, options.env ?? {}, path.dirname(codeServer.node)),
    stdio: ['ignore', out, out],
    detached: true, // own process group: stop() kills every helper process with it
  });
  fs.closeSync(out);
  if (options.detached) {
    child.unref();
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error('code-server did not start');
  }
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) {
      throw new Error(`code-server exited during start-up; see ${logFile}:\n${tail(logFile)}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) {
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(pid, 'SIGKILL');
      throw new Error(`code-server did not answer on ${url} within 60 s; see ${logFile}:\n${tail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  return {
    url,
    port,
    pid,
    version: codeServer.version,
    userDataDir,
    extensionsDir,
    logFile,
    stop: async () => {
      killGroup(pid, 'SIGTERM');
      const stopBy = Date.now() + 5_000;
      while (!exited && Date.now() < stopBy) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      killGroup(pid, 'SIGKILL');
    },
  };
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
