/**
 * Colour for attention weights: viridis (perceptually uniform, readable by colour-blind people, the same in light and
 * dark themes), as a 256-entry lookup table so drawing 512×512 cells costs one table read per cell.
 */
import { interpolateViridis } from 'd3-scale-chromatic';

export type Rgb = [number, number, number];

/** d3's sequential schemes return `#rrggbb` (or `rgb(r, g, b)` for some): both are read here. */
function parseColor(value: string): Rgb {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(value);
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(value);
  return rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : [0, 0, 0];
}

function lookupTable(interpolate: (t: number) => string): Uint8ClampedArray {
  const table = new Uint8ClampedArray(256 * 3);
  for (let index = 0; index < 256; index += 1) {
    table.set(parseColor(interpolate(index / 255)), index * 3);
  }
  return table;
}

export const VIRIDIS = lookupTable(interpolateViridis);

/** The lookup-table index of `value` on a linear scale from 0 to `max`. */
export function scaleIndex(value: number, max: number): number {
  if (!(max > 0)) return 0;
  return Math.max(0, Math.min(255, Math.round((value / max) * 255)));
}

export function cssColor(table: Uint8ClampedArray, index: number): string {
  return `rgb(${table[index * 3]}, ${table[index * 3 + 1]}, ${table[index * 3 + 2]})`;
}
