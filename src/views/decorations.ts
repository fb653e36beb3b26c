/**
 * Tints analysed tokens in the editor: by attention from the word under the cursor (the `insights.*` source), or
 * by importance (the rollout of the token the prediction reads: [CLS] for a classifier, the mask for fill-mask), or
 * by surprisal under a language model (−log₂ p of each token given the ones before it). Five levels of theme colours the user can change
 * (`attentionExplorer.attentionLevel1`…`5`). Stale analyses lose their tint at once.
 */
import * as vscode from 'vscode';
import type { AnalysisRecord, AnalysisStore } from '../analysis/analysisStore';
import { groupOf, readerImportance, surprisalOf, tokenWeights, wordGroups } from '../analysis/insights';
import type { InsightService } from '../analysis/insightService';
import type { TrackedRange } from '../analysis/rangeTracking';
import { decorationMode, insightSource, SETTINGS, type DecorationMode } from '../config';
import { DisposableStore } from '../shared/disposables';
import { analysisAt, tokenAtOffset } from './hoverProvider';

export const DECORATION_LEVELS = 5;
/** Tokens under this share of the strongest are left untinted (thousands of faint tints are noise). */
const MIN_SHARE = 0.05;

/** What was applied to one editor (read by the extension-host tests). */
export interface AppliedDecorations {
  analysisId: string;
  mode: DecorationMode;
  /** Token indices per level, strongest last. */
  levels: number[][];
  /** Ranges per level, in document coordinates. */
  ranges: vscode.Range[][];
  /** The word the attention comes from (attention mode). */
  focusTokens: number[];
}

export class AttentionDecorations implements vscode.Disposable {
  private enabled = false;
  private readonly levelTypes: vscode.TextEditorDecorationType[];
  private readonly focusType: vscode.TextEditorDecorationType;
  private readonly applied = new Map<vscode.TextEditor, AppliedDecorations>();
  private readonly subscriptions = new DisposableStore();
  private pending: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  /** The analysis whose attribution the panel asked to show (until decorations are turned off). */
  private attributionOf: string | undefined;

  constructor(
    private readonly store: AnalysisStore,
    private readonly insights: InsightService,
  ) {
    this.levelTypes = Array.from({ length: DECORATION_LEVELS }, (_, index) =>
      this.subscriptions.add(
        vscode.window.createTextEditorDecorationType({
          backgroundColor: new vscode.ThemeColor(`attentionExplorer.attentionLevel${index + 1}`),
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
      ),
    );
    this.focusType = this.subscriptions.add(
      vscode.window.createTextEditorDecorationType({
        borderColor: new vscode.ThemeColor('attentionExplorer.focusedWordBorder'),
        borderStyle: 'solid',
        borderWidth: '1px',
        borderRadius: '2px',
      }),
    );
    this.subscriptions.add(store.onDidChange(() => this.schedule(0)));
    this.subscriptions.add(vscode.window.onDidChangeTextEditorSelection(() => this.schedule(60)));
    this.subscriptions.add(vscode.window.onDidChangeVisibleTextEditors(() => this.schedule(0)));
    this.subscriptions.add(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (
          [SETTINGS.decorationsMode, SETTINGS.insightsSource, SETTINGS.insightsLayer, SETTINGS.insightsHead].some((key) =>
            event.affectsConfiguration(key),
          )
        )
          this.schedule(0);
      }),
    );
    this.subscriptions.addCallback(() => {
      if (this.pending) clearTimeout(this.pending);
    });
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Turns the tint on or off; returns the new state. */
  async setEnabled(enabled: boolean): Promise<boolean> {
    this.enabled = enabled;
    if (!enabled) this.attributionOf = undefined;
    await vscode.commands.executeCommand('setContext', 'attentionExplorer.decorationsEnabled', enabled);
    await this.refresh();
    return enabled;
  }

  /** Tints by an analysis's occlusion attribution (the panel's "Show in editor"), turning decorations on. */
  async showAttribution(record: AnalysisRecord): Promise<boolean> {
    this.attributionOf = record.id;
    await this.setEnabled(true);
    return vscode.window.visibleTextEditors.some((editor) => this.applied.get(editor)?.mode === 'attribution');
  }

  /** What is applied to an editor now (undefined: nothing). */
  appliedTo(editor: vscode.TextEditor): AppliedDecorations | undefined {
    return this.applied.get(editor);
  }

  /** Recomputes the tint of every visible editor. */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    for (const editor of vscode.window.visibleTextEditors) {
      const next = this.enabled ? await this.compute(editor) : undefined;
      // A newer refresh (the cursor moved on) owns the editors now.
      if (generation !== this.generation) return;
      this.apply(editor, next);
    }
    for (const editor of [...this.applied.keys()]) {
      if (!vscode.window.visibleTextEditors.includes(editor)) this.applied.delete(editor);
    }
  }

  dispose(): void {
    this.subscriptions.dispose();
  }

  private schedule(delayMs: number): void {
    if (!this.enabled && this.applied.size === 0) return;
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      void this.refresh();
    }, delayMs);
  }

  private async compute(editor: vscode.TextEditor): Promise<{ decorations: AppliedDecorations; focus: vscode.Range[] } | undefined> {
    const document = editor.document;
    const found = analysisAt(this.store, document, editor.selection.active) ?? this.newestCurrent(document);
    if (!found || found.tracked.stale) return undefined;
    const { record, tracked } = found;
    const rangeOf = (index: number) => {
      const token = record.tokens[index]!;
      return new vscode.Range(document.positionAt(tracked.start + token.start), document.positionAt(tracked.start + token.end));
    };
    const cursorToken = tokenAtOffset(record, document.offsetAt(editor.selection.active) - tracked.start);
    let mode = decorationMode();
    let weights: Float64Array | undefined;
    let focusTokens: number[] = [];
    const drops = this.attributionOf === record.id || mode === 'attribution' ? await this.insights.attribution(record) : undefined;
    const surprisal = mode === 'surprisal' ? surprisalOf(record.prediction) : undefined;
    if (drops) {
      // Tokens whose masking lowers the prediction: what it rests on. Tokens that work against it stay untinted.
      mode = 'attribution';
      weights = Float64Array.from(drops, (drop) => Math.max(0, drop));
    } else if (surprisal) {
      // The tokens the language model found least expected are tinted strongest.
      weights = surprisal;
    } else if ((mode === 'attention' || mode === 'surprisal') && cursorToken >= 0) {
      mode = 'attention';
      const lens = await this.insights.lens(record, insightSource());
      if (lens.ok) {
        focusTokens = groupOf(wordGroups(record.tokens), cursorToken) ?? [cursorToken];
        weights = tokenWeights(record.tokens, lens.lens, focusTokens);
      }
    }
    if (!weights) {
      // No attribution computed, or no word under the cursor (or no attention for it): show what the prediction reads instead.
      const rollout = this.insights.rolloutOf(record);
      if (!rollout) return undefined;
      mode = 'importance';
      weights = readerImportance(record.tokens, record.prediction, rollout);
    }
    const levels = binWeights(weights, record);
    return {
      decorations: { analysisId: record.id, mode, levels, ranges: levels.map((indices) => indices.map(rangeOf)), focusTokens },
      focus: focusTokens.map(rangeOf),
    };
  }

  private newestCurrent(document: vscode.TextDocument): { record: AnalysisRecord; tracked: TrackedRange } | undefined {
    for (const record of this.store.ofDocument(document.uri)) {
      const tracked = this.store.locate(record, document);
      if (tracked && !tracked.stale) return { record, tracked };
    }
    return undefined;
  }

  private apply(editor: vscode.TextEditor, next: { decorations: AppliedDecorations; focus: vscode.Range[] } | undefined): void {
    this.levelTypes.forEach((type, index) => editor.setDecorations(type, next?.decorations.ranges[index] ?? []));
    editor.setDecorations(this.focusType, next?.focus ?? []);
    if (next) this.applied.set(editor, next.decorations);
    else this.applied.delete(editor);
  }
}

/** Token indices per tint level (1…5 of the strongest weight), special tokens and faint ones left out. */
export function binWeights(weights: Float64Array, record: Pick<AnalysisRecord, 'tokens'>): number[][] {
  let max = 0;
  record.tokens.forEach((token, index) => {
    if (!token.special && token.end > token.start) max = Math.max(max, weights[index]!);
  });
  const levels: number[][] = Array.from({ length: DECORATION_LEVELS }, () => []);
  if (max <= 0) return levels;
  record.tokens.forEach((token, index) => {
    const share = weights[index]! / max;
    if (token.special || token.end <= token.start || share < MIN_SHARE) return;
    levels[Math.min(DECORATION_LEVELS - 1, Math.floor(share * DECORATION_LEVELS))]!.push(index);
  });
  return levels;
}
