/**
 * Bad input, faults and load in the real extension host, on real documents: each case gets a clear message or a
 * correct result, and the extension's log never receives an error for input (errors are for faults, and carry no
 * stack). Every case is recorded for docs/RELIABILITY.md.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import { recordCase, type ReliabilityArea } from '../support/reliability';
import { activateExtension, closeAllEditors, openDocument, setSetting, testModelDir, useTestModel, waitFor } from './helpers';

type Analysed = Extract<AnalyzeOutcome, { kind: 'analysed' }>;

/** BERT's normaliser for the texts below: control and format characters dropped, accents stripped, lower case. */
const normalise = (text: string) =>
  text
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .toLowerCase();

async function analyseAll(
  text: string,
  select?: (document: vscode.TextDocument) => vscode.Selection,
): Promise<{ outcome: AnalyzeOutcome; editor: vscode.TextEditor }> {
  const editor = await openDocument(text);
  const document = editor.document;
  editor.selection = select
    ? select(document)
    : new vscode.Selection(document.positionAt(0), document.positionAt(document.getText().length));
  const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
  return { outcome, editor };
}

/** Every text token points at characters of the selection that normalise to its text (or it is [UNK]). */
function assertTokensMapToText(outcome: Analysed, selected: string): void {
  let previousEnd = 0;
  for (const token of outcome.tokens.filter((candidate) => !candidate.special)) {
    assert.ok(
      token.start >= previousEnd - 1 && token.end <= selected.length && token.start < token.end,
      `token ${token.text} at ${token.start}–${token.end}`,
    );
    previousEnd = token.end;
    if (token.text === '[UNK]') continue;
    assert.equal(
      normalise(selected.slice(token.start, token.end)),
      token.text.replace(/^##/, ''),
      `token ${token.text} covers "${selected.slice(token.start, token.end)}"`,
    );
  }
}

function record(area: ReliabilityArea, what: string, outcome: string): void {
  recordCase({ layer: 'extension host', area, case: what, outcome });
}

function describeOutcome(outcome: AnalyzeOutcome): string {
  switch (outcome.kind) {
    case 'analysed':
      return `analysed: ${outcome.tokens.length} tokens${outcome.truncated ? ' (truncated, and said so)' : ''}, ${outcome.labels[outcome.probabilities.indexOf(Math.max(...outcome.probabilities))]}`;
    case 'refused':
      return `refused: “${outcome.message}”`;
    case 'failed':
      return `failed with a message: “${outcome.message}”${outcome.actions?.length ? ` — actions: ${outcome.actions.join(', ')}` : ''}`;
    case 'cancelled':
      return 'cancelled';
  }
}

const TEXT_CASES: Array<{ name: string; text: string; tokens?: (tokens: Analysed['tokens']) => void }> = [
  { name: 'a single character', text: 'a', tokens: (tokens) => assert.equal(tokens.length, 3) },
  { name: 'emoji, a ZWJ family and flags', text: 'Loved it 👍🏽 — the family 👨‍👩‍👧 cheered 🇫🇷🇯🇵!' },
  { name: 'right-to-left text (Arabic and Hebrew)', text: 'الفيلم رائع جدا و הסרט היה נפלא' },
  { name: 'combining marks (decomposed accents, stacked marks)', text: 'Cafe\u0301 de\u0301cor, Z\u0324\u0354\u0367\u0311a\u0308lgo!' },
  {
    name: 'CJK',
    text: '我非常喜欢这部电影。とても良い映画でした。',
    tokens: (tokens) => assert.ok(tokens.filter((token) => !token.special).length >= 15),
  },
  { name: 'zero-width characters', text: 'zero\u200Bwidth\u200Cjoin\u2060er\uFEFF text' },
  // (A NUL character makes VS Code treat a file as binary; it does not open as a text document at all.)
  { name: 'control characters', text: 'bell\u0007 escape\u001b[31m start\u0001 delete\u007f end' },
  { name: 'a <script> payload', text: 'Great <script>window.attnInjected = 1; alert(1)</script> film' },
  { name: 'an <img onerror> payload', text: 'Bad <img src=x onerror="window.attnInjected=1"> film' },
  { name: 'a </style> payload', text: 'Odd </style><style>*{display:none}</style> film' },
];

suite('Reliability', () => {
  suiteSetup(async () => {
    await activateExtension();
    await useTestModel();
  });

  teardown(async () => {
    await closeAllEditors();
  });

  suite('bad input', () => {
    test('an empty selection and a whitespace-only one are refused with a message, and nothing is logged as an error', async () => {
      const { api } = await activateExtension();
      const errorsBefore = api.loggedErrors.length;
      const empty = await analyseAll('Some text.', (document) => new vscode.Selection(document.positionAt(2), document.positionAt(2)));
      assert.equal(empty.outcome.kind, 'refused');
      record('Bad input', 'empty selection', describeOutcome(empty.outcome));
      const blank = await analyseAll('   \n\t  \r\n  ');
      assert.equal(blank.outcome.kind, 'refused');
      assert.match(blank.outcome.kind === 'refused' ? blank.outcome.message : '', /only whitespace/);
      record('Bad input', 'whitespace only (spaces, tabs, CRLF)', describeOutcome(blank.outcome));
      assert.equal(api.loggedErrors.length, errorsBefore, api.loggedErrors.slice(errorsBefore).join('\n'));
    });

    test('1 MB of text is refused before tokenizing, naming the setting', async () => {
      const { outcome } = await analyseAll('word '.repeat(210_000));
      assert.equal(outcome.kind, 'refused');
      assert.match(outcome.kind === 'refused' ? outcome.message : '', /attentionExplorer\.maxSelectionCharacters|Max Selection Characters/);
      record('Bad input', '1 MB selection', describeOutcome(outcome));
    });

    test('exactly 512 tokens are analysed whole; 513 are truncated to 512, and said so', async () => {
      const exact = await analyseAll(Array.from({ length: 510 }, () => 'good').join(' '));
      assert.equal(exact.outcome.kind, 'analysed');
      assert.equal(exact.outcome.tokens.length, 512);
      assert.equal(exact.outcome.truncated, false);
      record('Bad input', 'exactly 512 tokens', describeOutcome(exact.outcome));
      const over = await analyseAll(Array.from({ length: 511 }, () => 'good').join(' '));
      assert.equal(over.outcome.kind, 'analysed');
      assert.equal(over.outcome.tokens.length, 512);
      assert.equal(over.outcome.truncated, true);
      record('Bad input', '513 tokens', describeOutcome(over.outcome));
    });

    for (const { name, text, tokens } of TEXT_CASES) {
      test(`${name}: analysed, every token tied to the characters it came from, no error logged`, async () => {
        const { api } = await activateExtension();
        const errorsBefore = api.loggedErrors.length;
        const { outcome } = await analyseAll(text);
        assert.equal(outcome.kind, 'analysed', JSON.stringify(outcome));
        assertTokensMapToText(outcome, text);
        tokens?.(outcome.tokens);
        assert.equal(api.loggedErrors.length, errorsBefore, api.loggedErrors.slice(errorsBefore).join('\n'));
        record('Bad input', name, `${describeOutcome(outcome)}; token offsets map back to the text`);
      });
    }

    test('a selection spanning CRLF lines maps its tokens to the right characters', async () => {
      const text = 'First line is fine.\r\nSecond line is great!\r\nThird.';
      const { outcome } = await analyseAll(text);
      assert.equal(outcome.kind, 'analysed');
      assertTokensMapToText(outcome, text);
      record('Bad input', 'a selection spanning CRLF lines', `${describeOutcome(outcome)}; offsets exact across \\r\\n`);
    });

    test('the document is closed while its analysis runs: the analysis finishes or is dropped, nothing breaks', async () => {
      const { api } = await activateExtension();
      const errorsBefore = api.loggedErrors.length;
      const editor = await openDocument('A document that is closed while the model reads it.');
      const document = editor.document;
      editor.selection = new vscode.Selection(document.positionAt(0), document.positionAt(document.getText().length));
      const running = vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
      await closeAllEditors();
      const outcome = await running;
      assert.ok(outcome.kind === 'analysed' || outcome.kind === 'cancelled', JSON.stringify(outcome));
      // The next analysis works.
      const next = await analyseAll('Still working afterwards.');
      assert.equal(next.outcome.kind, 'analysed');
      assert.equal(api.loggedErrors.length, errorsBefore, api.loggedErrors.slice(errorsBefore).join('\n'));
      record('Bad input', 'document closed while its analysis runs', `${describeOutcome(outcome)}; the next analysis works`);
    });
  });

  suite('faults', () => {
    test('offline with nothing downloaded: a message with the actions that fix it (retry, mirror, local folder)', async () => {
      const { api } = await activateExtension();
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-offline-'));
      try {
        await setSetting('localModelPath', undefined);
        await setSetting('model', 'attention-explorer/never-downloaded');
        await setSetting('offline', true);
        const { outcome } = await analyseAll('Offline and empty.');
        assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
        if (outcome.kind !== 'failed') return;
        assert.equal(outcome.code, 'model-unavailable');
        assert.ok(outcome.actions?.length && outcome.actions.length >= 3, JSON.stringify(outcome.actions));
        assert.doesNotMatch(outcome.message, /\n\s+at /, 'no stack trace');
        assert.ok(
          api.loggedErrors.every((line) => !/\n\s+at /.test(line)),
          'no stack trace in the log',
        );
        record('Faults', 'offline, nothing downloaded', describeOutcome(outcome));
      } finally {
        await setSetting('model', undefined);
        await useTestModel();
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    });

    test('a model folder missing its ONNX file names what is missing', async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-incomplete-'));
      try {
        for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
          fs.copyFileSync(path.join(testModelDir(), file), path.join(folder, file));
        await setSetting('localModelPath', folder);
        const { outcome } = await analyseAll('Where is the graph?');
        assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
        assert.match(outcome.kind === 'failed' ? outcome.message : '', /model\.onnx|onnx/);
        record('Faults', 'model folder without onnx/model.onnx', describeOutcome(outcome));
      } finally {
        await useTestModel();
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

    test('a corrupt ONNX file in a model folder is reported as such, and the extension keeps working', async () => {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-corrupt-'));
      try {
        fs.cpSync(testModelDir(), folder, { recursive: true });
        for (const file of fs.readdirSync(path.join(folder, 'onnx'))) fs.rmSync(path.join(folder, 'onnx', file));
        const bytes = fs.readFileSync(path.join(testModelDir(), 'onnx', 'model.onnx'));
        fs.writeFileSync(path.join(folder, 'onnx', 'model.onnx'), bytes.subarray(0, Math.floor(bytes.length / 3)));
        await setSetting('localModelPath', folder);
        const { outcome } = await analyseAll('Broken graph.');
        assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
        assert.equal(outcome.kind === 'failed' ? outcome.code : '', 'invalid-model');
        record('Faults', 'truncated ONNX file in a model folder', describeOutcome(outcome));
        await useTestModel();
        const next = await analyseAll('Back to a good model.');
        assert.equal(next.outcome.kind, 'analysed');
      } finally {
        await useTestModel();
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });
  });

  suite('load', () => {
    test('100 Analyze Selection commands in a burst: the last one wins, the others are cancelled, one worker, one model', async function () {
      this.timeout(120_000);
      const { api } = await activateExtension();
      const burst = await openDocument(Array.from({ length: 100 }, (_, index) => `Line ${index} of a burst, rather good.`).join('\n'));
      await analyseAll('Warm the model up first.');
      const editor = await vscode.window.showTextDocument(burst.document, vscode.ViewColumn.One);
      const startsBefore = api.workerStarts;
      const { sessionsLoaded: sessionsBefore } = await api.diagnostics();
      const runs: Array<Thenable<AnalyzeOutcome>> = [];
      for (let line = 0; line < 100; line += 1) {
        const range = editor.document.lineAt(line).range;
        editor.selection = new vscode.Selection(range.start, range.end);
        runs.push(vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection'));
      }
      const outcomes = await Promise.all(runs);
      const last = outcomes[99]!;
      assert.equal(last.kind, 'analysed', JSON.stringify(last));
      const cancelled = outcomes.filter((outcome) => outcome.kind === 'cancelled').length;
      const analysed = outcomes.filter((outcome) => outcome.kind === 'analysed').length;
      assert.equal(
        cancelled + analysed,
        100,
        JSON.stringify(outcomes.filter((outcome) => outcome.kind !== 'cancelled' && outcome.kind !== 'analysed')),
      );
      assert.ok(cancelled >= 90, `${cancelled} cancelled`);
      assert.equal(api.workerStarts, startsBefore, 'no new worker thread');
      const diagnostics = await api.diagnostics();
      assert.equal(diagnostics.sessionsLoaded, sessionsBefore, 'no new model session');
      assert.equal(diagnostics.jobsRunning, 0, 'no job left running in the worker');
      assert.equal(diagnostics.pendingRequests, 0, 'no request (or its abort listener) left on the host');
      await waitFor(() => api.panelAnalysisId === last.analysisId, 'the panel to show the last analysis');
      record(
        'Load',
        '100 Analyze Selection commands in a burst',
        `the last one analysed and shown; ${cancelled} cancelled, ${analysed - 1} earlier ones finished first; no new worker thread or model session; no job or request left pending`,
      );
    });
  });

  suite('supply chain and privacy', () => {
    test('onnxruntime writes no telemetry files in the extension host (ORT_DISABLE_TELEMETRY is set by the extension)', async () => {
      await analyseAll('Nothing leaves this machine.');
      const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
      assert.equal(process.env.ORT_DISABLE_TELEMETRY, '1');
      assert.equal(fs.existsSync(path.join(cache, 'Microsoft', 'DeveloperTools', '.onnxruntime')), false);
      record(
        'Supply chain and privacy',
        'onnxruntime telemetry in the extension host',
        `ORT_DISABLE_TELEMETRY=1 set by the extension; nothing under ${path.join('$XDG_CACHE_HOME', 'Microsoft', 'DeveloperTools', '.onnxruntime')}`,
      );
    });
  });
});
