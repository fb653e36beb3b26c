/**
 * The memory soak, run inside the real extension host by `npm run bench` (not by `npm test`): the full-size random
 * model, 500 analyses of varied lengths through the Analyze Selection command, the extension host's resident memory
 * (its process holds the analysis worker thread too) sampled along the way, and the peak during a 512-token analysis.
 * Results go to the JSON file named by ATTN_SOAK_OUT.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { AnalyzeOutcome } from '../../src/analysis/analysisController';
import { activateExtension, closeAllEditors, openDocument, useTestModel } from './helpers';

const ANALYSES = Number(process.env.ATTN_SOAK_ANALYSES ?? 500);
/** After this many analyses every cache has reached its budget (the worker keeps 384 MB of tensors: about 130 analyses of this mix): the baseline. */
const WARM_UP = 200;
const WORDS = ['the', 'film', 'was', 'surprisingly', 'good', ',', 'but', 'its', 'ending', 'felt', 'rushed', 'and', 'unearned', '.'];

export interface SoakResult {
  analyses: number;
  lengths: { min: number; max: number; mean: number };
  rssMiB: { afterLoad: number; afterWarmUp: number; atEnd: number; samples: Array<[number, number]> };
  peak512MiB: number;
  before512MiB: number;
  durationSeconds: number;
}

const mib = (bytes: number) => bytes / 1024 / 1024;

suite('Soak (benchmark)', () => {
  suiteSetup(async () => {
    await activateExtension();
    await useTestModel();
  });

  test(`${ANALYSES} analyses of varied lengths, then one of 512 tokens`, async function () {
    this.timeout(30 * 60_000);
    // Lengths from 8 to 300 tokens in a fixed pseudo-random order: one document, one line per analysis.
    let state = 7;
    const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const lines = Array.from({ length: ANALYSES }, () => {
      const words = 6 + Math.floor(next() ** 2 * 290);
      return Array.from({ length: words }, (_, index) => WORDS[(index * 7 + Math.floor(next() * WORDS.length)) % WORDS.length]).join(' ');
    });
    const long = Array.from({ length: 600 }, (_, index) => WORDS[index % WORDS.length]).join(' ');
    const editor = await openDocument(`${lines.join('\n')}\n${long}\n`);
    const analyse = async (line: number): Promise<number> => {
      const range = editor.document.lineAt(line).range;
      editor.selection = new vscode.Selection(range.start, range.end);
      const outcome = await vscode.commands.executeCommand<AnalyzeOutcome>('attentionExplorer.analyzeSelection');
      assert.equal(outcome.kind, 'analysed', JSON.stringify(outcome));
      return outcome.kind === 'analysed' ? outcome.tokens.length : 0;
    };
    const started = Date.now();
    await analyse(0);
    const afterLoad = mib(process.memoryUsage().rss);
    const samples: Array<[number, number]> = [];
    const lengths: number[] = [];
    let afterWarmUp = afterLoad;
    for (let index = 0; index < ANALYSES; index += 1) {
      lengths.push(await analyse(index));
      if ((index + 1) % 25 === 0) {
        // Let the collector run, as an idle extension host would, so the samples show what is kept.
        await new Promise((resolve) => setTimeout(resolve, 50));
        samples.push([index + 1, mib(process.memoryUsage().rss)]);
      }
      if (index + 1 === WARM_UP) afterWarmUp = mib(process.memoryUsage().rss);
    }
    const atEnd = mib(process.memoryUsage().rss);
    const before512 = mib(process.memoryUsage().rss);
    let peak = before512;
    const sampler = setInterval(() => (peak = Math.max(peak, mib(process.memoryUsage().rss))), 5);
    const n = await analyse(ANALYSES);
    clearInterval(sampler);
    peak = Math.max(peak, mib(process.memoryUsage().rss));
    assert.equal(n, 512);
    const result: SoakResult = {
      analyses: ANALYSES,
      lengths: { min: Math.min(...lengths), max: Math.max(...lengths), mean: lengths.reduce((a, b) => a + b, 0) / lengths.length },
      rssMiB: { afterLoad, afterWarmUp, atEnd, samples },
      peak512MiB: peak,
      before512MiB: before512,
      durationSeconds: (Date.now() - started) / 1000,
    };
    const out = process.env.ATTN_SOAK_OUT;
    if (out) fs.writeFileSync(out, JSON.stringify(result, null, 2));
    await closeAllEditors();
  });
});
