/**
 * The status bar item at activation, before the rest of the extension has loaded: a module of its own, so that the
 * startup bundle holds only this (`AttentionStatusBar` in `statusBar.ts` takes the item over).
 */
import * as vscode from 'vscode';
import { SIDE_VIEW_ID, STATUS_ITEM_ID } from '../shared/contributions';

/**
 * The item as activation shows it, before the rest of the extension has loaded (it loads on first use): the model's
 * state is not known yet, so the tooltip says what to do rather than guess it.
 */
export function startupStatusItem(): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Right, 100);
  item.name = vscode.l10n.t('Attention Explorer');
  item.command = { title: vscode.l10n.t('Show Attention Explorer'), command: `${SIDE_VIEW_ID}.focus` };
  item.text = `$(eye) ${vscode.l10n.t('Attention')}`;
  const hint = vscode.l10n.t('Select text and run Analyze Selection; the model loads on the first analysis.');
  item.tooltip = new vscode.MarkdownString().appendMarkdown(`**${vscode.l10n.t('Attention Explorer')}**\n\n`).appendText(hint);
  item.accessibilityInformation = { label: `${vscode.l10n.t('Attention Explorer')}: ${hint}` };
  item.show();
  return item;
}
