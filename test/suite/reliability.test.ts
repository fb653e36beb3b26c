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
import { openSourceDocument } from '../../src/analysis/sourceDocument';
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

    test('Markdown in error text stays text in the status bar tooltip', async () => {
      const { api } = await activateExtension();
      const folder = path.join(os.tmpdir(), `attn-[Update now](https://attacker.example)-${process.pid}`);
      fs.mkdirSync(folder, { recursive: true });
      try {
        await setSetting('localModelPath', folder);
        const { outcome } = await analyseAll('A folder name with a link in it.');
        assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
        await waitFor(() => api.statusBarTooltip.includes('attacker'), 'the tooltip to show the error');
        const tooltip = api.statusBarTooltip;
        // path.join folds the URL's double slash; the name is a Markdown link either way.
        assert.ok(!/\[Update now\]\(https:/.test(tooltip), tooltip);
        assert.match(tooltip, /\\\[Update(&nbsp;| )now\\\]\\\(https:/);
        record(
          'Bad input',
          'a model folder named “[Update now](https://attacker.example)” (Markdown in the error text)',
          'the status bar tooltip shows the name as text (escaped), no link',
        );
      } finally {
        await useTestModel();
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });

    test('a stored analysis whose document URI has another scheme is not opened through that scheme', async () => {
      const touched: string[] = [];
      const emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
      const provider: vscode.FileSystemProvider = {
        onDidChangeFile: emitter.event,
        watch: () => new vscode.Disposable(() => undefined),
        stat: (uri) => {
          touched.push(`stat ${uri.toString()}`);
          return { type: vscode.FileType.File, ctime: 0, mtime: 0, size: 4 };
        },
        readFile: (uri) => {
          touched.push(`read ${uri.toString()}`);
          return new TextEncoder().encode('text');
        },
        readDirectory: () => [],
        createDirectory: () => undefined,
        writeFile: () => undefined,
        delete: () => undefined,
        rename: () => undefined,
      };
      const registration = vscode.workspace.registerFileSystemProvider('attn-elsewhere', provider, { isReadonly: true });
      try {
        const error = await openSourceDocument('attn-elsewhere:/planted.txt').catch((caught: unknown) => caught);
        assert.ok(error instanceof Error && /is not open; open it and analyse again/.test(error.message), String(error));
        assert.deepEqual(touched, [], 'the scheme’s provider was never asked');
        const editor = await openDocument('An open document is found as it is.');
        assert.equal(await openSourceDocument(editor.document.uri.toString()), editor.document);
        record(
          'Webview hardening',
          'a stored analysis naming a document under another extension’s scheme (attn-elsewhere:/planted.txt)',
          `not opened: “${error.message}”; that scheme’s file-system provider was never called; open and file: documents open as before`,
        );
      } finally {
        registration.dispose();
        emitter.dispose();
      }
    });

    test('maxSelectionCharacters above its maximum is clamped to 1,000,000', async () => {
      await setSetting('maxSelectionCharacters', 50_000_000);
      try {
        const { outcome } = await analyseAll('word '.repeat(210_001));
        assert.equal(outcome.kind, 'refused', JSON.stringify(outcome).slice(0, 300));
        assert.match(outcome.kind === 'refused' ? outcome.message : '', /at most 1,000,000/);
        record(
          'Bad input',
          'maxSelectionCharacters set to 50,000,000 (above the declared maximum), a 1 MB selection',
          describeOutcome(outcome),
        );
      } finally {
        await setSetting('maxSelectionCharacters', undefined);
      }
    });

    test("a trusted workspace's settings cannot point the model elsewhere: model, hub and folder are machine settings", async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      assert.ok(folder, 'the suite runs in a workspace folder');
      const settingsFile = path.join(folder, '.vscode', 'settings.json');
      assert.equal(fs.existsSync(settingsFile), false, 'the fixture workspace has no settings of its own');
      const planted = path.join(os.tmpdir(), `attn-planted-model-${process.pid}`);
      fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
      try {
        // What a repository could ship in .vscode/settings.json, with a window setting that shows when it was read.
        fs.writeFileSync(
          settingsFile,
          JSON.stringify({
            'attentionExplorer.localModelPath': planted,
            'attentionExplorer.model': 'attacker/model',
            'attentionExplorer.hubUrl': 'https://hub.attacker.example',
            'attentionExplorer.liveMode.delay': 777,
          }),
        );
        await waitFor(
          () => vscode.workspace.getConfiguration('attentionExplorer').inspect('liveMode.delay')?.workspaceValue === 777,
          'VS Code to read the workspace settings',
          15_000,
        );
        const config = vscode.workspace.getConfiguration('attentionExplorer');
        assert.equal(config.get('localModelPath'), testModelDir());
        assert.notEqual(config.get('model'), 'attacker/model');
        assert.notEqual(config.get('hubUrl'), 'https://hub.attacker.example');
        const { outcome } = await analyseAll('The workspace tried to choose the model.');
        assert.equal(outcome.kind, 'analysed', JSON.stringify(outcome));
        record(
          'Bad input',
          "a trusted workspace's .vscode/settings.json naming another model folder, model id and hub",
          `ignored (the three settings are machine-scoped); ${describeOutcome(outcome)} with the user's model`,
        );
      } finally {
        fs.rmSync(path.dirname(settingsFile), { recursive: true, force: true });
        await waitFor(
          () => vscode.workspace.getConfiguration('attentionExplorer').inspect('liveMode.delay')?.workspaceValue === undefined,
          'VS Code to drop the workspace settings',
          15_000,
        );
      }
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

  suite('load from the panel', () => {
    test('100 heavy requests from the panel in a burst: one job runs at a time, identical ones share it, the RSS stays bounded', async function () {
      this.timeout(120_000);
      const { api } = await activateExtension();
      const text = Array.from({ length: 60 }, (_, index) => `Sentence ${index} was rather good.`).join(' ');
      const { outcome } = await analyseAll(text);
      assert.equal(outcome.kind, 'analysed', JSON.stringify(outcome));
      const analysisId = outcome.kind === 'analysed' ? outcome.analysisId : '';
      const tokens = outcome.kind === 'analysed' ? outcome.tokens.length : 0;
      await waitFor(() => api.panelAnalysisId === analysisId, 'the panel to show the analysis');
      const before = await api.diagnostics();
      let peakRss = before.rssBytes;
      let mostRunning = 0;
      let mostQueued = 0;
      const sample = async () => {
        const now = await api.diagnostics();
        peakRss = Math.max(peakRss, now.rssBytes);
        mostRunning = Math.max(mostRunning, now.heavyJobs.running);
        mostQueued = Math.max(mostQueued, now.heavyJobs.queued);
        return now;
      };
      const settled = async (what: string) => {
        const deadline = Date.now() + 60_000;
        for (;;) {
          const now = await sample();
          // Every forwarded request answered (the host's pending count), nothing running or waiting in the worker.
          if (now.pendingRequests === 0 && now.heavyJobs.running === 0 && now.heavyJobs.queued === 0 && now.jobsRunning === 0) return now;
          if (Date.now() > deadline) assert.fail(`${what}: jobs still running ${JSON.stringify(now)}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      let id = 1_000_000;
      // 100 identical occlusions, as a page clicking Compute attribution 100 times would send them.
      for (let index = 0; index < 100; index += 1) {
        assert.ok(
          api.receiveAsPanel({ type: 'request', id: id++, method: 'attribution', params: { analysisId, mode: 'mask', unit: 'token' } }),
        );
      }
      const afterIdentical = await settled('identical burst');
      const identicalJobs = afterIdentical.heavyJobs.started - before.heavyJobs.started;
      assert.equal(identicalJobs, 1, 'one occlusion job for 100 identical requests');
      // 100 distinct ablations: one runs, a bounded number wait, the rest are refused.
      for (let index = 0; index < 100; index += 1) {
        const heads = [
          { layer: index % 2, head: index % 4 },
          { layer: (index >> 1) % 2, head: (index >> 3) % 4 },
        ];
        assert.ok(
          api.receiveAsPanel({ type: 'request', id: id++, method: 'ablate', params: { analysisId, heads, keepOnly: index % 3 === 0 } }),
        );
      }
      const afterDistinct = await settled('distinct burst');
      const distinctJobs = afterDistinct.heavyJobs.started - afterIdentical.heavyJobs.started;
      assert.ok(distinctJobs <= 17 + 8, `${distinctJobs} ablation jobs started`);
      // 100 occlusions by removal, each cancelled by the page right away: none is left running.
      for (let index = 0; index < 100; index += 1) {
        const requestId = id++;
        api.receiveAsPanel({
          type: 'request',
          id: requestId,
          method: 'attribution',
          params: { analysisId, mode: 'remove', unit: index % 2 ? 'word' : 'token' },
        });
        api.receiveAsPanel({ type: 'cancel', id: requestId });
      }
      const after = await settled('cancelled burst');
      assert.equal(mostRunning, 1, 'never more than one heavy job at a time');
      assert.ok(mostQueued <= 16, `${mostQueued} queued`);
      assert.equal(after.pendingRequests, 0, 'no request left pending on the host');
      const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
      assert.ok(peakRss - before.rssBytes < 512 * 2 ** 20, `RSS grew by ${megabytes(peakRss - before.rssBytes)}`);
      record(
        'Load',
        `300 heavy requests from the panel (${tokens} tokens, tiny test model): 100 identical occlusions, 100 distinct ablations, 100 occlusions cancelled at once`,
        `${identicalJobs} occlusion job for the 100; ${distinctJobs} ablation jobs (at most ${mostQueued} waiting, the rest refused with a message); at most ${mostRunning} heavy job at any time; extension-host RSS ${megabytes(before.rssBytes)} before, ${megabytes(peakRss)} at peak, ${megabytes(after.rssBytes)} after; nothing left running or pending`,
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
