/**
 * The ids package.json contributes, in one place: the startup bundle (`src/extension.ts`) registers them all and the
 * rest of the extension (`src/features.ts`, loaded on first use) answers them, so both read the same constants and
 * neither has to import the other's code for a name.
 */

/** Every command the extension registers (each is in package.json's `contributes.commands`). */
export const COMMANDS = {
  analyzeSelection: 'attentionExplorer.analyzeSelection',
  showPanel: 'attentionExplorer.showPanel',
  explainPrediction: 'attentionExplorer.explainPrediction',
  compareSelections: 'attentionExplorer.compareSelections',
  compareModels: 'attentionExplorer.compareModels',
  toggleDecorations: 'attentionExplorer.toggleDecorations',
  showSurprisal: 'attentionExplorer.showSurprisal',
  openPlayground: 'attentionExplorer.openPlayground',
  selectModel: 'attentionExplorer.selectModel',
  clearModelCache: 'attentionExplorer.clearModelCache',
  showLog: 'attentionExplorer.showLog',
  openAttentionFile: 'attentionExplorer.openAttentionFile',
  /** A hover's "Focus in panel" link. */
  focusInPanel: 'attentionExplorer.focusInPanel',
  /** A hover's "Re-analyze" link on an edited analysis. */
  reanalyze: 'attentionExplorer.reanalyze',
} as const;

export type CommandName = keyof typeof COMMANDS;

/** The attention panel's webview type (restored by a serializer after a reload). */
export const PANEL_VIEW_TYPE = 'attentionExplorer.panel';

/** The side view's id in `contributes.views`. */
export const SIDE_VIEW_ID = 'attentionExplorer.sideView';

/** The `.attention.json` custom editor's view type. */
export const ATTENTION_FILE_VIEW_TYPE = 'attentionExplorer.attentionFile';

/** The notebook renderer's id in `contributes.notebookRenderer`. */
export const ATTENTION_RENDERER_ID = 'attention-explorer.attention';

/** The setting that analyses each selection as it changes (the startup bundle loads the rest when it is on). */
export const LIVE_MODE_SETTING = 'attentionExplorer.liveMode.enabled';

/** The status bar item's id. */
export const STATUS_ITEM_ID = 'attentionExplorer.status';
