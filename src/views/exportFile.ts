/**
 * Saving what a page exports, through the host's save dialog: the panel's images, tables and maps, and the same from
 * an attention document's viewer (the `.attention.json` editor, a notebook output). One path for all of them.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ATTENTION_FILE_SUFFIX } from '../shared/attentionFile';

const EXPORT_FILTERS: Record<string, () => Record<string, string[]>> = {
  png: () => ({ [vscode.l10n.t('PNG image')]: ['png'] }),
  svg: () => ({ [vscode.l10n.t('SVG image')]: ['svg'] }),
  csv: () => ({ [vscode.l10n.t('CSV table')]: ['csv'] }),
  json: () => ({ JSON: ['json'] }),
};

/** Asks where to save, proposing `suggestedName` in the first workspace folder (or the home folder). */
export async function askForExportFile(format: string, suggestedName: string): Promise<vscode.Uri | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const defaultUri = folder ? vscode.Uri.joinPath(folder, suggestedName) : vscode.Uri.file(path.join(os.homedir(), suggestedName));
  return vscode.window.showSaveDialog({
    defaultUri,
    filters: EXPORT_FILTERS[format]?.() ?? {},
    saveLabel: vscode.l10n.t('Export'),
    title: vscode.l10n.t('Export from Attention Explorer'),
  });
}

/** What a page sends to save: text, bytes (the panel's PNG), or base64 (renderer messages are JSON: no bytes there). */
export type ExportContent = string | ArrayBuffer | { encoding: 'text'; text: string } | { encoding: 'base64'; base64: string };

function bytesOf(content: ExportContent): Uint8Array {
  if (typeof content === 'string') return new TextEncoder().encode(content);
  if (content instanceof ArrayBuffer) return new Uint8Array(content);
  return content.encoding === 'text' ? new TextEncoder().encode(content.text) : Buffer.from(content.base64, 'base64');
}

/** Asks where to save and writes the content there; the path written, or null when the user cancelled. */
export async function saveExport(
  format: string,
  suggestedName: string,
  content: ExportContent,
  log: vscode.LogOutputChannel,
): Promise<{ path: string | null }> {
  const target = await askForExportFile(format, suggestedName);
  if (!target) return { path: null };
  const bytes = bytesOf(content);
  await vscode.workspace.fs.writeFile(target, bytes);
  log.info(`Exported ${format.toUpperCase()} to ${target.toString(true)} (${bytes.byteLength} bytes).`);
  return { path: target.scheme === 'file' ? target.fsPath : target.toString(true) };
}

/**
 * The file name an analysis's attention file is proposed under: its document's name with `.attention.json` for its
 * extension ("review.txt" → "review.attention.json", "notes.ipynb, output" → "notes.attention.json").
 */
export function attentionFileName(documentName: string): string {
  const base = documentName.split(',')[0]!.trim().split(/[\\/]/).pop() ?? '';
  const stem = base.endsWith(ATTENTION_FILE_SUFFIX) ? base.slice(0, -ATTENTION_FILE_SUFFIX.length) : base.replace(/\.[^.]*$/, '');
  const safe = stem
    .replace(/[^\w.() -]+/g, '-')
    .replace(/^[.\s-]+/, '')
    .slice(0, 100);
  return `${safe || 'attention'}${ATTENTION_FILE_SUFFIX}`;
}
