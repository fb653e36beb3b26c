/**
 * Select Model: the default model from the hub, another hub model, or a model folder on this machine, and fp32 or
 * q8 weights. Writes user settings (so it works in untrusted workspaces, where workspace values of the model
 * settings are ignored). Other extensions and tests can pass the choice as an argument instead of picking.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import * as vscode from 'vscode';
import { DEFAULT_MODEL, SETTINGS } from '../config';
import { readModelConfig } from '../model/families';
import { isHubModelId, requiredFiles, type ModelDtype } from '../model/modelSource';
import { TASKS, type TaskId } from '../shared/analysis';
import { messageOf } from '../shared/errors';
import { MODEL_CATALOG } from './modelCatalog';

export const ModelChoiceSchema = v.object({
  modelId: v.optional(v.pipe(v.string(), v.maxLength(200), v.check(isHubModelId, 'a hub model id (owner/name)'))),
  localModelPath: v.optional(v.pipe(v.string(), v.maxLength(4096))),
  dtype: v.optional(v.picklist(['fp32', 'q8'])),
});
export type ModelChoice = v.InferOutput<typeof ModelChoiceSchema>;

export type SelectModelOutcome = { kind: 'selected'; choice: ModelChoice } | { kind: 'refused'; message: string } | { kind: 'cancelled' };

/** Why a folder cannot be used as a model (undefined: it can). */
export function missingModelFiles(folder: string, dtype: ModelDtype): string[] {
  return requiredFiles(dtype).filter((file) => !fs.existsSync(path.join(folder, file)));
}

export async function selectModel(argument?: unknown): Promise<SelectModelOutcome> {
  const config = vscode.workspace.getConfiguration();
  const dtype: ModelDtype = config.get<string>(SETTINGS.dtype, 'fp32') === 'q8' ? 'q8' : 'fp32';
  let choice: ModelChoice | undefined;
  if (argument !== undefined) {
    const parsed = v.safeParse(ModelChoiceSchema, argument);
    if (!parsed.success) return refuse(vscode.l10n.t('Select Model was given an unusable choice.'));
    choice = parsed.output;
  } else {
    choice = await pick(dtype);
    if (!choice) return { kind: 'cancelled' };
  }
  const nextDtype = choice.dtype ?? dtype;
  const problem = choice.localModelPath !== undefined ? folderProblem(choice.localModelPath, nextDtype) : undefined;
  if (problem) return refuse(problem);
  const target = vscode.ConfigurationTarget.Global;
  if (choice.dtype) await config.update(SETTINGS.dtype, choice.dtype === 'fp32' ? undefined : choice.dtype, target);
  if (choice.localModelPath !== undefined) {
    await config.update(SETTINGS.localModelPath, choice.localModelPath, target);
  } else if (choice.modelId !== undefined) {
    await config.update(SETTINGS.localModelPath, undefined, target);
    await config.update(SETTINGS.model, choice.modelId === DEFAULT_MODEL ? undefined : choice.modelId, target);
  }
  // Another model has its own task: a task asked of the previous one would be refused.
  if (choice.localModelPath !== undefined || choice.modelId !== undefined) await config.update(SETTINGS.task, undefined, target);
  return { kind: 'selected', choice };
}

/**
 * The second model of Compare Models: from the short list, the hub or a folder (or passed as an argument), checked
 * like Select Model's choice but written to no setting.
 */
export async function pickOtherModel(argument?: unknown): Promise<SelectModelOutcome> {
  let choice: ModelChoice | undefined;
  if (argument !== undefined) {
    const parsed = v.safeParse(ModelChoiceSchema, argument);
    if (!parsed.success || (parsed.output.modelId === undefined && parsed.output.localModelPath === undefined)) {
      return refuse(vscode.l10n.t('Compare Models was given an unusable model.'));
    }
    choice = parsed.output;
  } else {
    const items: ModelItem[] = [
      ...MODEL_CATALOG.map((model): ModelItem => ({
        label: `$(cloud) ${model.id}`,
        description: vscode.l10n.t('{0} · {1} MB (q8 {2} MB) · {3}', model.family, model.sizeMb.fp32, model.sizeMb.q8, model.licence),
        detail: model.about,
        choose: () => ({ modelId: model.id }),
      })),
      { label: `$(edit) ${vscode.l10n.t('Another model on the hub…')}`, choose: () => askModelId('') },
      { label: `$(folder-opened) ${vscode.l10n.t('A model folder on this machine…')}`, choose: () => askFolder() },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title: vscode.l10n.t('Attention Explorer: Compare Models on Selection'),
      placeHolder: vscode.l10n.t('The model to compare the configured one with'),
      matchOnDescription: true,
    });
    choice = picked ? await picked.choose() : undefined;
    if (!choice) return { kind: 'cancelled' };
  }
  const dtype: ModelDtype = vscode.workspace.getConfiguration().get<string>(SETTINGS.dtype, 'fp32') === 'q8' ? 'q8' : 'fp32';
  const problem = choice.localModelPath !== undefined ? folderProblem(choice.localModelPath, dtype) : undefined;
  return problem ? refuse(problem) : { kind: 'selected', choice };
}

/**
 * Why a folder cannot be used as a model, or undefined: a relative path, missing files, or a config no family reads
 * (refused now, naming its model_type and architectures, rather than at the first analysis).
 */
function folderProblem(folder: string, dtype: ModelDtype): string | undefined {
  if (!path.isAbsolute(folder)) return vscode.l10n.t('A model folder must be an absolute path: "{0}".', folder);
  const missing = missingModelFiles(folder, dtype);
  if (missing.length > 0) return vscode.l10n.t('{0} is not a model folder: it has no {1}.', folder, missing.join(', '));
  try {
    readModelConfig(path.join(folder, 'config.json'));
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

function refuse(message: string): SelectModelOutcome {
  void vscode.window.showWarningMessage(message);
  return { kind: 'refused', message };
}

interface ModelItem extends vscode.QuickPickItem {
  choose: () => Promise<ModelChoice | undefined> | ModelChoice | undefined;
}

const TASK_TITLES: Record<TaskId, () => string> = {
  'text-classification': () => vscode.l10n.t('Text classification: a label for the text'),
  'token-classification': () => vscode.l10n.t('Token classification: a label per token'),
  'fill-mask': () => vscode.l10n.t('Fill-mask: the words behind a mask'),
  'feature-extraction': () => vscode.l10n.t('Feature extraction: sentence embeddings'),
  'text-generation': () => vscode.l10n.t('Text generation: the next token, step by step'),
};

async function pick(dtype: ModelDtype): Promise<ModelChoice | undefined> {
  const config = vscode.workspace.getConfiguration();
  const folder = config.get<string>(SETTINGS.localModelPath, '').trim();
  const modelId = config.get<string>(SETTINGS.model, DEFAULT_MODEL).trim() || DEFAULT_MODEL;
  const current = (active: boolean) => (active ? '$(check) ' : '');
  const catalogued = (id: string) => MODEL_CATALOG.some((model) => model.id === id);
  const items: Array<ModelItem | vscode.QuickPickItem> = [
    ...TASKS.flatMap((task) => [
      { label: TASK_TITLES[task](), kind: vscode.QuickPickItemKind.Separator },
      ...MODEL_CATALOG.filter((model) => model.task === task).map((model): ModelItem => ({
        label: `${current(!folder && modelId === model.id)}$(cloud) ${model.id}`,
        description: vscode.l10n.t('{0} · {1} MB (q8 {2} MB) · {3}', model.family, model.sizeMb.fp32, model.sizeMb.q8, model.licence),
        detail: model.about,
        choose: () => ({ modelId: model.id }),
      })),
    ]),
    { label: vscode.l10n.t('Other models'), kind: vscode.QuickPickItemKind.Separator },
    ...(!catalogued(modelId) && !folder
      ? [{ label: `$(check) $(cloud) ${modelId}`, description: vscode.l10n.t('Hugging Face hub'), choose: () => ({ modelId }) }]
      : []),
    {
      label: `$(edit) ${vscode.l10n.t('Another model on the hub…')}`,
      detail: vscode.l10n.t('A BERT, RoBERTa or DistilBERT-family encoder exported for transformers.js (with an onnx/ folder).'),
      choose: () => askModelId(modelId),
    },
    {
      label: `${current(Boolean(folder))}$(folder-opened) ${vscode.l10n.t('A model folder on this machine…')}`,
      ...(folder ? { description: folder } : {}),
      detail: vscode.l10n.t('config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx (or model_quantized.onnx).'),
      choose: () => askFolder(),
    },
    { label: vscode.l10n.t('Weights'), kind: vscode.QuickPickItemKind.Separator },
    {
      label: `${current(dtype === 'fp32')}$(symbol-number) fp32`,
      description: vscode.l10n.t('32-bit weights: exact'),
      choose: () => ({ dtype: 'fp32' }),
    },
    {
      label: `${current(dtype === 'q8')}$(symbol-number) q8`,
      description: vscode.l10n.t('8-bit weights: a quarter of the download, slightly different numbers'),
      choose: () => ({ dtype: 'q8' }),
    },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Attention Explorer: Select Model'),
    placeHolder: vscode.l10n.t('Which model and weights to analyse with'),
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked && 'choose' in picked ? picked.choose() : undefined;
}

async function askModelId(current: string): Promise<ModelChoice | undefined> {
  const modelId = await vscode.window.showInputBox({
    title: vscode.l10n.t('Hub model id'),
    value: current,
    prompt: vscode.l10n.t('owner/name, as on the Hugging Face hub'),
    validateInput: (value) => (isHubModelId(value.trim()) ? undefined : vscode.l10n.t('A hub id looks like owner/name.')),
  });
  return modelId ? { modelId: modelId.trim() } : undefined;
}

async function askFolder(): Promise<ModelChoice | undefined> {
  const folders = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: vscode.l10n.t('Use This Model Folder'),
  });
  const folder = folders?.[0];
  return folder ? { localModelPath: folder.fsPath } : undefined;
}
