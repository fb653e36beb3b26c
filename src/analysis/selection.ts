/**
 * What a selection becomes before it is analysed: an immutable snapshot of its text and where it sits, checked
 * against the limits the user can change.
 */
import * as vscode from 'vscode';
import { SETTINGS } from '../config';
import { AnalysisError } from '../shared/errors';
import type { SourceRange } from '../shared/analysis';

export interface SelectionSnapshot {
  document: vscode.TextDocument;
  text: string;
  /** Document offset of the selection's first character. */
  startOffset: number;
  source: SourceRange;
}

export function describeDocument(document: vscode.TextDocument): string {
  return document.isUntitled ? document.uri.path : vscode.workspace.asRelativePath(document.uri, false);
}

/** Captures the editor's primary selection, or throws an {@link AnalysisError} saying what to do instead. */
export function snapshotSelection(editor: vscode.TextEditor, maxCharacters: number): SelectionSnapshot {
  return snapshotRange(editor.document, editor.selection, maxCharacters);
}

/** Captures a range of a document, with the same checks as a selection. */
export function snapshotRange(document: vscode.TextDocument, selection: vscode.Selection, maxCharacters: number): SelectionSnapshot {
  if (selection.isEmpty) {
    throw new AnalysisError('empty-selection', vscode.l10n.t('Select some text first, then run "Attention Explorer: Analyze Selection".'));
  }
  const startOffset = document.offsetAt(selection.start);
  const length = document.offsetAt(selection.end) - startOffset;
  // Checked before reading the text: a huge selection is refused without copying it.
  if (length > maxCharacters) {
    throw new AnalysisError(
      'selection-too-long',
      vscode.l10n.t(
        'The selection has {0} characters; Attention Explorer analyses at most {1} (setting {2}). DistilBERT reads only its first 512 tokens, about 2,000 characters of English.',
        length.toLocaleString('en-US'),
        maxCharacters.toLocaleString('en-US'),
        SETTINGS.maxSelectionCharacters,
      ),
    );
  }
  const text = document.getText(selection);
  if (text.trim().length === 0) {
    throw new AnalysisError('empty-selection', vscode.l10n.t('The selection holds only whitespace; select some words to analyze.'));
  }
  return {
    document,
    text,
    startOffset,
    source: {
      documentName: describeDocument(document),
      documentUri: document.uri.toString(),
      startLine: selection.start.line,
      startCharacter: selection.start.character,
      endLine: selection.end.line,
      endCharacter: selection.end.character,
    },
  };
}
