/**
 * Colour for attention weights. Every scheme offered is perceptually uniform and readable by colour-blind people
 * (viridis family; cividis is optimised for it), the same in light and dark themes. Each is a 256-entry lookup table,
 * so drawing 512×512 cells costs one table read per cell. A linear or logarithmic scale maps weights to the table;
 * weights under the threshold are left as background.
 */
import {
  interpolateCividis,
  interpolateInferno,
  interpolateMagma,
  interpolatePlasma,
  interpolateRdBu,
  interpolateViridis,
} from 'd3-scale-chromatic';

export type Rgb = [number, number, number];
export type SchemeName = 'viridis' | 'cividis' | 'magma' | 'inferno' | 'plasma';
export const SCHEMES: readonly SchemeName[] = ['viridis', 'cividis', 'magma', 'inferno', 'plasma'];

/** d3's schemes return `#rrggbb` (or `rgb(r, g, b)` for some): both are read here. */
export function parseColor(value: string): Rgb {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value.trim());
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
  const rgb = /^rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(value.trim());
  return rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : [0, 0, 0];
}

function lookupTable(interpolate: (t: number) => string): Uint8ClampedArray {
  const table = new Uint8ClampedArray(256 * 3);
  for (let index = 0; index < 256; index += 1) table.set(parseColor(interpolate(index / 255)), index * 3);
  return table;
}

const INTERPOLATORS: Record<SchemeName, (t: number) => string> = {
  viridis: interpolateViridis,
  cividis: interpolateCividis,
  magma: interpolateMagma,
  inferno: interpolateInferno,
  plasma: interpolatePlasma,
};

const tables = new Map<SchemeName, Uint8ClampedArray>();
export function lookup(scheme: SchemeName): Uint8ClampedArray {
  let table = tables.get(scheme);
  if (!table) {
    table = lookupTable(INTERPOLATORS[scheme]);
    tables.set(scheme, table);
  }
  return table;
}

/** Red–blue for signed values (the neuron view's products): blue negative, red positive, white at 0. */
export const DIVERGING = lookupTable((t) => interpolateRdBu(1 - t));

export interface ScaleOptions {
  scheme: SchemeName;
  scale: 'linear' | 'log';
  /** Weights below this are not coloured. */
  threshold: number;
}

/** Maps weights to lookup-table indices for one map (its maximum sets the top of the scale); −1 = background. */
export function colorIndexer(options: ScaleOptions, max: number): (value: number) => number {
  const top = max > 0 ? max : 1;
  if (options.scale === 'log') {
    const floor = Math.max(options.threshold, top * 1e-4, 1e-12);
    const span = Math.log(top / floor) || 1;
    return (value) =>
      value < options.threshold || value < floor
        ? value >= options.threshold && value > 0
          ? 0
          : -1
        : Math.min(255, Math.max(0, Math.round((Math.log(value / floor) / span) * 255)));
  }
  return (value) => (value < options.threshold ? -1 : Math.min(255, Math.max(0, Math.round((value / top) * 255))));
}

export function cssColor(table: Uint8ClampedArray, index: number): string {
  return `rgb(${table[index * 3]}, ${table[index * 3 + 1]}, ${table[index * 3 + 2]})`;
}

/** A theme colour from VS Code's CSS variables, as RGB for canvas drawing. */
export function themeColor(variable: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(variable).trim() || fallback;
}

/**
 * Sizes a canvas for the device pixel ratio and clears it to the editor background, so every view
 * draws in CSS pixels. Records the CSS height for tests and layout; undefined when no 2D context.
 */
export function beginCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D | undefined {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.dataset.cssWidth = String(width);
  canvas.dataset.cssHeight = String(height);
  const context = canvas.getContext('2d');
  if (!context) return undefined;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
  context.fillRect(0, 0, width, height);
  return context;
}

/** One of five diverging colour classes (media/panel.css) for a signed value against the largest magnitude. */
export function deltaClass(value: number, maxAbs: number): string {
  if (!(maxAbs > 0) || !Number.isFinite(value) || value === 0) return 'delta-0';
  const level = Math.min(5, Math.max(1, Math.ceil((Math.abs(value) / maxAbs) * 5)));
  return `delta-${value < 0 ? 'neg' : 'pos'}-${level}`;
}
