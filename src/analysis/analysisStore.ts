/**
 * The host's cache of analyses: the single source the panel, hovers, decorations and the side view read from. Views
 * hold only an analysis id; the numbers stay here. Each analysis follows its document range through edits
 * ({@link AnalysisTracker}) and is marked stale, never silently wrong, once its text changes.
 */
import * as vscode from 'vscode';
import type { ModelInfoView, Sentiment, SourceRange, TokenRow } from '../shared/protocol';
import { applyEdits, type TrackedRange } from './rangeTracking';

export interface AnalysisRecord {
  id: string;
  source: SourceRange;
  /** The analysed text exactly as it was in the document. */
  text: string;
  tokens: TokenRow[];
  exactOffsets: boolean;
  truncation?: { textTokens: number; keptTextTokens: number; analysedEnd: number };
  model: ModelInfoView;
  sentiment: Sentiment;
  timings: { tokenizeMs: number; inferenceMs: number; totalMs: number };
  /**
   * `[layers, n, n]`, each layer's mean over heads; dropped for older analyses beyond the memory budget. The full
   * tensor stays in the worker, which answers for single heads.
   */
  headMeans?: Float32Array;
  createdAt: number;
  /**
   * Where the analysed text is in its document now (offsets), and whether an edit changed it. Set when the
   * analysis is made; after a reload, from the saved position the first time the document is looked at.
   */
  tracked?: TrackedRange;
  /** The last token attribution the panel computed: per token, the drop in the predicted label's probability. */
  attribution?: { mode: 'mask' | 'remove'; unit: 'token' | 'word'; drops: Float64Array };
}

/** Why the store changed: views redraw, and stale analyses lose their decorations. */
export type StoreChange = { kind: 'added' | 'stale' | 'moved'; record: AnalysisRecord };

const CAPACITY = 20;
/** Head means kept in memory at most (a 512-token analysis of DistilBERT holds 6 MB of them). */
const ATTENTION_BUDGET_BYTES = 64 * 1024 * 1024;

export class AnalysisStore implements vscode.Disposable {
  private readonly records = new Map<string, AnalysisRecord>();
  private readonly changed = new vscode.EventEmitter<StoreChange>();
  private counter = 0;

  /** Fires when an analysis is added, moves with its text, or becomes stale. */
  readonly onDidChange = this.changed.event;

  newId(): string {
    this.counter += 1;
    return `a${Date.now().toString(36)}-${this.counter}`;
  }

  add(record: AnalysisRecord): void {
    this.records.delete(record.id);
    this.records.set(record.id, record);
    while (this.records.size > CAPACITY) {
      const oldest = this.records.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.records.delete(oldest);
    }
    // Oldest first, analyses give up their tensors until the rest fit the budget.
    let bytes = 0;
    for (const kept of this.records.values()) bytes += attentionBytes(kept);
    for (const older of this.records.values()) {
      if (bytes <= ATTENTION_BUDGET_BYTES || older === record) break;
      bytes -= attentionBytes(older);
      delete older.headMeans;
    }
    this.changed.fire({ kind: 'added', record });
  }

  get(id: string): AnalysisRecord | undefined {
    return this.records.get(id);
  }

  latest(): AnalysisRecord | undefined {
    let last: AnalysisRecord | undefined;
    for (const record of this.records.values()) {
      last = record;
    }
    return last;
  }

  /** Every analysis, newest first. */
  recent(): AnalysisRecord[] {
    return [...this.records.values()].reverse();
  }

  /** The analyses of one document, newest first. */
  ofDocument(uri: vscode.Uri): AnalysisRecord[] {
    const key = uri.toString();
    return this.recent().filter((record) => record.source.documentUri === key);
  }

  /**
   * Where a record's text is in `document` now. Checks the text itself, so that a change made while the document
   * was closed (or before a reload) marks the analysis stale too. Undefined for another document.
   */
  locate(record: AnalysisRecord, document: vscode.TextDocument): TrackedRange | undefined {
    if (document.uri.toString() !== record.source.documentUri) {
      return undefined;
    }
    if (!record.tracked) {
      const start = document.offsetAt(new vscode.Position(record.source.startLine, record.source.startCharacter));
      record.tracked = { start, end: start + record.text.length, stale: false };
    }
    const tracked = record.tracked;
    if (!tracked.stale && document.getText(new vscode.Range(document.positionAt(tracked.start), document.positionAt(tracked.end))) !== record.text) {
      this.update(record, { ...tracked, stale: true });
    }
    return record.tracked;
  }

  /** Follows one document change: ranges before an edit move, ranges an edit touches become stale. */
  applyChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    const key = event.document.uri.toString();
    for (const record of this.records.values()) {
      if (record.source.documentUri !== key || !record.tracked) continue;
      this.update(record, applyEdits(record.tracked, event.contentChanges));
    }
  }

  dispose(): void {
    this.changed.dispose();
    this.records.clear();
  }

  private update(record: AnalysisRecord, tracked: TrackedRange): void {
    const before = record.tracked;
    record.tracked = tracked;
    if (tracked.stale && !before?.stale) {
      this.changed.fire({ kind: 'stale', record });
    } else if (before && (before.start !== tracked.start || before.end !== tracked.end)) {
      this.changed.fire({ kind: 'moved', record });
    }
  }
}

function attentionBytes(record: AnalysisRecord): number {
  return record.headMeans?.byteLength ?? 0;
}

/** The document range of one token of an analysis that is current in `document`; undefined when stale. */
export function tokenRange(store: AnalysisStore, record: AnalysisRecord, document: vscode.TextDocument, tokenIndex: number): vscode.Range | undefined {
  const token = record.tokens[tokenIndex];
  const tracked = store.locate(record, document);
  if (!token || token.special || !tracked || tracked.stale) {
    return undefined;
  }
  return new vscode.Range(document.positionAt(tracked.start + token.start), document.positionAt(tracked.start + token.end));
}
