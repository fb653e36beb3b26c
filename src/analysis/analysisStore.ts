/**
 * The host's cache of analyses: the single source the panel, hovers, decorations and the side view read from. Views
 * hold only an analysis id; the numbers stay here (and the full tensors in the worker). Each analysis follows its
 * document range through edits and is marked stale, never silently wrong, once its text changes.
 *
 * Reading never changes anything: {@link AnalysisStore.locate} only computes where a text is. Tracking starts and
 * staleness is checked in explicit steps: {@link AnalysisStore.add} with the range the text was taken from,
 * {@link AnalysisStore.sync} when a document is opened (or after a reload), and {@link AnalysisStore.applyChange}
 * for every edit.
 */
import * as vscode from 'vscode';
import type { Analysis } from '../shared/analysis';
import { BoundedCache } from '../shared/boundedCache';
import { applyEdits, type TrackedRange } from './rangeTracking';

export interface AnalysisRecord extends Analysis {
  /** False when some token offsets had to be widened (see `src/model/offsets.ts`). */
  exactOffsets: boolean;
  createdAt: number;
  /**
   * Where the analysed text is in its document now (offsets), and whether an edit changed it. Set when the analysis
   * is made; after a reload, by {@link AnalysisStore.sync} once its document is open.
   */
  tracked?: TrackedRange;
}

/** Why the store changed: views redraw, and stale analyses lose their decorations. */
export type StoreChange = { kind: 'added' | 'stale' | 'moved'; record: AnalysisRecord };

const CAPACITY = 20;
/** Head means kept in memory at most (a 512-token analysis of DistilBERT holds 6 MB of them). */
const HEAD_MEANS_BUDGET_BYTES = 64 * 1024 * 1024;

export class AnalysisStore implements vscode.Disposable {
  /**
   * `[layers, n, n]` per analysis: each layer's mean over heads, what hovers and the first view read without asking
   * the worker. Older analyses give theirs up first.
   */
  private readonly headMeans = new BoundedCache<string, Float32Array>({
    maxBytes: HEAD_MEANS_BUDGET_BYTES,
    sizeOf: (means) => means.byteLength,
  });
  /** Analyses whose attention the worker was left holding (it evicts on its own; a view then asks for a new one). */
  private readonly held = new Set<string>();
  private readonly records = new BoundedCache<string, AnalysisRecord>({
    maxEntries: CAPACITY,
    onEvict: (id) => {
      this.headMeans.delete(id as string);
      this.held.delete(id as string);
    },
  });
  private readonly changed = new vscode.EventEmitter<StoreChange>();
  private counter = 0;

  /** Fires when an analysis is added, moves with its text, or becomes stale. */
  readonly onDidChange = this.changed.event;

  newId(): string {
    this.counter += 1;
    return `a${Date.now().toString(36)}-${this.counter}`;
  }

  /**
   * Adds an analysis: one just made comes with `attention` (the worker holds its maps), and the head means the worker
   * sent when they were small enough to send (long inputs keep theirs in the worker).
   */
  add(record: AnalysisRecord, attention?: { headMeans?: Float32Array }): void {
    this.records.set(record.id, record);
    if (attention) this.held.add(record.id);
    if (attention?.headMeans) this.headMeans.set(record.id, attention.headMeans);
    this.changed.fire({ kind: 'added', record });
  }

  /** Whether the worker was left holding the analysis's attention. */
  holdsAttention(id: string): boolean {
    return this.held.has(id);
  }

  /**
   * Brings back an analysis kept across a window reload (the host's own copy). Its tensors are gone; its document
   * range is tracked from the next {@link sync} of its document.
   */
  restore(analysis: Analysis): AnalysisRecord {
    const known = this.records.get(analysis.id);
    if (known) return known;
    const record: AnalysisRecord = { ...analysis, exactOffsets: true, createdAt: Date.now() };
    this.add(record);
    return record;
  }

  get(id: string): AnalysisRecord | undefined {
    return this.records.get(id);
  }

  /** `[layers, n, n]` head means of an analysis, while they are kept. */
  headMeansOf(id: string): Float32Array | undefined {
    return this.headMeans.get(id);
  }

  latest(): AnalysisRecord | undefined {
    let last: AnalysisRecord | undefined;
    for (const record of this.records.values()) last = record;
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
   * Where a record's text is in `document` now, without changing anything: its tracked range, or for a record not
   * tracked yet, the range it was taken from (stale when the text there differs). Undefined for another document.
   */
  locate(record: AnalysisRecord, document: vscode.TextDocument): TrackedRange | undefined {
    if (document.uri.toString() !== record.source.documentUri) return undefined;
    return record.tracked ?? checkedRange(record, document, sourceRange(record, document));
  }

  /**
   * Starts tracking the analyses of a document and checks their text against it: a change made while the document
   * was closed, before a reload, or while the model ran makes them stale. Fires `stale` for each that became so.
   */
  sync(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    for (const record of this.records.values()) {
      if (record.source.documentUri !== key || record.tracked?.stale) continue;
      this.update(record, checkedRange(record, document, record.tracked ?? sourceRange(record, document)));
    }
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
    this.headMeans.clear();
    this.held.clear();
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

/** The range an analysis was taken from, by its saved position. */
function sourceRange(record: AnalysisRecord, document: vscode.TextDocument): TrackedRange {
  const start = document.offsetAt(new vscode.Position(record.source.startLine, record.source.startCharacter));
  return { start, end: start + record.text.length, stale: false };
}

/** The range, stale if the document's text there is not the analysed text. */
function checkedRange(record: AnalysisRecord, document: vscode.TextDocument, range: TrackedRange): TrackedRange {
  if (range.stale) return range;
  const text = document.getText(new vscode.Range(document.positionAt(range.start), document.positionAt(range.end)));
  return text === record.text ? range : { ...range, stale: true };
}

/** The document range of one token of an analysis that is current in `document`; undefined when stale. */
export function tokenRange(
  store: AnalysisStore,
  record: AnalysisRecord,
  document: vscode.TextDocument,
  tokenIndex: number,
): vscode.Range | undefined {
  const token = record.tokens[tokenIndex];
  const tracked = store.locate(record, document);
  if (!token || token.special || !tracked || tracked.stale) return undefined;
  return new vscode.Range(document.positionAt(tracked.start + token.start), document.positionAt(tracked.start + token.end));
}
