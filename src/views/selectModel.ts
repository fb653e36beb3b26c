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
import { isHubModelId, requiredFiles, type ModelDtype } from '../model/modelSource';

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
  if (choice.localModelPath !== undefined) {
    const folder = choice.localModelPath;
    if (!path.isAbsolute(folder)) return refuse(vscode.l10n.t('A model folder must be an absolute path: "{0}".', folder));
    const missing = missingModelFiles(folder, nextDtype);
    if (missing.length > 0) return refuse(vscode.l10n.t('{0} is not a model folder: it has no {1}.', folder, missing.join(', ')));
  }
  const target = vscode.ConfigurationTarget.Global;
  if (choice.dtype) await config.update(SETTINGS.dtype, choice.dtype === 'fp32' ? undefined : choice.dtype, target);
  if (choice.localModelPath !== undefined) {
    await config.update(SETTINGS.localModelPath, choice.localModelPath, target);
  } else if (choice.modelId !== undefined) {
    await config.update(SETTINGS.localModelPath, undefined, target);
    await config.update(SETTINGS.model, choice.modelId === DEFAULT_MODEL ? undefined : choice.modelId, target);
  }
  return { kind: 'selected', choice };
}

function refuse(message: string): SelectModelOutcome {
  void vscode.window.showWarningMessage(message);
  return { kind: 'refused', message };
}

interface ModelItem extends vscode.QuickPickItem {
  choose: () => Promise<ModelChoice | undefined> | ModelChoice | undefined;
}

async function pick(dtype: ModelDtype): Promise<ModelChoice | undefined> {
  const config = vscode.workspace.getConfiguration();
  const folder = config.get<string>(SETTINGS.localModelPath, '').trim();
  const modelId = config.get<string>(SETTINGS.model, DEFAULT_MODEL).trim() || DEFAULT_MODEL;
  const current = (active: boolean) => (active ? '$(check) ' : '');
  const items: Array<ModelItem | vscode.QuickPickItem> = [
    { label: vscode.l10n.t('Model'), kind: vscode.QuickPickItemKind.Separator },
    {
      label: `${current(!folder && modelId === DEFAULT_MODEL)}$(cloud) ${DEFAULT_MODEL}`,
      description: vscode.l10n.t('Hugging Face hub'),
      detail: vscode.l10n.t('DistilBERT fine-tuned on SST-2 (sentiment): the model Attention Explorer is built for.'),
      choose: () => ({ modelId: DEFAULT_MODEL }),
    },
    ...(modelId !== DEFAULT_MODEL && !folder
      ? [{ label: `$(check) $(cloud) ${modelId}`, description: vscode.l10n.t('Hugging Face hub'), choose: () => ({ modelId }) }]
      : []),
    {
      label: `$(edit) ${vscode.l10n.t('Another model on the hub…')}`,
      detail: vscode.l10n.t('A DistilBERT sequence classifier exported for transformers.js (with an onnx/ folder).'),
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
