/**
 * The host's cache of analyses: the single source the panel, hovers and decorations read from. Views hold only an
 * analysis id; the numbers stay here.
 */
import * as vscode from 'vscode';
import type { ModelInfoView, Sentiment, SourceRange, TokenRow } from '../shared/protocol';

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
}

const CAPACITY = 20;
/** Head means kept in memory at most (a 512-token analysis of DistilBERT holds 6 MB of them). */
const ATTENTION_BUDGET_BYTES = 64 * 1024 * 1024;

export class AnalysisStore implements vscode.Disposable {
  private readonly records = new Map<string, AnalysisRecord>();
  private readonly changed = new vscode.EventEmitter<AnalysisRecord>();
  private counter = 0;

  /** Fires when an analysis is added. */
  readonly onDidAdd = this.changed.event;

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
    this.changed.fire(record);
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

  dispose(): void {
    this.changed.dispose();
    this.records.clear();
  }
}

function attentionBytes(record: AnalysisRecord): number {
  return record.headMeans?.byteLength ?? 0;
}

/** Document offset of the analysed text's first character (from the saved start position). */
export function startOffsetIn(record: AnalysisRecord, document: vscode.TextDocument): number {
  return document.offsetAt(new vscode.Position(record.source.startLine, record.source.startCharacter));
}

/**
 * Whether the document still holds the analysed text at the analysed place. Offsets are only trusted while it does.
 */
export function isCurrent(record: AnalysisRecord, document: vscode.TextDocument): boolean {
  if (document.uri.toString() !== record.source.documentUri) {
    return false;
  }
  const startOffset = startOffsetIn(record, document);
  const range = new vscode.Range(document.positionAt(startOffset), document.positionAt(startOffset + record.text.length));
  return document.getText(range) === record.text;
}

/** The document range of one token of a current analysis. */
export function tokenRange(record: AnalysisRecord, document: vscode.TextDocument, tokenIndex: number): vscode.Range | undefined {
  const token = record.tokens[tokenIndex];
  if (!token || token.special) {
    return undefined;
  }
  const startOffset = startOffsetIn(record, document);
  return new vscode.Range(document.positionAt(startOffset + token.start), document.positionAt(startOffset + token.end));
}
