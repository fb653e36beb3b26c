/**
 * What every view of the panel reads and how it changes the shared state (tab, layer, head, options).
 */
import type { DisplayOptions, PanelAnalysisState } from '../../src/shared/protocol';
import type { ScaleOptions } from '../shared/colorScale';
import type { ViewState } from './state';

export interface PanelContext {
  readonly analysis: PanelAnalysisState | undefined;
  /** `[layers, n, n]`, when the host still holds the attention. */
  readonly headMeans: Float32Array | undefined;
  readonly view: ViewState;
  readonly options: DisplayOptions;
  readonly scale: ScaleOptions;
  /** Changes the state, saves it, and (unless told not to) refreshes the view. */
  update(patch: Partial<ViewState>, options?: { reload?: boolean }): void;
  setStatus(text: string): void;
}
