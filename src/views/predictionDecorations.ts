/**
 * What the model predicted, where the text is: a token classifier's entities tinted with their label after them
 * (`Ada Lovelace` PER), a fill-mask model's most probable token after each mask (`[MASK]` → capital 31%). Shown for
 * the newest current analysis of each visible editor while `attentionExplorer.predictions.showInEditor` is on; a
 * stale analysis loses them at once. The hover (hoverProvider.ts) says more about each.
 */
import * as vscode from 'vscode';
import type { AnalysisRecord, AnalysisStore } from '../analysis/analysisStore';
import type { TrackedRange } from '../analysis/rangeTracking';
import { SETTINGS, showPredictionsInEditor } from '../config';
import { formatPercent } from '../shared/format';
import { DisposableStore } from '../shared/disposables';

/** What was applied to one editor (read by the extension-host tests). */
export interface AppliedPredictions {
  analysisId: string;
  entities: Array<{ label: string; tokens: number[]; ranges: vscode.Range[] }>;
  masks: Array<{ index: number; range: vscode.Range; top: string }>;
}

/** The token ranges of a set of token indices, runs of adjacent tokens joined (an entity's word pieces). */
function joinedRanges(
  record: AnalysisRecord,
  tracked: TrackedRange,
  document: vscode.TextDocument,
  indices: readonly number[],
): vscode.Range[] {
  const ranges: vscode.Range[] = [];
  let open: { start: number; end: number; last: number } | undefined;
  for (const index of indices) {
    const token = record.tokens[index];
    if (!token || token.special || token.end <= token.start) continue;
    if (open && index === open.last + 1) {
      open = { ...open, end: token.end, last: index };
      continue;
    }
    if (open) ranges.push(new vscode.Range(document.positionAt(tracked.start + open.start), document.positionAt(tracked.start + open.end)));
    open = { start: token.start, end: token.end, last: index };
  }
  if (open) ranges.push(new vscode.Range(document.positionAt(tracked.start + open.start), document.positionAt(tracked.start + open.end)));
  return ranges;
}

export class PredictionDecorations implements vscode.Disposable {
  private readonly entityType: vscode.TextEditorDecorationType;
  private readonly maskType: vscode.TextEditorDecorationType;
  private readonly applied = new Map<vscode.TextEditor, AppliedPredictions>();
  private readonly subscriptions = new DisposableStore();

  constructor(private readonly store: AnalysisStore) {
    this.entityType = this.subscriptions.add(
      vscode.window.createTextEditorDecorationType({
        backgroundColor: new vscode.ThemeColor('attentionExplorer.entityBackground'),
        borderRadius: '2px',
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }),
    );
    this.maskType = this.subscriptions.add(
      vscode.window.createTextEditorDecorationType({
        border: '1px dashed',
        borderColor: new vscode.ThemeColor('attentionExplorer.maskBorder'),
        borderRadius: '2px',
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      }),
    );
    this.subscriptions.add(store.onDidChange(() => this.refresh()));
    this.subscriptions.add(vscode.window.onDidChangeVisibleTextEditors(() => this.refresh()));
    this.subscriptions.add(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(SETTINGS.predictionsInEditor)) this.refresh();
      }),
    );
  }

  appliedTo(editor: vscode.TextEditor): AppliedPredictions | undefined {
    return this.applied.get(editor);
  }

  refresh(): void {
    for (const editor of vscode.window.visibleTextEditors) this.apply(editor, showPredictionsInEditor() ? this.compute(editor) : undefined);
    for (const editor of [...this.applied.keys()]) {
      if (!vscode.window.visibleTextEditors.includes(editor)) this.applied.delete(editor);
    }
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private compute(
    editor: vscode.TextEditor,
  ): { applied: AppliedPredictions; entities: vscode.DecorationOptions[]; masks: vscode.DecorationOptions[] } | undefined {
    const document = editor.document;
    for (const record of this.store.ofDocument(document.uri)) {
      const tracked = this.store.locate(record, document);
      if (!tracked || tracked.stale) continue;
      const { prediction } = record;
      if (prediction.task !== 'token-classification' && prediction.task !== 'fill-mask') return undefined;
      const applied: AppliedPredictions = { analysisId: record.id, entities: [], masks: [] };
      const entities: vscode.DecorationOptions[] = [];
      const masks: vscode.DecorationOptions[] = [];
      const hint = (contentText: string): vscode.DecorationInstanceRenderOptions => ({
        after: {
          contentText,
          color: new vscode.ThemeColor('attentionExplorer.predictionHint'),
          margin: '0 0 0 0.3em',
          fontStyle: 'italic',
        },
      });
      if (prediction.task === 'token-classification') {
        for (const entity of prediction.entities) {
          const ranges = joinedRanges(record, tracked, document, entity.tokens);
          if (ranges.length === 0) continue;
          applied.entities.push({ label: entity.label, tokens: entity.tokens, ranges });
          ranges.forEach((range, index) =>
            entities.push({ range, ...(index === ranges.length - 1 ? { renderOptions: hint(entity.label) } : {}) }),
          );
        }
      } else {
        for (const mask of prediction.masks) {
          const [range] = joinedRanges(record, tracked, document, [mask.index]);
          const best = mask.top[0];
          if (!range || !best) continue;
          const top = `→ ${best.token.trim() || JSON.stringify(best.token)} ${formatPercent(best.probability)}`;
          applied.masks.push({ index: mask.index, range, top });
          masks.push({ range, renderOptions: hint(top) });
        }
      }
      return { applied, entities, masks };
    }
    return undefined;
  }

  private apply(editor: vscode.TextEditor, next: ReturnType<PredictionDecorations['compute']>): void {
    editor.setDecorations(this.entityType, next?.entities ?? []);
    editor.setDecorations(this.maskType, next?.masks ?? []);
    if (next) this.applied.set(editor, next.applied);
    else this.applied.delete(editor);
  }
}
