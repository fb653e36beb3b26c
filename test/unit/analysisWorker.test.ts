import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AnalysisWorkerClient } from '../../src/model/analysisWorker';
import { AnalysisError } from '../../src/model/errors';
import { repoRoot, sharedTokenizerDir } from '../support/paths';

const workerPath = path.join(repoRoot, 'dist', 'worker.js');
const source = { kind: 'folder', folder: sharedTokenizerDir } as const;
const messages: string[] = [];
const log = { info: (m: string) => messages.push(m), warn: (m: string) => messages.push(m), error: (m: string) => messages.push(m) };
let client: AnalysisWorkerClient | undefined;

afterEach(async () => {
  await client?.dispose();
  client = undefined;
});

describe('AnalysisWorkerClient with the real worker bundle', () => {
  it('tokenizes in a worker thread, with offsets', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    expect(client.isRunning).toBe(false);
    const result = await client.run({ kind: 'tokenize', source, text: 'This product is terrible, I want a refund.' });
    expect(client.isRunning).toBe(true);
    expect(result.tokens.map((token) => token.id)).toEqual([101, 2023, 4031, 2003, 6659, 1010, 1045, 2215, 1037, 25416, 8630, 1012, 102]);
    expect(result.tokens[4]).toMatchObject({ text: 'terrible', start: 16, end: 24 });
    expect(result.tokenizeMs).toBeGreaterThan(0);
  });

  it('cancels a job when its signal aborts, and the next job still runs', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const abort = new AbortController();
    const first = client.run({ kind: 'tokenize', source, text: 'first' }, abort.signal);
    abort.abort();
    await expect(first).rejects.toMatchObject({ code: 'cancelled' });
    const second = await client.run({ kind: 'tokenize', source, text: 'second' });
    expect(second.tokens.map((token) => token.text)).toEqual(['[CLS]', 'second', '[SEP]']);
  });

  it('reports a bad model folder as an error with a code, not a crash', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const error = await client.run({ kind: 'tokenize', source: { kind: 'folder', folder: '/nonexistent/model' }, text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisError);
    expect(error).toMatchObject({ code: 'invalid-model' });
    // The worker survives and serves the next request.
    const result = await client.run({ kind: 'tokenize', source, text: 'ok' });
    expect(result.tokens).toHaveLength(3);
  });

  it('refuses work after dispose', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    await client.dispose();
    await expect(client.run({ kind: 'tokenize', source, text: 'x' })).rejects.toMatchObject({ code: 'cancelled' });
  });
});
