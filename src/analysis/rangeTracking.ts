/**
 * Keeping an analysed range tied to its document through edits, without `vscode` (so it is unit-tested on its own).
 * Offsets are UTF-16 code units, as VS Code's `rangeOffset`/`rangeLength` are.
 */

/** Where the analysed text sits now, and whether an edit touched it. */
export interface TrackedRange {
  start: number;
  end: number;
  /** True once an edit changed text inside the range: its offsets and weights no longer describe the document. */
  stale: boolean;
}

/** One replacement, in the offsets of the document before it (as `TextDocumentContentChangeEvent` gives them). */
export interface TextEdit {
  rangeOffset: number;
  rangeLength: number;
  text: string;
}

/**
 * The range after one edit. Text inserted exactly at the start or the end lands outside (the analysed text itself
 * is unchanged); a change that overlaps the range makes it stale and the range grows or shrinks to cover what
 * replaced the analysed text, so that it can be analysed again.
 */
export function applyEdit(range: TrackedRange, edit: TextEdit): TrackedRange {
  const editStart = edit.rangeOffset;
  const editEnd = edit.rangeOffset + edit.rangeLength;
  const delta = edit.text.length - edit.rangeLength;
  if (editEnd <= range.start) {
    // Entirely before (an insertion at the start included): the range moves.
    return { ...range, start: range.start + delta, end: range.end + delta };
  }
  if (editStart >= range.end) {
    return range;
  }
  const start = Math.min(range.start, editStart);
  const end = editEnd >= range.end ? editStart + edit.text.length : range.end + delta;
  return { start, end: Math.max(start, end), stale: true };
}

/**
 * Applies the edits of one document change. VS Code reports them in the offsets of the document before the change,
 * so they are applied from the last to the first: an edit never shifts the offsets of one before it.
 */
export function applyEdits(range: TrackedRange, edits: readonly TextEdit[]): TrackedRange {
  return [...edits].sort((a, b) => b.rangeOffset - a.rangeOffset).reduce(applyEdit, range);
}
