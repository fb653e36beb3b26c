/**
 * How numbers are written for people, in one place: probabilities as percentages, sizes in megabytes.
 */

/** `0.4567` → `"45.7%"` (with `digits` decimals). */
export function formatPercent(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** A signed change of a probability in percentage points, e.g. `"+1.25"` or `"−0.40"` (a true minus sign). */
export function formatPoints(value: number, digits = 2): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(digits)}`;
}

/** Bytes as megabytes with one decimal, e.g. `"12.3"`. */
export function formatMegabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
