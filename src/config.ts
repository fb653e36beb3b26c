/**
 * Typed access to the extension's settings (declared in package.json under `attentionExplorer.*`).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnalysisError } from './model/errors';
import type { ModelSource } from './model/modelSource';

export const SETTINGS = {
  model: 'attentionExplorer.model',
  localModelPath: 'attentionExplorer.localModelPath',
  hubUrl: 'attentionExplorer.hubUrl',
  maxSelectionCharacters: 'attentionExplorer.maxSelectionCharacters',
} as const;

const DEFAULT_MODEL = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';
const DEFAULT_HUB = 'https://huggingface.co';

function section() {
  return vscode.workspace.getConfiguration('attentionExplorer');
}

export function maxSelectionCharacters(): number {
  const value = section().get<number>('maxSelectionCharacters', 20_000);
  return Number.isInteger(value) && value > 0 ? value : 20_000;
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
  const hubUrl = config.get<string>('hubUrl', DEFAULT_HUB).trim() || DEFAULT_HUB;
  let parsed: URL;
  try {
    parsed = new URL(hubUrl);
  } catch {
    throw new AnalysisError('model-unavailable', vscode.l10n.t('The setting {0} is not a URL: "{1}".', SETTINGS.hubUrl, hubUrl));
  }
  return {
    kind: 'hub',
    modelId,
    hubUrl: parsed.href.replace(/\/$/, ''),
    revision: 'main',
    cacheDir: vscode.Uri.joinPath(globalStorage, 'models').fsPath,
  };
}
