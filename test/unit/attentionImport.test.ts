/**
 * Attention documents imported into the real analysis worker (`dist/worker.js`): from a file it reads, from a file's
 * text, from a notebook output's parsed data. What the views get back is the document's weights, exactly; every
 * document that cannot be shown is refused with a message, and the requests that need a model refuse an analysis
 * that has none.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisWorkerClient } from '../../src/model/analysisWorker';
import { MAX_ATTENTION_TEXT_BYTES } from '../../src/model/attentionImport';
import { AnalysisError } from '../../src/shared/errors';
import { buildAttentionDocument, catSequence, encoderDecoderDocument, writeAttentionFile } from '../support/attentionDocuments';
import { repoRoot } from '../support/paths';
import { recordCase } from '../support/reliability';

const workerPath = path.join(repoRoot, 'dist', 'worker.js');
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const plain = { hideSpecial: false, mergeWords: false };
let client: AnalysisWorkerClient;
let folder: string;

beforeAll(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-import-'));
});

afterAll(() => {
  fs.rmSync(folder, { recursive: true, force: true });
});

afterEach(async () => {
  await client?.dispose();
});

/** One head's map `[rows, cols]` out of a document's weights. */
function headOf(weights: Float32Array, heads: number, n: number, layer: number, head: number): number[] {
  const size = n * n;
  return Array.from(weights.subarray((layer * heads + head) * size, (layer * heads + head + 1) * size));
}

async function refusal(promise: Promise<unknown>): Promise<AnalysisError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AnalysisError);
  expect((error as Error).message).not.toMatch(/\n\s+at /);
  return error as AnalysisError;
}

describe('importing attention documents in the real worker', () => {
  it('a float32 file: headMap, grid and aggregate return its weights exactly, and the analysis has no model', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const { document, weights } = buildAttentionDocument({
      model: 'bert-base-uncased',
      sequences: [catSequence()],
      attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: 3, heads: 4, dtype: 'float32' }],
      view: { tab: 'head', layer: 2, head: 1 },
    });
    const file = writeAttentionFile(folder, 'cat.attention.json', document);
    const imported = await client.request('importAttention', {
      analysisId: 'f32',
      attention: 'attention',
      source: { kind: 'file', path: file },
      documentName: 'cat.attention.json',
    });
    const { analysis } = imported;
    expect(analysis.prediction).toEqual({ task: 'none' });
    expect(analysis.model).toMatchObject({
      name: 'bert-base-uncased',
      family: 'external',
      task: 'none',
      layers: 3,
      heads: 4,
      causal: false,
    });
    expect(analysis.source).toEqual({
      documentName: 'cat.attention.json',
      documentUri: '',
      startLine: 0,
      startCharacter: 0,
      endLine: 0,
      endCharacter: 0,
    });
    expect(analysis.text).toBe('the cat sat');
    expect(analysis.tokens.map(({ text, start, end, special }) => [text, start, end, special])).toEqual([
      ['[CLS]', 0, 0, true],
      ['the', 0, 3, false],
      ['cat', 4, 7, false],
      ['sat', 8, 11, false],
      ['[SEP]', 0, 0, true],
    ]);
    expect(imported.view).toEqual({ tab: 'head', layer: 2, head: 1 });
    const data = weights.get('attention')!;
    const n = 5;
    for (let layer = 0; layer < 3; layer += 1) {
      for (let head = 0; head < 4; head += 1) {
        const { map, labels } = await client.request('headMap', { analysisId: 'f32', layer, head, options: plain });
        expect(labels).toEqual(['[CLS]', 'the', 'cat', 'sat', '[SEP]']);
        expect(Array.from(map)).toEqual(headOf(data, 4, n, layer, head));
      }
      // The max over heads is one of the stored weights, cell by cell.
      const max = await client.request('aggregate', { analysisId: 'f32', aggregate: 'max', layer, options: plain });
      const expected = Array.from({ length: n * n }, (_, cell) =>
        Math.max(...Array.from({ length: 4 }, (_, head) => data[(layer * 4 + head) * n * n + cell]!)),
      );
      expect(Array.from(max.map)).toEqual(expected);
      // The mean over heads: the head means the host keeps, and the aggregate, against a float64 mean.
      const mean = await client.request('aggregate', { analysisId: 'f32', aggregate: 'mean', layer, options: plain });
      for (let cell = 0; cell < n * n; cell += 1) {
        let sum = 0;
        for (let head = 0; head < 4; head += 1) sum += data[(layer * 4 + head) * n * n + cell]!;
        expect(Math.abs(mean.map[cell]! - sum / 4)).toBeLessThan(1e-7);
        expect(Math.abs(imported.headMeans[layer * n * n + cell]! - sum / 4)).toBeLessThan(1e-7);
      }
    }
    // A grid at full size pools nothing: every thumbnail is its head.
    const grid = await client.request('grid', { analysisId: 'f32', size: 8, options: plain });
    expect(grid.size).toBe(n);
    expect(grid.thumbnails).toEqual({ dtype: 'float32', values: data });
    // Special tokens hidden: the rows and columns of the three words.
    const hidden = await client.request('headMap', {
      analysisId: 'f32',
      layer: 1,
      head: 2,
      options: { hideSpecial: true, mergeWords: false },
    });
    const full = headOf(data, 4, n, 1, 2);
    expect(Array.from(hidden.map)).toEqual([1, 2, 3].flatMap((row) => [1, 2, 3].map((col) => full[row * n + col]!)));
  });

  it('a float16 document, as a notebook output (parsed data) and as a file read by the host (text): its weights exactly', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const { document, weights } = buildAttentionDocument({
      sequences: [{ name: 'tokens', tokens: ['Ġthe', 'Ġcat', 'Ġsat', '.'] }],
      attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: 2, heads: 2, dtype: 'float16', causal: true }],
    });
    const data = weights.get('attention')!;
    for (const [id, source] of [
      ['nb', { kind: 'document' as const, document }],
      ['txt', { kind: 'text' as const, text: JSON.stringify(document) }],
    ] as const) {
      const { analysis } = await client.request('importAttention', { analysisId: id, attention: 'attention', source, documentName: 'x' });
      expect(analysis.model).toMatchObject({ name: 'attention', dtype: 'fp16', causal: true, layers: 2, heads: 2 });
      for (let layer = 0; layer < 2; layer += 1) {
        for (let head = 0; head < 2; head += 1) {
          const { map } = await client.request('headMap', { analysisId: id, layer, head, options: plain });
          expect(Array.from(map)).toEqual(headOf(data, 2, 4, layer, head));
        }
      }
    }
    // Two external analyses of the same shape compare (no model is needed for that).
    const comparison = await client.request('compare', { analysisId: 'nb', otherId: 'txt', layer: 1, head: 1 });
    expect(Array.from(comparison.difference).every((value) => value === 0)).toBe(true);
  });

  it('an encoder-decoder document: each self-attention opens; cross-attention and unknown names are refused, naming what there is', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const { document, weights } = encoderDecoderDocument();
    const file = writeAttentionFile(folder, 't5.attention.json', document);
    const source = { kind: 'file' as const, path: file };
    const decoder = await client.request('importAttention', { analysisId: 'dec', attention: 'decoder', source, documentName: 't5' });
    expect(decoder.analysis.model).toMatchObject({ name: 't5-small (decoder)', causal: true, dtype: 'fp16' });
    expect(decoder.analysis.tokens.map((token) => token.special)).toEqual([true, false, false]);
    const { map } = await client.request('headMap', { analysisId: 'dec', layer: 1, head: 2, options: plain });
    expect(Array.from(map)).toEqual(headOf(weights.get('decoder')!, 3, 3, 1, 2));
    const cross = await refusal(client.request('importAttention', { analysisId: 'x', attention: 'cross', source, documentName: 't5' }));
    expect(cross.code).toBe('invalid-document');
    expect(cross.message).toBe(
      'Attention "cross" is cross-attention (the decoder tokens attending to the encoder tokens); the panel shows self-attention: open "encoder", "decoder".',
    );
    const unknown = await refusal(
      client.request('importAttention', { analysisId: 'x', attention: 'attention', source, documentName: 't5' }),
    );
    expect(unknown.message).toBe(
      'This attention document has no attention named "attention"; it has "encoder", "decoder", "cross" (open "encoder", "decoder").',
    );
    // A refused import leaves nothing behind under its id.
    await expect(client.request('headMap', { analysisId: 'x', layer: 0, head: 0, options: plain })).rejects.toMatchObject({
      code: 'attention-unavailable',
    });
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'opening the cross-attention, and an attention name the document does not have, of an encoder-decoder attention document',
      outcome: `refused: “${cross.message}” and “${unknown.message}”`,
    });
  });

  it('refuses a file too large, malformed documents, a NaN weight and missing files with messages; the worker keeps serving', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const importing = (name: string, source: Parameters<typeof client.request<'importAttention'>>[1]['source']) =>
      refusal(client.request('importAttention', { analysisId: name, attention: 'attention', source, documentName: name }));
    // Sparse: its size is on the file, not on the disk.
    const huge = path.join(folder, 'huge.attention.json');
    const descriptor = fs.openSync(huge, 'w');
    fs.ftruncateSync(descriptor, MAX_ATTENTION_TEXT_BYTES + 2 ** 20);
    fs.closeSync(descriptor);
    const tooLarge = await importing('huge', { kind: 'file', path: huge });
    expect(tooLarge.message).toBe(
      'The attention file huge.attention.json is 145.0 MiB; Attention Explorer reads attention documents up to 144.0 MiB (64 MiB of weights). Write it with fewer layers (include_layers=…) or fewer tokens.',
    );
    const notJson = await importing('notJson', {
      kind: 'file',
      path: writeAttentionFileText('broken.attention.json', '{"format": "attention-explorer.attention", '),
    });
    expect(notJson.message).toMatch(/^This attention file is not valid JSON: /);
    const latin1 = path.join(folder, 'latin1.attention.json');
    fs.writeFileSync(latin1, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]));
    const notUtf8 = await importing('latin1', { kind: 'file', path: latin1 });
    expect(notUtf8.message).toBe('The attention file latin1.attention.json is not UTF-8 text (an attention file is JSON).');
    const wrongFormat = await importing('wrong', { kind: 'document', document: { format: 'bertviz', version: 1 } });
    expect(wrongFormat.message).toBe('This is not an attention document: its "format" is "bertviz", not "attention-explorer.attention".');
    const { document } = buildAttentionDocument({
      sequences: [catSequence()],
      attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: 2, heads: 2, dtype: 'float32' }],
    });
    const shortData = await importing('short', {
      kind: 'document',
      document: { ...document, attentions: [{ ...(document.attentions as object[])[0], heads: 3 }] },
    });
    expect(shortData.message).toBe(
      'Attention "attention": its data is not float32 [2, 3, 5, 5]: expected 600 bytes of base64, found 536 characters.',
    );
    const withNaN = buildAttentionDocument({
      sequences: [catSequence()],
      attentions: [
        {
          name: 'attention',
          queries: 'tokens',
          keys: 'tokens',
          layers: 2,
          heads: 2,
          dtype: 'float32',
          poke: [[2 * 25 + 25 + 7, Number.NaN]],
        },
      ],
    });
    const nan = await importing('nan', { kind: 'text', text: JSON.stringify(withNaN.document) });
    expect(nan.message).toBe('Attention "attention", layer 2, head 2: a weight of NaN (weights are probabilities: finite and ≥ 0).');
    const missing = await importing('missing', { kind: 'file', path: path.join(folder, 'gone.attention.json') });
    expect(missing.message).toBe(`Could not read the attention file ${path.join(folder, 'gone.attention.json')}: it does not exist.`);
    const aFolder = await importing('folder', { kind: 'file', path: folder });
    expect(aFolder.message).toBe(`Could not read the attention file ${folder}: it is not a regular file.`);
    for (const error of [tooLarge, notJson, notUtf8, wrongFormat, shortData, nan, missing, aFolder])
      expect(error.code).toBe('invalid-document');
    // Still serving, the same thread.
    const ok = await client.request('importAttention', {
      analysisId: 'ok',
      attention: 'attention',
      source: { kind: 'document', document },
      documentName: 'ok',
    });
    expect(ok.analysis.tokens).toHaveLength(5);
    expect(client.starts).toBe(1);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'attention documents that cannot be shown: a 145 MiB file, invalid JSON, Latin-1 bytes, another format, data shorter than its shape, a NaN weight, a missing file, a folder',
      outcome: `each refused with a message (“${tooLarge.message}”, “${nan.message}”, “${missing.message.replace(folder, '…')}”, …); the worker thread kept serving`,
    });
  });

  it('the requests that need a model refuse an analysis that came from a document, at once', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const { document } = buildAttentionDocument({
      sequences: [catSequence()],
      attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: 2, heads: 2, dtype: 'float32' }],
    });
    await client.request('importAttention', {
      analysisId: 'ext',
      attention: 'attention',
      source: { kind: 'document', document },
      documentName: 'x',
    });
    const analysisId = 'ext';
    const refused = await Promise.all([
      refusal(client.request('neuron', { analysisId, layer: 0, head: 0, query: 1 })),
      refusal(client.request('headImportance', { analysisId })),
      refusal(client.request('attribution', { analysisId, mode: 'mask', unit: 'token' })),
      refusal(client.request('ablate', { analysisId, heads: [{ layer: 0, head: 0 }], keepOnly: false })),
      refusal(client.request('nextTokens', { analysisId, temperature: 0 })),
      refusal(client.request('generate', { analysisId, restart: true, temperature: 0, seed: 0 })),
    ]);
    for (const error of refused) {
      expect(error).toMatchObject({
        code: 'invalid-request',
        message: 'These maps came from a file or a notebook: there is no model here to run.',
      });
    }
    const diagnostics = await client.request('diagnostics', {});
    expect(diagnostics).toMatchObject({ sessionsLoaded: 0, heavyJobs: { started: 0 } });
    // What needs no model works: statistics, and compare with an analysis of the same shape.
    expect((await client.request('headStats', { analysisId })).heads).toHaveLength(4);
    const other = buildAttentionDocument({
      seed: 3,
      sequences: [catSequence()],
      attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: 3, heads: 2, dtype: 'float32' }],
    });
    await client.request('importAttention', {
      analysisId: 'ext3',
      attention: 'attention',
      source: { kind: 'document', document: other.document },
      documentName: 'y',
    });
    const shapes = await refusal(client.request('compare', { analysisId, otherId: 'ext3', layer: 0, head: 0 }));
    expect(shapes.message).toMatch(/^The two analyses come from models of different shapes/);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'neuron view, head importance, attribution, ablation, next tokens and generation asked of attention that came from a document',
      outcome: `each refused at once with “${refused[0].message}”; no model session was loaded and no heavy job started`,
    });
  });
});

function writeAttentionFileText(name: string, text: string): string {
  const file = path.join(folder, name);
  fs.writeFileSync(file, text);
  return file;
}
