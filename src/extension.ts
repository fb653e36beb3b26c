/**
 * Attention Explorer's entry point: what activation at startup needs and nothing else. The extension activates when
 * the workbench has started (for its status bar item); every command, view, editor, hover and notebook message is
 * registered here with a handler that loads the rest of the extension (`dist/features.js`, `src/features.ts`) on
 * first use, synchronously, and hands over. Every extension shares the extension host's startup: this bundle is small
 * so that evaluating it costs little, and the rest costs nothing until someone uses it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as FeaturesModule from './features';
import type { AttentionExplorerApi, Features, Startup } from './features';
import {
  ATTENTION_FILE_VIEW_TYPE,
  ATTENTION_RENDERER_ID,
  COMMANDS,
  LIVE_MODE_SETTING,
  PANEL_VIEW_TYPE,
  SIDE_VIEW_ID,
  type CommandName,
} from './shared/contributions';
import { messageOf } from './shared/errors';
import { startupStatusItem } from './views/startupStatus';

export type { AttentionExplorerApi } from './features';
export type { CompareOutcome } from './features';

/** Set by esbuild's banner and footer around the bundle's evaluation (absent when not bundled). */
declare const __attnBundleStart: number | undefined;
declare const __attnBundleEnd: number | undefined;

export function activate(context: vscode.ExtensionContext): AttentionExplorerApi {
  const activateStart = performance.now();
  const log = vscode.window.createOutputChannel('Attention Explorer', { log: true });
  const statusItem = startupStatusItem();
  const rendererMessaging = notebookRendererMessaging(log);
  let features: Features | undefined;
  const load = (reason: string): Features => {
    if (!features) {
      const loadStart = performance.now();
      log.info(`Loading the extension (first use: ${reason}).`);
      try {
        // A bundle of its own, beside this one; esbuild leaves a computed path alone.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const module = require(path.join(__dirname, 'features.js')) as typeof FeaturesModule;
        features = module.startFeatures(context, { log, statusItem, rendererMessaging, activation, loadStart } satisfies Startup);
      } catch (error) {
        // Only a damaged installation gets here: say so once, in words, rather than as each command's stack trace.
        const reason = messageOf(error);
        log.error(`Could not load the extension: ${reason}`);
        void vscode.window.showErrorMessage(
          vscode.l10n.t('Attention Explorer could not load ({0}). Reinstalling the extension should fix it.', reason),
        );
        throw error;
      }
    }
    return features;
  };

  context.subscriptions.push(
    log,
    statusItem,
    ...(Object.keys(COMMANDS) as CommandName[]).map((name) =>
      vscode.commands.registerCommand(COMMANDS[name], (...args: unknown[]) => load(`command ${name}`).commands[name](...args)),
    ),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state) => load('restoring the panel').panelSerializer.deserializeWebviewPanel(panel, state),
    }),
    vscode.window.registerWebviewViewProvider(SIDE_VIEW_ID, {
      resolveWebviewView: (view, resolveContext, token) => load('the side view').sideView.resolveWebviewView(view, resolveContext, token),
    }),
    vscode.window.registerCustomEditorProvider(
      ATTENTION_FILE_VIEW_TYPE,
      {
        openCustomDocument: (uri, openContext, token) =>
          load('an attention file').attentionFiles.openCustomDocument(uri, openContext, token),
        resolveCustomEditor: (document, panel, token) =>
          load('an attention file').attentionFiles.resolveCustomEditor(document, panel, token),
      },
      { supportsMultipleEditorsPerDocument: true },
    ),
    // Hovers and tints describe analyses, and there are none before the rest has loaded.
    vscode.languages.registerHoverProvider('*', {
      provideHover: (document, position, token) => features?.hover.provideHover(document, position, token),
    }),
  );
  // Live mode analyses selections as they change: with it on, the rest is needed from the start.
  const liveModeOn = () => vscode.workspace.getConfiguration().get<boolean>(LIVE_MODE_SETTING, false) === true;
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration(LIVE_MODE_SETTING) && liveModeOn()) load('live mode turned on');
    }),
  );
  if (rendererMessaging) {
    context.subscriptions.push(
      rendererMessaging.onDidReceiveMessage(({ editor, message }) => load('a notebook output').notebookOutputs.receive(editor, message)),
    );
  }

  const activation = {
    evaluateMs: typeof __attnBundleStart === 'number' && typeof __attnBundleEnd === 'number' ? __attnBundleEnd - __attnBundleStart : 0,
    activateMs: performance.now() - activateStart,
  };
  log.info(
    `Activated: bundle evaluated in ${activation.evaluateMs.toFixed(1)} ms, activate() took ${activation.activateMs.toFixed(1)} ms.`,
  );
  if (liveModeOn()) load('live mode is on');
  return lazyApi(() => load('the extension API').api);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}

/** The renderer's messaging, if the renderer is contributed (VS Code refuses it to an extension that does not). */
function notebookRendererMessaging(log: vscode.LogOutputChannel): vscode.NotebookRendererMessaging | undefined {
  try {
    return vscode.notebooks.createRendererMessaging(ATTENTION_RENDERER_ID);
  } catch (error) {
    log.warn(`Notebook outputs cannot reach the extension: ${messageOf(error)}`);
    return undefined;
  }
}

/**
 * The API other extensions and the extension-host tests get: reading any of it loads the rest. `then` stays
 * undefined, because VS Code and `await` look for it on what `activate` returns.
 */
function lazyApi(api: () => AttentionExplorerApi): AttentionExplorerApi {
  return new Proxy({} as AttentionExplorerApi, {
    get(_target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      const target = api();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    has: (_target, property) => property in api(),
  });
}
