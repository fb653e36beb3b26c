/**
 * The reliability report: the cases the test layers recorded (test/support/reliability.ts), rendered as Markdown.
 * `npm test` writes it to artifacts/reliability/RELIABILITY.md and checks that the committed docs/RELIABILITY.md
 * lists the same cases; `npm run reliability` copies the latest run's report into docs. The rendering is
 * deterministic (cases sorted, temporary folder names masked), so a rerun changes the file only when a case does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReliabilityArea, ReliabilityRecord } from '../../test/support/reliability';

const AREAS: ReliabilityArea[] = ['Bad input', 'Faults', 'Load', 'Webview hardening', 'Supply chain and privacy'];
const LAYERS: Array<ReliabilityRecord['layer']> = ['unit', 'extension host', 'package', 'ui'];
const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(/</g, '&lt;');
/** `mkdtemp` folders (`/tmp/attn-incomplete-XJVL6K`) get a fresh suffix every run. */
const maskTemporary = (text: string) => text.replace(/(\/tmp\/attn-[\w-]*?-)[A-Za-z0-9]{6}\b/g, '$1XXXXXX');

export function readRecords(folder: string): ReliabilityRecord[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((file) => file.endsWith('.jsonl'))
    .flatMap((file) =>
      fs
        .readFileSync(path.join(folder, file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ReliabilityRecord),
    );
}

function sorted(records: readonly ReliabilityRecord[]): ReliabilityRecord[] {
  return [...records].sort((a, b) => LAYERS.indexOf(a.layer) - LAYERS.indexOf(b.layer) || a.case.localeCompare(b.case, 'en'));
}

export function renderReliabilityReport(records: readonly ReliabilityRecord[]): string {
  const lines = [
    '# Reliability',
    '',
    `The bad inputs, faults and attacks the tests try, and what happened: ${records.length} cases, each recorded by a test after its assertions passed, against the real components (the extension in VS Code's extension host, onnxruntime, the tokenizer, Chromium). ` +
      "`npm test` writes this report to `artifacts/reliability/RELIABILITY.md` and fails when this file lists other cases; `npm run reliability` copies the latest run's report here.",
    '',
    '## Not verified on this machine',
    '',
    "- `npm audit` (high severity, `npm run audit`): the registry these machines reach answers the advisory endpoint with HTTP 405, so the audit cannot run here; run it where registry.npmjs.org answers. The production dependencies are listed with their licences in the VSIX's ThirdPartyNotices.txt.",
    "- The `@vscode/test-electron` route of the extension-host suite: VS Code cannot be downloaded here; the suite runs in code-server with VS Code's own smoke-test driver instead.",
    '',
  ];
  for (const area of AREAS) {
    const inArea = sorted(records.filter((record) => record.area === area));
    if (inArea.length === 0) continue;
    lines.push(`## ${area}`, '', '| Case | What happened | Checked in |', '|---|---|---|');
    for (const record of inArea)
      lines.push(`| ${escapeCell(record.case)} | ${escapeCell(maskTemporary(record.outcome))} | ${record.layer} |`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** The cases a report lists, as `area | case | layer` lines (what must not change without the report changing). */
export function casesOf(report: string): string[] {
  const cases: string[] = [];
  let area = '';
  for (const line of report.split('\n')) {
    if (line.startsWith('## ')) area = line.slice(3);
    const cells = /^\| (.+?) \| .* \| ([a-z ]+) \|$/.exec(line);
    if (cells && cells[1] !== 'Case') cases.push(`${area} | ${cells[1]} | ${cells[2]}`);
  }
  return cases.sort();
}
