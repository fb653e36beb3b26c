/**
 * What every view of the panel reads and how it changes the shared state (tab, layer, head, options), and the shape
 * every view has: its tab, its element, how it refreshes, redraws and exports. `main.ts` only routes between them.
 */
import type { Analysis, DisplayOptions } from '../../src/shared/analysis';
import type { ScaleOptions } from '../shared/colorScale';
import type { Exportable } from './exports';
import type { Tab, ViewState } from './state';

export interface PanelContext {
  readonly analysis: Analysis | undefined;
  /** Whether the analysis's attention is still held (by the worker, or the page itself), so views can ask for it. */
  readonly attentionHeld: boolean;
  readonly view: ViewState;
  readonly options: DisplayOptions;
  readonly scale: ScaleOptions;
  /** The token whose prediction is in focus (see `ViewState.marked`), if the analysis has one. */
  readonly markedToken: number | undefined;
  /** Changes the state, saves it, and (unless told not to) refreshes the view. */
  update(patch: Partial<ViewState>, options?: { reload?: boolean }): void;
  /** One line in the panel's status area (announced to screen readers); `path` marks a saved file. */
  setStatus(text: string, path?: string): void;
}

/** One tab of the panel. */
export interface PanelView {
  readonly tab: Tab;
  /** The tab's title, localised. */
  readonly title: string;
  readonly element: HTMLElement;
  /** Whether it shows the attention tensors, which the host no longer has after a reload. */
  readonly needsAttention: boolean;
  /** Loads what the current analysis and state need, and draws it. */
  refresh(): Promise<void> | void;
  /** Draws again what is loaded (a colour, scale or theme change): no request to the host. */
  redraw(): void;
  /** What the view can save now, if anything. */
  exportable(): Exportable | undefined;
  /** Gives back its canvases' pixels and the maps it holds, for good (a notebook output that was disposed). */
  release?(): void;
}
