/**
 * What the reliability tests tried and what happened, collected across test layers into docs/RELIABILITY.md. Each
 * test records its case after its assertions passed; `npm test` points ATTN_RELIABILITY_DIR at a fresh folder and
 * renders the report at the end (scripts/lib/reliabilityReport.ts). Outside `npm test` nothing is written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type ReliabilityArea = 'Bad input' | 'Faults' | 'Load' | 'Webview hardening' | 'Supply chain and privacy';

export interface ReliabilityRecord {
  layer: 'unit' | 'extension host' | 'package' | 'ui';
  area: ReliabilityArea;
  /** What was tried. */
  case: string;
  /** What happened (the message the user saw, the result, what was left behind). */
  outcome: string;
}

export function recordCase(record: ReliabilityRecord): void {
  const folder = process.env.ATTN_RELIABILITY_DIR;
  if (!folder) return;
  fs.mkdirSync(folder, { recursive: true });
  fs.appendFileSync(path.join(folder, `${record.layer.replace(/\s+/g, '-')}.jsonl`), `${JSON.stringify(record)}\n`);
}
