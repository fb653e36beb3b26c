/**
 * Turning what a view shows into files: CSV and JSON of the numbers behind it (the webview has them), PNG of the
 * canvas, SVG drawn as vectors. Each view says what it can export (`PanelView.exportable`); saving goes through the
 * host's save dialog.
 */
import * as l10n from '@vscode/l10n';
import type { Analysis, DisplayOptions } from '../../src/shared/analysis';
import type { ExportFormat } from '../../src/shared/panelProtocol';
import { csvField, mapCsvPieces, mapJsonPieces } from '../../src/shared/mapExport';
import type { HeatmapData } from './heatmapCanvas';

export { csvField };

export type { ExportFormat };

/** What the current view can export; `tensor` means the whole attention tensor, written by the worker. */
export interface Exportable {
  name: string;
  png?: () => Promise<ArrayBuffer>;
  svg?: () => string;
  csv?: (() => string) | 'tensor';
  json?: (() => string) | 'tensor';
  /**
   * The one head whose map `csv` and `json` hold: where the worker holds the analysis, the panel has it write them
   * to disk instead (a long input's map is more text than a page should build).
   */
  headMap?: { layer: number; head: number; options: DisplayOptions; caption: string };
}

/** A canvas as PNG bytes. */
export function canvasPng(canvas: HTMLCanvasElement): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => {
      if (blob) void blob.arrayBuffer().then(resolve, reject);
      else reject(new Error(l10n.t('There is nothing drawn to export yet.')));
    }, 'image/png'),
  );
}

/** Rows `[m][m]` of a row-major map. */
export function rowsOf(map: Float32Array, m: number): number[][] {
  return Array.from({ length: m }, (_, row) => Array.from(map.subarray(row * m, (row + 1) * m)));
}

/** A map as a CSV matrix: the first row holds the column tokens, each row starts with its token. */
export function mapCsv(data: HeatmapData): string {
  return [...mapCsvPieces(data.labels, data.map)].join('');
}

export function mapJson(data: HeatmapData, meta: Record<string, unknown>): string {
  return [...mapJsonPieces(data.labels, data.map, data.caption, meta)].join('');
}

/** Every head of a layer, one row per pair. */
export function layerCsv(labels: string[], maps: Float32Array, layer: number): string {
  const m = labels.length;
  const heads = maps.length / (m * m);
  const lines = ['layer,head,from_index,from_token,to_index,to_token,weight'];
  for (let head = 0; head < heads; head += 1) {
    for (let row = 0; row < m; row += 1) {
      for (let col = 0; col < m; col += 1) {
        lines.push(
          `${layer + 1},${head + 1},${row},${csvField(labels[row]!)},${col},${csvField(labels[col]!)},${maps[(head * m + row) * m + col]}`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Every head of a layer as `heads[head][row][col]`. */
export function layerJson(labels: string[], maps: Float32Array, meta: Record<string, unknown>): string {
  const m = labels.length;
  const heads = Array.from({ length: maps.length / (m * m) }, (_, head) => rowsOf(maps.subarray(head * m * m, (head + 1) * m * m), m));
  return `${JSON.stringify({ ...meta, labels, heads })}\n`;
}

export function tokensCsv(analysis: Analysis): string {
  const lines = ['index,id,token,start,end,special,text'];
  analysis.tokens.forEach((token, index) =>
    lines.push(
      [
        index,
        token.id,
        csvField(token.text),
        token.start,
        token.end,
        token.special,
        csvField(analysis.text.slice(token.start, token.end)),
      ].join(','),
    ),
  );
  return `${lines.join('\n')}\n`;
}
