import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisWorkerClient } from '../../src/model/analysisWorker';
import { Analyzer } from '../../src/model/analyzer';
import { AnalysisError } from '../../src/shared/errors';
import type { ModelRequest } from '../../src/model/modelSource';
import type { Worker } from 'node:worker_threads';
import { repoRoot } from '../support/paths';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';
import { allLayers } from '../../src/model/layerMaps';
import { gridOfMessage } from '../../src/shared/analysisViews';
import { gridOf } from '../../src/shared/attentionViews';
import { toBfloat16 } from '../../src/shared/bfloat16';
import { analysisBytes, DEFAULT_TENSOR_BUDGET_BYTES, maxTokensWithin } from '../../src/model/memoryBudget';

const workerPath = path.join(repoRoot, 'dist', 'worker.js');
const messages: string[] = [];
const log = { info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m), error: (m: string) => messages.push(m) };
let client: AnalysisWorkerClient | undefined;
let request: ModelRequest;

beforeAll(() => {
  request = {
    source: { kind: 'folder', folder: ensureTestModel('tiny') },
    dtype: 'fp32',
    offline: true,
    storageDir: fs.mkdtempSync(path.join(os.tmpdir(), 'attn-storage-')),
  };
});

afterEach(async () => {
  await client?.dispose();
  client = undefined;
});

describe('AnalysisWorkerClient with the real worker bundle', () => {
  it('refuses an input whose attention exceeds the tensor budget, saying how many tokens fit; a shorter one runs', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    // The tiny model: 2 layers × 4 heads of width 8, maps on demand.
    const cost = { layers: 2, heads: 4, headDim: 8, onDemand: true, mapOutputs: 2 };
    const budget = analysisBytes(cost, 8);
    client.setTensorBudget(budget);
    const long = 'one two three four five six seven eight nine ten eleven twelve';
    const error = await client.request('analyze', { analysisId: 'big', request, text: long }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AnalysisError);
    expect(error).toMatchObject({ code: 'over-budget' });
    expect((error as Error).message).toMatch(
      /^Analysing 14 tokens with .* \(2 layers × 4 heads\) needs about \d+ KiB for its attention; the analysis worker's budget is \d+ KiB \(setting attentionExplorer\.memory\.tensorBudgetMB\)\. Select at most 8 tokens, or use a smaller model, or raise the budget\.$/,
    );
    expect(maxTokensWithin(cost, budget, 14)).toBe(8);
    expect(analysisBytes(cost, 9)).toBeGreaterThan(budget);
    const short = await client.request('analyze', { analysisId: 'small', request, text: 'one two three four five six' });
    expect(short.tokens).toHaveLength(8);
    // The budget set before the worker started reaches it, and a change reaches the running worker.
    client.setTensorBudget(DEFAULT_TENSOR_BUDGET_BYTES);
    expect((await client.request('analyze', { analysisId: 'big', request, text: long })).tokens).toHaveLength(14);
    recordCase({
      layer: 'unit',
      area: 'Load',
      case: 'an input whose attention exceeds the worker tensor budget (a small budget)',
      outcome: `refused before the model ran: "${(error as Error).message}"; a shorter input then ran`,
    });
  });

  it('analyses in a worker thread; the tensor stays there and single heads come back on request', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    expect(client.isRunning).toBe(false);
    const text = 'This product is terrible, I want a refund.';
    const result = await client.request('analyze', { analysisId: 'a1', request, text });
    expect(client.isRunning).toBe(true);
    expect(result.tokens.map((token) => token.id)).toEqual([101, 2023, 4031, 2003, 6659, 1010, 1045, 2215, 1037, 25416, 8630, 1012, 102]);
    expect(result.tokens[4]).toMatchObject({ text: 'terrible', start: 16, end: 24 });
    expect('attentions' in result).toBe(false);
    expect(result.headMeans!).toBeInstanceOf(Float32Array);
    expect(result.headMeans!.length).toBe(2 * 13 * 13);
    if (result.prediction.task !== 'text-classification') throw new Error('expected a text classification');
    expect(result.prediction.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    // Every head the worker hands out is the model's, and the heads average to the head means.
    const { attention } = await new Analyzer().analyze(request, text);
    const attentions = await allLayers(attention);
    const sums = new Float64Array(13 * 13);
    for (let head = 0; head < 4; head += 1) {
      const { map } = await client.request('headMap', {
        analysisId: 'a1',
        layer: 1,
        head,
        options: { hideSpecial: false, mergeWords: false },
      });
      expect(Array.from(map)).toEqual(Array.from(attentions[1]!.subarray(head * 169, (head + 1) * 169)));
      map.forEach((value: number, index: number) => (sums[index] = sums[index]! + value / 4));
    }
    sums.forEach((value, index) => expect(Math.abs(value - result.headMeans![169 + index]!)).toBeLessThan(1e-6));
    await expect(
      client.request('headMap', { analysisId: 'unknown', layer: 0, head: 0, options: { hideSpecial: false, mergeWords: false } }),
    ).rejects.toMatchObject({ code: 'attention-unavailable' });
    const grid = await client.request('grid', { analysisId: 'a1', size: 64, options: { hideSpecial: true, mergeWords: true } });
    expect(grid.labels).toEqual(['this', 'product', 'is', 'terrible', ',', 'i', 'want', 'a', 'refund', '.']);
    // As large as the maps: the maps themselves, as float32 (the grid's hover reads them as the model's weights).
    if (grid.thumbnails.dtype !== 'float32') throw new Error(`unpooled thumbnails travelled as ${grid.thumbnails.dtype}`);
    expect(grid.thumbnails.values.length).toBe(2 * 4 * 10 * 10);
    // A grid a layer at a time (long inputs): the same thumbnails as the whole grid's, layer by layer.
    const second = await client.request('grid', {
      analysisId: 'a1',
      size: 64,
      options: { hideSpecial: true, mergeWords: true },
      layers: { first: 1, count: 1 },
    });
    expect(Array.from(gridOfMessage(second).thumbnails)).toEqual(Array.from(grid.thumbnails.values.subarray(4 * 10 * 10)));
    await expect(
      client.request('grid', {
        analysisId: 'a1',
        size: 64,
        options: { hideSpecial: true, mergeWords: true },
        layers: { first: 1, count: 2 },
      }),
    ).rejects.toMatchObject({ code: 'invalid-request' });
    // Thumbnails smaller than the map are pooled where the maps are computed: the same maxima the page pools, sent as
    // bfloat16 (only drawn).
    for (const options of [
      { hideSpecial: false, mergeWords: false },
      { hideSpecial: true, mergeWords: false },
    ]) {
      const pooled = await client.request('grid', { analysisId: 'a1', size: 5, options });
      const onPage = gridOf({ tokens: result.tokens, layers: attentions, heads: 4, n: 13, modelKey: 'page' }, 5, options);
      expect(pooled.size).toBe(5);
      if (pooled.thumbnails.dtype !== 'bfloat16') throw new Error(`pooled thumbnails travelled as ${pooled.thumbnails.dtype}`);
      expect(Array.from(pooled.thumbnails.bits)).toEqual(Array.from(toBfloat16(onPage.thumbnails)));
    }
  });

  it('cancels a job when its signal aborts, and the next job still runs', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const abort = new AbortController();
    const first = client.request('analyze', { analysisId: 'a1', request, text: 'first' }, { signal: abort.signal });
    abort.abort();
    await expect(first).rejects.toMatchObject({ code: 'cancelled' });
    const second = await client.request('analyze', { analysisId: 'a2', request, text: 'second' });
    expect(second.tokens.map((token) => token.text)).toEqual(['[CLS]', 'second', '[SEP]']);
  });

  it('reports a bad model folder as an error with a code, and keeps serving', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const error = await client
      .request('analyze', {
        analysisId: 'a1',
        request: { ...request, source: { kind: 'folder', folder: '/nonexistent/model' } },
        text: 'x',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisError);
    expect(error).toMatchObject({ code: 'invalid-model', message: expect.stringContaining('/nonexistent/model is missing config.json') });
    const result = await client.request('analyze', { analysisId: 'a2', request, text: 'ok' });
    expect(result.tokens).toHaveLength(3);
  });

  it('refuses work after dispose, and dispose ends the worker thread', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    await client.request('analyze', { analysisId: 'a1', request, text: 'x' });
    const thread = (client as unknown as { worker: Worker }).worker;
    const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
    const pending = client.request('analyze', { analysisId: 'a2', request, text: 'pending at shutdown' }).catch((error: unknown) => error);
    await client.dispose();
    expect(await pending).toMatchObject({ code: 'cancelled' });
    await exited;
    expect(client.isRunning).toBe(false);
    await expect(client.request('analyze', { analysisId: 'a3', request, text: 'x' })).rejects.toMatchObject({ code: 'cancelled' });
    recordCase({
      layer: 'unit',
      area: 'Load',
      case: 'shutdown (deactivate) with an analysis in flight',
      outcome: 'the pending request fails as cancelled, the worker thread exits, later requests are refused',
    });
  });

  it('a tensor export to a folder that cannot be written fails with a message; the worker and its tensors stay', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    await client.request('analyze', { analysisId: 'kept', request, text: 'the tensor must survive a failed export' });
    const missing = path.join(os.tmpdir(), `attn-no-such-folder-${process.pid}`, 'attention.json');
    const readOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-readonly-'));
    fs.chmodSync(readOnly, 0o500);
    const concurrent = client.request('analyze', { analysisId: 'alongside', request, text: 'a job running alongside' });
    const failures = await Promise.all(
      [missing, path.join(readOnly, 'attention.csv'), '/dev/full'].map((file) =>
        client!
          .request('writeTensor', { analysisId: 'kept', format: file.endsWith('.csv') ? 'csv' : 'json', path: file })
          .catch((e: unknown) => e),
      ),
    );
    fs.chmodSync(readOnly, 0o700);
    const running = process.getuid?.() === 0; // root writes into a read-only folder anyway
    for (const [index, failure] of failures.entries()) {
      if (index === 1 && running) continue;
      expect(failure).toBeInstanceOf(AnalysisError);
      expect(failure).toMatchObject({
        code: 'invalid-request',
        message: expect.stringMatching(/^Could not write the attention to /),
      });
      expect((failure as Error).message).not.toMatch(/\n\s+at /);
    }
    expect(fs.existsSync(path.dirname(missing))).toBe(false);
    expect((await concurrent).tokens.length).toBeGreaterThan(3);
    expect(client.starts).toBe(1);
    // The tensor is still there: the export works once the target is writable.
    const target = path.join(readOnly, 'ok.json');
    const { bytes } = await client.request('writeTensor', { analysisId: 'kept', format: 'json', path: target });
    expect(fs.statSync(target).size).toBe(bytes);
    fs.rmSync(readOnly, { recursive: true, force: true });
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'exporting the whole tensor to a missing folder, a read-only folder, a full disk (/dev/full), with a job running alongside',
      outcome: `each fails with “${(failures[0] as Error).message.replace(missing, '…/attention.json')}”; the concurrent job completes, the worker is not restarted, the tensor exports afterwards`,
    });
  });

  it("one head's map streams to disk as the same CSV matrix and JSON the panel builds, with the view's options", async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    await client.request('analyze', { analysisId: 'one', request, text: 'a head exported to disk, row by row, unbelievably' });
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-head-'));
    try {
      for (const options of [
        { hideSpecial: false, mergeWords: false },
        { hideSpecial: true, mergeWords: true },
      ]) {
        const shown = await client.request('headMap', { analysisId: 'one', layer: 1, head: 2, options });
        const csv = path.join(folder, 'head.csv');
        const json = path.join(folder, 'head.json');
        const map = { layer: 1, head: 2, options, caption: 'Layer 2, head 3', model: 'tiny' };
        const written = await client.request('writeHeadMap', { analysisId: 'one', format: 'csv', path: csv, map });
        await client.request('writeHeadMap', { analysisId: 'one', format: 'json', path: json, map });
        const m = shown.labels.length;
        const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n');
        expect(written.bytes).toBe(fs.statSync(csv).size);
        expect(lines).toHaveLength(m + 1);
        for (let row = 0; row < m; row += 1) {
          const cells = lines[row + 1]!.split(',').slice(-m).map(Number);
          expect(cells).toEqual(Array.from(shown.map.subarray(row * m, (row + 1) * m)));
        }
        const document = JSON.parse(fs.readFileSync(json, 'utf8')) as { labels: string[]; map: number[][]; head: number; options: unknown };
        expect(document.labels).toEqual(shown.labels);
        expect(document.map.flat()).toEqual(Array.from(shown.map));
        expect(document).toMatchObject({ head: 3, options, caption: 'Layer 2, head 3', model: 'tiny' });
      }
      await expect(
        client.request('writeHeadMap', {
          analysisId: 'one',
          format: 'csv',
          path: path.join(folder, 'h.csv'),
          map: { layer: 9, head: 0, options: { hideSpecial: false, mergeWords: false }, caption: '', model: '' },
        }),
      ).rejects.toMatchObject({ code: 'invalid-request' });
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('a burst of 100 heavy requests runs one job; distinct ones queue one at a time; a cancelled job stops', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const text = Array.from({ length: 120 }, (_, index) => `word${index % 7}`).join(' ');
    const { tokens } = await client.request('analyze', { analysisId: 'long', request, text });
    const before = await client.request('diagnostics', {});
    let mostRunning = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { heavyJobs } = await client.request('diagnostics', {});
        mostRunning = Math.max(mostRunning, heavyJobs.running);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const progress: Array<{ done: number; total: number; occluded?: Array<{ indices: number[]; delta: number }> }> = [];
    const burst = Array.from({ length: 100 }, (_, index) =>
      client!.request(
        'attribution',
        { analysisId: 'long', mode: 'mask', unit: 'token' },
        index === 0 ? { onProgress: (update) => progress.push(update) } : {},
      ),
    );
    const results = await Promise.all(burst);
    const after = await client.request('diagnostics', {});
    expect(after.heavyJobs.started - before.heavyJobs.started).toBe(1);
    for (const result of results) expect(Array.from(result.occlusion)).toEqual(Array.from(results[0]!.occlusion));
    const rows = tokens.filter((token) => !token.special).length + 1;
    expect(progress.at(-1)).toMatchObject({ done: rows, total: rows });
    // The units came with the progress, as the result has them.
    const streamed = progress.flatMap((update) => update.occluded ?? []);
    expect(streamed.map((unit) => unit.delta)).toEqual(results[0]!.units.map((unit) => unit.delta));

    // Distinct requests: one runs, the others wait their turn; beyond the queue's bound they are refused.
    const distinct = Array.from({ length: 20 }, (_, index) =>
      client!
        .request('ablate', { analysisId: 'long', heads: [{ layer: index % 2, head: Math.floor(index / 2) % 4 }], keepOnly: index >= 8 })
        .then(
          () => 'done',
          (error: unknown) => (error as AnalysisError).code,
        ),
    );
    const outcomes = await Promise.all(distinct);
    expect(outcomes.filter((outcome) => outcome === 'done').length).toBeGreaterThanOrEqual(17);
    expect(outcomes.filter((outcome) => outcome !== 'done').every((outcome) => outcome === 'invalid-request')).toBe(true);

    // Cancelled after its first progress report: the job stops between forward passes.
    const abort = new AbortController();
    const cancelled = client.request(
      'attribution',
      { analysisId: 'long', mode: 'remove', unit: 'token' },
      { signal: abort.signal, onProgress: () => abort.abort() },
    );
    await expect(cancelled).rejects.toMatchObject({ code: 'cancelled' });
    let idle = await client.request('diagnostics', {});
    for (let tries = 0; idle.heavyJobs.running > 0 && tries < 200; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      idle = await client.request('diagnostics', {});
    }
    sampling = false;
    await sampler;
    expect(idle.heavyJobs).toMatchObject({ running: 0, queued: 0 });
    expect(mostRunning).toBe(1);
    expect(client.starts).toBe(1);
    recordCase({
      layer: 'unit',
      area: 'Load',
      case: `100 identical occlusion requests at once, 20 distinct ablations, a cancelled occlusion (${tokens.length} tokens, real worker)`,
      outcome: `one occlusion job ran for the 100 (each got its own copy, progress ${rows}/${rows} rows); at most ${mostRunning} heavy job ran at any time; ${outcomes.filter((outcome) => outcome !== 'done').length} ablations beyond the queue's bound refused with a message; the cancelled job stopped and the queue emptied`,
    });
  });

  it('a worker that crashes mid-job fails that job cleanly and is restarted for the next one', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    await client.request('analyze', { analysisId: 'warm', request, text: 'warm up' });
    expect(client.starts).toBe(1);
    // Long enough (about 500 tokens) that the thread is still at it when it goes.
    const job = client.request('analyze', { analysisId: 'doomed', request, text: 'the worker dies during this one '.repeat(80) });
    // What a native crash looks like from the host: the thread exits without answering.
    void (client as unknown as { worker: Worker }).worker.terminate();
    const error = await job.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AnalysisError);
    expect(error).toMatchObject({ code: 'worker-crashed', message: expect.stringContaining('will restart on the next request') });
    const next = await client.request('analyze', { analysisId: 'after', request, text: 'after the crash' });
    expect(next.tokens.map((token) => token.text)).toEqual(['[CLS]', 'after', 'the', 'crash', '[SEP]']);
    expect(client.starts).toBe(2);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: 'the analysis worker thread dies mid-analysis',
      outcome: `the request fails with “${(error as Error).message}”; the next request starts a new worker and succeeds`,
    });
  });
});
