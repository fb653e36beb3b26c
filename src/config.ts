/**
 * Typed access to the extension's settings (declared in package.json under `attentionExplorer.*`).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hubUrlProblem, redactedUrl, type HubUrlProblem } from './model/hubPolicy';
import { DEFAULT_TENSOR_BUDGET_BYTES, TENSOR_BUDGET_MIB } from './model/memoryBudget';
import { isHubModelId, type ModelDtype, type ModelRequest, type ModelSource } from './model/modelSource';
import { TASKS, type TaskId } from './shared/analysis';
import { LIVE_MODE_SETTING } from './shared/contributions';
import { AnalysisError } from './shared/errors';

/** Which attention a view reads. Layers are 1-based; 0 means every layer (mean, rollout) or the last one (head). */
export type AttentionSource =
  { kind: 'mean'; layer: number } | { kind: 'rollout'; layer: number } | { kind: 'head'; layer: number; head: number };

export const SETTINGS = {
  model: 'attentionExplorer.model',
  dtype: 'attentionExplorer.dtype',
  localModelPath: 'attentionExplorer.localModelPath',
  task: 'attentionExplorer.task',
  predictionsInEditor: 'attentionExplorer.predictions.showInEditor',
  hubUrl: 'attentionExplorer.hubUrl',
  offline: 'attentionExplorer.offline',
  maxSelectionCharacters: 'attentionExplorer.maxSelectionCharacters',
  insightsSource: 'attentionExplorer.insights.source',
  insightsLayer: 'attentionExplorer.insights.layer',
  insightsHead: 'attentionExplorer.insights.head',
  hoverEnabled: 'attentionExplorer.hover.enabled',
  decorationsMode: 'attentionExplorer.decorations.mode',
  liveMode: LIVE_MODE_SETTING,
  liveModeDelay: 'attentionExplorer.liveMode.delay',
  tensorBudget: 'attentionExplorer.memory.tensorBudgetMB',
} as const;

export const DEFAULT_MODEL = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';
const DEFAULT_HUB = 'https://huggingface.co';

function section() {
  return vscode.workspace.getConfiguration('attentionExplorer');
}

/** The setting's bounds (package.json declares the same): VS Code writes out-of-range values all the same. */
export const MAX_SELECTION_CHARACTERS = { fallback: 20_000, max: 1_000_000 } as const;

export function maxSelectionCharacters(): number {
  return integer('maxSelectionCharacters', MAX_SELECTION_CHARACTERS.fallback, 1, MAX_SELECTION_CHARACTERS.max);
}

function integer(key: string, fallback: number, min: number, max: number): number {
  const value = section().get<number>(key, fallback);
  return Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

/** Which attention hovers, decorations and the side view read (the `insights.*` settings). */
export function insightSource(): AttentionSource {
  const layer = integer('insights.layer', 0, 0, 1000);
  switch (section().get<string>('insights.source', 'mean')) {
    case 'rollout':
      return { kind: 'rollout', layer };
    case 'head':
      return { kind: 'head', layer, head: integer('insights.head', 1, 1, 1000) };
    default:
      return { kind: 'mean', layer };
  }
}

export function hoverEnabled(): boolean {
  return section().get<boolean>('hover.enabled', true) !== false;
}

export const DECORATION_MODES = ['attention', 'importance', 'attribution', 'surprisal'] as const;
export type DecorationMode = (typeof DECORATION_MODES)[number];

export function decorationMode(): DecorationMode {
  const mode = section().get<string>('decorations.mode', 'attention');
  return (DECORATION_MODES as readonly string[]).includes(mode) ? (mode as DecorationMode) : 'attention';
}

/** Whether entities and mask predictions are shown in the editor. */
export function showPredictionsInEditor(): boolean {
  return section().get<boolean>('predictions.showInEditor', true) !== false;
}

/** The task the setting asks for; undefined for `auto` (the model's own, from its architectures). */
export function requestedTask(): TaskId | undefined {
  const task = section().get<string>('task', 'auto');
  return (TASKS as readonly string[]).includes(task) ? (task as TaskId) : undefined;
}

export function liveModeEnabled(): boolean {
  return section().get<boolean>('liveMode.enabled', false) === true;
}

export function liveModeDelay(): number {
  return integer('liveMode.delay', 600, 100, 10_000);
}

/** The bytes of attention the analysis worker may hold (`memory.tensorBudgetMB`). */
export function tensorBudgetBytes(): number {
  return integer('memory.tensorBudgetMB', DEFAULT_TENSOR_BUDGET_BYTES / 2 ** 20, TENSOR_BUDGET_MIB.min, TENSOR_BUDGET_MIB.max) * 2 ** 20;
}

/** Whether a setting change affects which model runs. */
export function affectsModel(event: vscode.ConfigurationChangeEvent): boolean {
  return [SETTINGS.model, SETTINGS.dtype, SETTINGS.localModelPath, SETTINGS.task, SETTINGS.hubUrl, SETTINGS.offline].some((key) =>
    event.affectsConfiguration(key),
  );
}

/**
 * The hub URL, checked (see `model/hubPolicy.ts`): HTTPS or loopback HTTP, without credentials, query or fragment. A
 * refusal shows the URL with its secrets removed, since the message also goes to the log.
 */
export function checkedHubUrl(value: string): string {
  const problem = hubUrlProblem(value);
  if (problem) {
    const shown = redactedUrl(value);
    const messages: Record<HubUrlProblem, () => string> = {
      'not-a-url': () => vscode.l10n.t('The setting {0} is not a URL: "{1}".', SETTINGS.hubUrl, shown),
      credentials: () =>
        vscode.l10n.t(
          'The setting {0} must not contain credentials (a user name, password or token before "@"): Attention Explorer sends none to a hub. It is "{1}" without them.',
          SETTINGS.hubUrl,
          shown,
        ),
      'query-or-fragment': () =>
        vscode.l10n.t(
          'The setting {0} must be the hub\'s address alone, without a query (?…) or fragment (#…); it is "{1}" without them.',
          SETTINGS.hubUrl,
          shown,
        ),
      insecure: () =>
        vscode.l10n.t(
          'The setting {0} must be an https:// URL (plain http:// only for this machine); it is "{1}".',
          SETTINGS.hubUrl,
          shown,
        ),
    };
    throw new AnalysisError('model-unavailable', messages[problem]());
  }
  return new URL(value).href.replace(/\/+$/, '');
}

/** Resolves the model settings into a {@link ModelSource}, or throws an {@link AnalysisError} naming the setting. */
export function readModelSource(globalStorage: vscode.Uri): ModelSource {
  const config = section();
  const localPath = config.get<string>('localModelPath', '').trim();
  if (localPath) {
    const expanded = localPath.startsWith('~') ? path.join(os.homedir(), localPath.slice(1)) : localPath;
    if (!path.isAbsolute(expanded)) {
      throw new AnalysisError(
        'invalid-model',
        vscode.l10n.t('The setting {0} must be an absolute folder path; it is "{1}".', SETTINGS.localModelPath, localPath),
      );
    }
    return { kind: 'folder', folder: path.normalize(expanded) };
  }
  const modelId = config.get<string>('model', DEFAULT_MODEL).trim() || DEFAULT_MODEL;
  if (!isHubModelId(modelId)) {
    throw new AnalysisError(
      'model-unavailable',
      vscode.l10n.t('The setting {0} is not a Hugging Face model id: "{1}".', SETTINGS.model, modelId),
    );
  }
  return {
    kind: 'hub',
    modelId,
    hubUrl: checkedHubUrl(config.get<string>('hubUrl', DEFAULT_HUB).trim() || DEFAULT_HUB),
    revision: 'main',
    cacheDir: modelCacheDir(globalStorage),
  };
}

export function modelCacheDir(globalStorage: vscode.Uri): string {
  return vscode.Uri.joinPath(globalStorage, 'models').fsPath;
}

/** Another model than the configured one, by hub id or folder (Compare Models). */
export interface OtherModel {
  modelId?: string;
  localModelPath?: string;
}

/**
 * The request the settings make; with `other`, the same settings (weights, hub, offline) for another model, whose
 * task is its own.
 */
export function readModelRequest(globalStorage: vscode.Uri, other?: OtherModel): ModelRequest {
  const config = section();
  const dtype: ModelDtype = config.get<string>('dtype', 'fp32') === 'q8' ? 'q8' : 'fp32';
  const task = other ? undefined : requestedTask();
  let source: ModelSource;
  if (other?.localModelPath) source = { kind: 'folder', folder: path.normalize(other.localModelPath) };
  else if (!other?.modelId) source = readModelSource(globalStorage);
  else {
    if (!isHubModelId(other.modelId))
      throw new AnalysisError('model-unavailable', vscode.l10n.t('"{0}" is not a Hugging Face model id.', other.modelId));
    source = {
      kind: 'hub',
      modelId: other.modelId,
      hubUrl: checkedHubUrl(config.get<string>('hubUrl', DEFAULT_HUB).trim() || DEFAULT_HUB),
      revision: 'main',
      cacheDir: modelCacheDir(globalStorage),
    };
  }
  return {
    source,
    dtype,
    ...(task ? { task } : {}),
    offline: config.get<boolean>('offline', false),
    storageDir: globalStorage.fsPath,
  };
}
