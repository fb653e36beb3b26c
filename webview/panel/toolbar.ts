/**
 * The options row over every view (hide special tokens, merge word pieces, the colour map, the scale, the threshold),
 * and the Export buttons, which sit on the header line: one row each, so that the views keep the room.
 */
import * as l10n from '@vscode/l10n';
import { EXPORT_FORMATS, type ExportFormat } from '../../src/shared/panelProtocol';
import { SCHEMES, type SchemeName } from '../shared/colorScale';
import { h } from '../shared/dom';
import type { ViewState } from './state';

export interface ToolbarActions {
  /** Options that change which rows and columns a map has: the views ask the host again. */
  reload(patch: Partial<ViewState>): void;
  /** Options that only change colours: the views redraw what they hold. */
  restyle(patch: Partial<ViewState>): void;
  setStatus(text: string): void;
}

/** The actions of a page whose views share one state: options that reload, options that only re-colour. */
export function toolbarActions(page: {
  update(patch: Partial<ViewState>, options?: { reload?: boolean }): void;
  redraw(): void;
  setStatus(text: string): void;
}): ToolbarActions {
  return {
    reload: (patch) => page.update(patch),
    restyle: (patch) => {
      page.update(patch, { reload: false });
      page.redraw();
    },
    setStatus: (text) => page.setStatus(text),
  };
}

function group(...children: HTMLElement[]): HTMLElement {
  return h('span', { class: 'toolbar-group' }, ...children);
}

export function renderToolbar(view: ViewState, actions: ToolbarActions): HTMLElement {
  const checkbox = (id: string, label: string, title: string, checked: boolean, key: 'hideSpecial' | 'mergeWords') => {
    const box = h('vscode-checkbox', { id, label, title, checked }) as HTMLElement & { checked: boolean };
    box.addEventListener('change', () => actions.reload({ [key]: box.checked }));
    return box;
  };
  const scheme = h(
    'vscode-single-select',
    { id: 'option-scheme', 'aria-label': l10n.t('Colour map') },
    ...SCHEMES.map((name) => h('vscode-option', { value: name, selected: name === view.scheme }, name)),
  ) as HTMLElement & { value: string };
  scheme.addEventListener('change', () => actions.restyle({ scheme: scheme.value as SchemeName }));
  const scale = h(
    'vscode-single-select',
    { id: 'option-scale', 'aria-label': l10n.t('Scale') },
    h('vscode-option', { value: 'linear', selected: view.scale === 'linear' }, l10n.t('linear')),
    h('vscode-option', { value: 'log', selected: view.scale === 'log' }, l10n.t('log')),
  ) as HTMLElement & { value: string };
  scale.addEventListener('change', () => actions.restyle({ scale: scale.value as 'linear' | 'log' }));
  const threshold = h('vscode-textfield', {
    id: 'option-threshold',
    type: 'number',
    min: 0,
    max: 1,
    step: 0.01,
    value: view.threshold,
    'aria-label': l10n.t('Threshold'),
    title: l10n.t('Weights under this are not coloured'),
    class: 'narrow',
  }) as HTMLElement & { value: string };
  threshold.addEventListener('change', () => {
    const value = Number(threshold.value);
    if (Number.isFinite(value) && value >= 0 && value <= 1) actions.restyle({ threshold: value });
    else actions.setStatus(l10n.t('The threshold is a weight from 0 to 1.'));
  });
  return h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': l10n.t('Display options') },
    group(
      checkbox(
        'option-hide-special',
        l10n.t('Hide specials'),
        l10n.t('Hide [CLS]/[SEP] and other special tokens'),
        view.hideSpecial,
        'hideSpecial',
      ),
      checkbox('option-merge-words', l10n.t('Merge pieces'), l10n.t('Merge word pieces into words'), view.mergeWords, 'mergeWords'),
    ),
    group(h('label', { for: 'option-scheme', class: 'toolbar-label' }, l10n.t('Colours')), scheme),
    group(h('label', { for: 'option-scale', class: 'toolbar-label' }, l10n.t('Scale')), scale),
    group(h('label', { for: 'option-threshold', class: 'toolbar-label' }, l10n.t('Threshold')), threshold),
  );
}

/** Export buttons for the current view, one per format. */
export function renderExportButtons(exportAs: (format: ExportFormat) => void): HTMLElement {
  return h(
    'span',
    { class: 'export-group', role: 'group', 'aria-label': l10n.t('Export the current view') },
    h('span', { class: 'export-label' }, l10n.t('Export')),
    ...EXPORT_FORMATS.map((format) => {
      const button = h(
        'button',
        {
          type: 'button',
          class: 'compact-button',
          id: `export-${format}`,
          title: l10n.t('Export the current view as {0}', format.toUpperCase()),
        },
        format.toUpperCase(),
      );
      button.addEventListener('click', () => exportAs(format));
      return button;
    }),
  );
}
