/**
 * One map as a file, in pieces: the CSV matrix (a header of column tokens, then a row per query token) and the JSON
 * object (`…meta, caption, labels, map: rows`). The panel joins the pieces for small maps; the worker streams them to
 * disk for a long input's head (2048 tokens: 4 million numbers, which a page would hold as one 40 MB string).
 */

/** A CSV field, quoted when it holds a quote, a comma or a line break. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows per piece: about a megabyte of text at 2048 tokens. */
const ROWS_PER_PIECE = 64;

/** `[m, m]` row-major `map` labelled by `labels`, as CSV: the first row holds the column tokens. */
export function* mapCsvPieces(labels: readonly string[], map: Float32Array): Generator<string> {
  const m = labels.length;
  yield `${['from \\ to', ...labels].map(csvField).join(',')}\n`;
  for (let first = 0; first < m; first += ROWS_PER_PIECE) {
    const lines: string[] = [];
    for (let row = first; row < Math.min(m, first + ROWS_PER_PIECE); row += 1) {
      lines.push([csvField(labels[row]!), ...Array.from(map.subarray(row * m, (row + 1) * m), String)].join(','));
    }
    yield `${lines.join('\n')}\n`;
  }
}

/** The same map as one JSON object: `meta`'s fields, then `caption`, `labels` and `map` as rows of numbers. */
export function* mapJsonPieces(
  labels: readonly string[],
  map: Float32Array,
  caption: string,
  meta: Record<string, unknown>,
): Generator<string> {
  const m = labels.length;
  const head = JSON.stringify({ ...meta, caption, labels });
  yield `${head.slice(0, -1)},"map":[`;
  for (let first = 0; first < m; first += ROWS_PER_PIECE) {
    const rows: string[] = [];
    for (let row = first; row < Math.min(m, first + ROWS_PER_PIECE); row += 1) {
      rows.push(JSON.stringify(Array.from(map.subarray(row * m, (row + 1) * m))));
    }
    yield `${first > 0 ? ',' : ''}${rows.join(',')}`;
  }
  yield ']}\n';
}
