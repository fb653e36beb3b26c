/**
 * Words for insights, shared by hovers, the side view and the status bar: what an attention source is called, and
 * Markdown-safe text.
 */
import * as vscode from 'vscode';
import type { AttentionSource } from '../config';

/** "layer 6, mean over heads", "rollout through all 6 layers", "layer 6, head 3". */
export function describeSource(source: AttentionSource, layers: number): string {
  switch (source.kind) {
    case 'mean':
      return source.layer >= 1
        ? vscode.l10n.t('layer {0}, mean over heads', source.layer)
        : vscode.l10n.t('mean over all layers and heads');
    case 'rollout':
      return source.layer >= 1 && source.layer < layers
        ? vscode.l10n.t('rollout through layer {0}', source.layer)
        : vscode.l10n.t('rollout through all {0} layers', layers);
    case 'head':
      return vscode.l10n.t('layer {0}, head {1}', source.layer, source.head);
  }
}

/** Escapes text for a MarkdownString (token texts can hold `*`, `|`, `[` and such). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (character) => `\\${character}`);
}

/** A `command:` link with JSON arguments, for trusted Markdown. */
export function commandLink(label: string, command: string, argument: unknown): string {
  return `[${label}](command:${command}?${encodeURIComponent(JSON.stringify([argument]))})`;
}
