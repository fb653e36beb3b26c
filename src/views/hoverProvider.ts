/**
 * Hover insights on analysed words: the word's tokens, the words it attends to most and those that attend to it
 * most (through the source the `insights.*` settings choose), and links into the panel. Reads the host's cache and
 * at most one head from the worker: a hover never runs the model. A stale analysis says so instead.
 */
import * as vscode from 'vscode';
import type { AnalysisRecord, AnalysisStore } from '../analysis/analysisStore';
import { groupOf, wordGroups, wordInsight, type WordWeight } from '../analysis/insights';
import type { InsightService } from '../analysis/insightService';
import type { TrackedRange } from '../analysis/rangeTracking';
import { hoverEnabled, insightSource, type AttentionSource } from '../config';
import { COMMANDS } from '../shared/contributions';
import { formatPercent } from '../shared/format';
import { commandLink, describeSource, escapeMarkdown } from './insightText';

/** The analysis under a document position, newest first, with where it is now. */
export function analysisAt(
  store: AnalysisStore,
  document: vscode.TextDocument,
  position: vscode.Position,
): { record: AnalysisRecord; tracked: TrackedRange } | undefined {
  const offset = document.offsetAt(position);
  for (const record of store.ofDocument(document.uri)) {
    const tracked = store.locate(record, document);
    if (tracked && offset >= tracked.start && offset <= tracked.end) return { record, tracked };
  }
  return undefined;
}

/** The non-special token covering `offset` of the analysed text (a position just after a token counts). */
export function tokenAtOffset(record: AnalysisRecord, relative: number): number {
  const inside = record.tokens.findIndex((token) => !token.special && token.start <= relative && relative < token.end);
  return inside >= 0 ? inside : record.tokens.findIndex((token) => !token.special && token.end === relative && token.end > token.start);
}

export class AttentionHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly store: AnalysisStore,
    private readonly insights: InsightService,
  ) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    if (!hoverEnabled()) return undefined;
    const found = analysisAt(this.store, document, position);
    if (!found) return undefined;
    const { record, tracked } = found;
    const rangeOf = (start: number, end: number) =>
      new vscode.Range(document.positionAt(tracked.start + start), document.positionAt(tracked.start + end));
    if (tracked.stale) {
      return new vscode.Hover(
        staleMarkdown(record),
        new vscode.Range(document.positionAt(tracked.start), document.positionAt(tracked.end)),
      );
    }
    const tokenIndex = tokenAtOffset(record, document.offsetAt(position) - tracked.start);
    if (tokenIndex < 0) return undefined;
    const word = groupOf(wordGroups(record.tokens), tokenIndex) ?? [tokenIndex];
    const first = record.tokens[word[0]!]!;
    const last = record.tokens[word[word.length - 1]!]!;
    const range = rangeOf(first.start, last.end);
    const prediction = predictionMarkdown(record, tokenIndex);
    const lens = await this.insights.lens(record, insightSource());
    if (!lens.ok) {
      return new vscode.Hover([...prediction, missingMarkdown(record, word, lens.reason)], range);
    }
    return new vscode.Hover(
      [...prediction, insightMarkdown(record, word, lens.source, wordInsight(record.tokens, lens.lens, word))],
      range,
    );
  }
}

/**
 * What the model predicted at a token, first in its hover: the entity it belongs to and the token's own label, or a
 * mask's most probable tokens.
 */
export function predictionMarkdown(record: AnalysisRecord, tokenIndex: number): vscode.MarkdownString[] {
  const { prediction } = record;
  const markdown = new vscode.MarkdownString();
  const testModel = record.model.isTestModel ? ` · ${escapeMarkdown(vscode.l10n.t('test model with random weights'))}` : '';
  if (prediction.task === 'token-classification') {
    const own = prediction.tokens[tokenIndex];
    if (!own || own.label < 0) return [];
    const entity = prediction.entities.find((candidate) => candidate.tokens.includes(tokenIndex));
    if (entity) {
      markdown.appendMarkdown(
        `**${escapeMarkdown(entity.label)}** ${escapeMarkdown(vscode.l10n.t('entity “{0}”, score {1}', entity.word, formatPercent(entity.score)))}\n\n`,
      );
    }
    markdown.appendMarkdown(
      `${escapeMarkdown(vscode.l10n.t('This token: {0} ({1})', prediction.labels[own.label] ?? '?', formatPercent(own.probability)))}${testModel}`,
    );
    return [markdown];
  }
  if (prediction.task === 'fill-mask') {
    const mask = prediction.masks.find((candidate) => candidate.index === tokenIndex);
    if (!mask) return [];
    markdown.appendMarkdown(`**${escapeMarkdown(vscode.l10n.t('The model’s guesses for this mask'))}**${testModel}\n\n`);
    markdown.appendMarkdown(`| ${vscode.l10n.t('Token')} | ${vscode.l10n.t('Probability')} |\n|---|--:|\n`);
    for (const candidate of mask.top) {
      markdown.appendMarkdown(`| \`${candidate.token.replace(/`/g, "'")}\` | ${formatPercent(candidate.probability)} |\n`);
    }
    return [markdown];
  }
  if (prediction.task === 'text-generation') {
    const probability = prediction.tokenProbabilities[tokenIndex];
    const expected = prediction.expected[tokenIndex];
    if (probability === undefined || probability < 0 || !expected) return [];
    const own = record.tokens[tokenIndex]!;
    markdown.appendMarkdown(
      `**${escapeMarkdown(vscode.l10n.t('Surprisal {0} bits', (-Math.log2(Math.max(probability, Number.MIN_VALUE))).toFixed(2)))}**${testModel}\n\n`,
    );
    markdown.appendMarkdown(
      `${escapeMarkdown(vscode.l10n.t('The model gave this token p = {0}.', formatPercent(probability)))}${
        expected.id === own.id
          ? ` ${escapeMarkdown(vscode.l10n.t('It was the model’s first choice.'))}`
          : ` ${escapeMarkdown(vscode.l10n.t('The model expected'))} \`${expected.token.replace(/`/g, "'")}\` ${escapeMarkdown(vscode.l10n.t('(p = {0}) here.', formatPercent(expected.probability)))}`
      }`,
    );
    return [markdown];
  }
  return [];
}

function trusted(): vscode.MarkdownString {
  const markdown = new vscode.MarkdownString('', true);
  markdown.isTrusted = { enabledCommands: [COMMANDS.focusInPanel, COMMANDS.reanalyze] };
  return markdown;
}

function piecesLine(record: AnalysisRecord, word: readonly number[]): string {
  const pieces = word.map((index) => `\`${record.tokens[index]!.text.replace(/`/g, "'")}\``).join(' + ');
  const ids = word.map((index) => record.tokens[index]!.id).join(', ');
  return vscode.l10n.t('tokens {0} (ids {1})', pieces, ids);
}

function insightMarkdown(
  record: AnalysisRecord,
  word: readonly number[],
  source: AttentionSource,
  insight: ReturnType<typeof wordInsight>,
): vscode.MarkdownString {
  const markdown = trusted();
  markdown.appendMarkdown(`**${escapeMarkdown(insight.word)}** · ${piecesLine(record, word)}\n\n`);
  const rows = Math.max(insight.attendsTo.length, insight.attendedBy.length);
  const cell = (entry: WordWeight | undefined) => (entry ? `${escapeMarkdown(entry.text)} | ${entry.weight.toFixed(3)}` : ' | ');
  markdown.appendMarkdown(`| ${vscode.l10n.t('Attends most to')} | | ${vscode.l10n.t('Attended most by')} | |\n|---|--:|---|--:|\n`);
  for (let row = 0; row < rows; row += 1) {
    markdown.appendMarkdown(`| ${cell(insight.attendsTo[row])} | ${cell(insight.attendedBy[row])} |\n`);
  }
  const layers = record.model.layers;
  markdown.appendMarkdown(
    `\n${escapeMarkdown(describeSource(source, layers))} · ${escapeMarkdown(vscode.l10n.t('[CLS] and [SEP] take {0}% of its attention', (insight.toSpecial * 100).toFixed(0)))}` +
      (record.model.isTestModel ? ` · ${escapeMarkdown(vscode.l10n.t('test model with random weights'))}` : '') +
      '\n\n',
  );
  const query = word[0]!;
  const panelLayer = source.kind === 'head' || source.layer >= 1 ? source.layer - 1 : layers - 1;
  const links = [
    commandLink(`$(symbol-operator) ${vscode.l10n.t('Neuron view of this token')}`, COMMANDS.focusInPanel, {
      analysisId: record.id,
      tab: 'neuron',
      query,
      layer: panelLayer,
      ...(source.kind === 'head' ? { head: source.head - 1 } : {}),
    }),
    source.kind === 'head'
      ? commandLink(`$(screen-full) ${vscode.l10n.t('Open layer {0}, head {1}', source.layer, source.head)}`, COMMANDS.focusInPanel, {
          analysisId: record.id,
          tab: 'model',
          layer: panelLayer,
          head: source.head - 1,
          focus: true,
        })
      : commandLink(`$(type-hierarchy) ${vscode.l10n.t('Heads of layer {0}', panelLayer + 1)}`, COMMANDS.focusInPanel, {
          analysisId: record.id,
          tab: 'head',
          layer: panelLayer,
        }),
  ];
  markdown.appendMarkdown(links.join(' · '));
  return markdown;
}

function staleMarkdown(record: AnalysisRecord): vscode.MarkdownString {
  const markdown = trusted();
  markdown.appendMarkdown(
    `**Attention Explorer** · $(warning) ${escapeMarkdown(vscode.l10n.t('Out of date: the text changed after it was analysed, so these weights no longer describe it.'))}\n\n` +
      commandLink(`$(refresh) ${vscode.l10n.t('Analyze the text again')}`, COMMANDS.reanalyze, { analysisId: record.id }),
  );
  return markdown;
}

function missingMarkdown(
  record: AnalysisRecord,
  word: readonly number[],
  reason: 'no-attention' | 'worker-dropped' | 'long-input',
): vscode.MarkdownString {
  const markdown = trusted();
  const why =
    reason === 'no-attention'
      ? vscode.l10n.t('The attention of this analysis is no longer kept (the window was reloaded, or newer analyses needed the memory).')
      : reason === 'long-input'
        ? vscode.l10n.t(
            'Rollout over {0} tokens is not computed for the editor; choose the mean or a head in the insights settings, or open the panel.',
            record.tokens.length,
          )
        : vscode.l10n.t('The attention is no longer in memory; choose the mean or rollout in the insights settings, or analyze again.');
  markdown.appendMarkdown(`**Attention Explorer** · ${piecesLine(record, word)}\n\n${escapeMarkdown(why)}\n\n`);
  markdown.appendMarkdown(
    commandLink(`$(refresh) ${vscode.l10n.t('Analyze the text again')}`, COMMANDS.reanalyze, { analysisId: record.id }),
  );
  return markdown;
}
