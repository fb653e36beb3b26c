/**
 * Conversions between the row form of tokens (what code reads) and the column form that travels to webviews.
 */
import type { TokenRow, TokenTable } from './protocol';

/** Packs token rows into the binary columns of a {@link TokenTable}. */
export function encodeTokenTable(rows: readonly TokenRow[]): TokenTable {
  const ids = new Int32Array(rows.length);
  const offsets = new Uint32Array(rows.length * 2);
  const special = new Uint8Array(rows.length);
  rows.forEach((row, index) => {
    ids[index] = row.id;
    offsets[2 * index] = row.start;
    offsets[2 * index + 1] = row.end;
    special[index] = row.special ? 1 : 0;
  });
  return { texts: rows.map((row) => row.text), ids: ids.buffer, offsets: offsets.buffer, special: special.buffer };
}

/** Unpacks a {@link TokenTable} (already validated, so its columns agree in length). */
export function decodeTokenTable(table: TokenTable): TokenRow[] {
  const ids = new Int32Array(table.ids);
  const offsets = new Uint32Array(table.offsets);
  const special = new Uint8Array(table.special);
  return table.texts.map((text, index) => ({
    id: ids[index] ?? 0,
    text,
    start: offsets[2 * index] ?? 0,
    end: offsets[2 * index + 1] ?? 0,
    special: special[index] === 1,
  }));
}
