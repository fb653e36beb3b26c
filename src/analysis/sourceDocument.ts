/**
 * Opening the document an analysis came from. Its URI is the host's own record, but a record restored after a reload
 * comes from storage, and opening a URI runs whichever file-system provider claims its scheme: a document that is
 * not open already is opened only from the schemes documents are saved in.
 */
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { AnalysisError } from '../shared/errors';

/** Schemes whose documents may be opened again from disk (or from the remote machine's disk). */
const REOPENABLE_SCHEMES: ReadonlySet<string> = new Set(['file', 'vscode-remote', 'vscode-userdata']);

/**
 * Whether an analysis has a document behind it: attention from an `.attention.json` file or a notebook output has
 * none (an empty `documentUri`), so nothing tracks, tints, hovers, reveals or analyses it again.
 */
export function hasSourceDocument(analysis: Pick<Analysis, 'source'>): boolean {
  return analysis.source.documentUri !== '';
}

/** The open document with this URI, or the one opened from a saved-document scheme; otherwise a message. */
export async function openSourceDocument(documentUri: string): Promise<vscode.TextDocument> {
  if (documentUri === '') {
    throw new AnalysisError(
      'invalid-request',
      vscode.l10n.t('These maps came from a file or a notebook: there is no document to go back to. Open the file again to see them.'),
    );
  }
  const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === documentUri);
  if (open) return open;
  let uri: vscode.Uri;
  try {
    uri = vscode.Uri.parse(documentUri, true);
  } catch {
    throw new AnalysisError('invalid-request', vscode.l10n.t('The document of this analysis cannot be found; open it and analyse again.'));
  }
  if (!REOPENABLE_SCHEMES.has(uri.scheme)) {
    throw new AnalysisError(
      'invalid-request',
      vscode.l10n.t('The document of this analysis ({0}) is not open; open it and analyse again.', uri.scheme),
    );
  }
  return vscode.workspace.openTextDocument(uri);
}
