/**
 * The JSON tensor export is an attention document (docs/ATTENTION_FORMAT.md): written by the real worker from the
 * tensor it holds, read back with the format's own reader, weight for weight; its tokens point into the analysed text;
 * it opens in the worker again. The base64 stream is cut at multiples of 3 bytes, and a tensor no reader would take is
 * refused before anything is written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisWorkerClient } from '../../src/model/analysisWorker';
import type { ModelRequest } from '../../src/model/modelSource';
import { base64Chunks, exportTensor } from '../../src/model/tensorExport';
import { MAX_ATTENTION_BYTES, parseAttentionDocument } from '../../src/shared/attentionFile';
import type { HeldAttention } from '../../src/shared/attentionViews';
import { storedAnalysis } from '../../src/model/heldAnalysis';

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}
import { AnalysisError } from '../../src/shared/errors';
import { buildAttentionDocument, catSequence, writeAttentionFile } from '../support/attentionDocuments';
import { repoRoot } from '../support/paths';
import { recordCase } from '../support/reliability';
import { ensureTestModel } from '../support/testModels';

const workerPath = path.join(repoRoot, 'dist', 'worker.js');
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
const plain = { hideSpecial: false, mergeWords: false };
const TEXT = 'This product is térrible,  I want a refund!';
let client: AnalysisWorkerClient;
let request: ModelRequest;
let folder: string;

beforeAll(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-tensor-export-'));
  request = { source: { kind: 'folder', folder: ensureTestModel('tiny') }, dtype: 'fp32', offline: true, storageDir: folder };
});

afterAll(() => {
  fs.rmSync(folder, { recursive: true, force: true });
});

afterEach(async () => {
  await client?.dispose();
});

/** Every head the worker holds for an analysis, layer-major: `[layers][heads * n * n]`. */
async function heldTensor(analysisId: string, layers: number, heads: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let layer = 0; layer < layers; layer += 1) {
    const maps: number[] = [];
    for (let head = 0; head < heads; head += 1) {
      maps.push(...(await client.request('headMap', { analysisId, layer, head, options: plain })).map);
    }
    out.push(maps);
  }
  return out;
}

describe('the JSON tensor export', () => {
  it('reads back with parseAttentionDocument: every weight is the held tensor exactly, with the model, causal flag and view', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const result = await client.request('analyze', { analysisId: 'a', request, text: TEXT });
    const { layers, heads } = result.model;
    const file = path.join(folder, 'review.attention.json');
    const view = { tab: 'head' as const, layer: 1, head: 2 };
    const { bytes } = await client.request('writeTensor', {
      analysisId: 'a',
      format: 'json',
      path: file,
      document: { model: result.model.name, text: TEXT, causal: result.model.causal, view },
    });
    expect(fs.statSync(file).size).toBe(bytes);
    const document = parseAttentionDocument(fs.readFileSync(file, 'utf8'));
    expect(document.model).toBe(result.model.name);
    expect(document.view).toEqual(view);
    expect(document.attentions).toHaveLength(1);
    const [maps] = document.attentions;
    expect(maps).toMatchObject({ name: 'attention', layers, heads, causal: false, dtype: 'float32', rows: result.tokens.length });
    expect(maps!.layerIndices).toEqual([0, 1]);
    const held = await heldTensor('a', layers, heads);
    let compared = 0;
    for (let layer = 0; layer < layers; layer += 1) {
      expect(Array.from(maps!.data[layer]!)).toEqual(held[layer]);
      compared += held[layer]!.length;
    }
    expect(compared).toBe(layers * heads * result.tokens.length ** 2);
    // A decoder's flag travels too (the flag is the host's word: the tensor alone does not say).
    await client.request('writeTensor', {
      analysisId: 'a',
      format: 'json',
      path: file,
      document: { model: 'm', text: TEXT, causal: true },
    });
    expect(parseAttentionDocument(fs.readFileSync(file, 'utf8')).attentions[0]!.causal).toBe(true);
    recordCase({
      layer: 'unit',
      area: 'Faults',
      case: `the JSON tensor export of a ${result.tokens.length}-token analysis, read back with the attention format's reader`,
      outcome: `a version-1 attention document of ${bytes} bytes; all ${compared} weights equal the worker's tensor exactly`,
    });
  });

  it('writes the tokens with their offsets into the analysed text, and the file opens in the worker again with the same weights', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const result = await client.request('analyze', { analysisId: 'a', request, text: TEXT });
    const file = path.join(folder, 'offsets.attention.json');
    await client.request('writeTensor', {
      analysisId: 'a',
      format: 'json',
      path: file,
      document: { model: result.model.name, text: TEXT, causal: false },
    });
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      sequences: Array<{ name: string; tokens: string[]; special: boolean[]; text: string; offsets: Array<[number, number]> }>;
    };
    const [sequence] = raw.sequences;
    expect(sequence!.name).toBe('tokens');
    expect(sequence!.text).toBe(TEXT);
    expect(sequence!.tokens).toEqual(result.tokens.map((token) => token.text));
    expect(sequence!.special).toEqual(result.tokens.map((token) => token.special));
    expect(sequence!.offsets).toEqual(result.tokens.map((token) => [token.start, token.end]));
    // Each word piece covers the characters it was read from (BERT lowercases and strips accents).
    const normalise = (text: string) =>
      text
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '')
        .toLowerCase();
    for (const [index, token] of sequence!.tokens.entries()) {
      const [start, end] = sequence!.offsets[index]!;
      if (sequence!.special[index]) expect([start, end]).toEqual([0, 0]);
      else expect(normalise(TEXT.slice(start, end))).toBe(token.replace(/^##/, ''));
    }
    expect(sequence!.tokens).toContain('terrible');
    // The reader gives the same tokens back, and the worker shows the file as the analysis it came from.
    const read = parseAttentionDocument(fs.readFileSync(file, 'utf8'));
    expect(read.sequences[0]!.tokens.map(({ text, start, end, special }) => ({ text, start, end, special }))).toEqual(
      result.tokens.map(({ text, start, end, special }) => ({ text, start, end, special })),
    );
    const imported = await client.request('importAttention', {
      analysisId: 'back',
      attention: 'attention',
      source: { kind: 'file', path: file },
      documentName: 'offsets.attention.json',
    });
    expect(imported.analysis.text).toBe(TEXT);
    expect(await heldTensor('back', 2, 4)).toEqual(await heldTensor('a', 2, 4));
    expect(Array.from(imported.headMeans).every((value, index) => Math.abs(value - result.headMeans![index]!) < 1e-6)).toBe(true);
  });

  it('exports an imported float16 analysis as float32 with the same weights', async () => {
    client = new AnalysisWorkerClient(workerPath, log);
    const { document, weights } = buildAttentionDocument({
      model: 'gpt2',
      sequences: [{ ...catSequence(), tokens: ['<|endoftext|>', 'the', 'Ġcat', 'Ġsat', '<|endoftext|>'] }],
      attentions: [{ name: 'attention', queries: 'tokens', keys: 'tokens', layers: 2, heads: 3, dtype: 'float16', causal: true }],
    });
    const source = writeAttentionFile(folder, 'half.attention.json', document);
    const { analysis } = await client.request('importAttention', {
      analysisId: 'half',
      attention: 'attention',
      source: { kind: 'file', path: source },
      documentName: 'half.attention.json',
    });
    const file = path.join(folder, 'again.attention.json');
    await client.request('writeTensor', {
      analysisId: 'half',
      format: 'json',
      path: file,
      document: { model: analysis.model.name, text: analysis.text, causal: analysis.model.causal },
    });
    const again = parseAttentionDocument(fs.readFileSync(file, 'utf8'));
    expect(again.attentions[0]).toMatchObject({ dtype: 'float32', causal: true, layers: 2, heads: 3 });
    expect(again.attentions[0]!.data.flatMap((layer) => Array.from(layer))).toEqual(Array.from(weights.get('attention')!));
    expect(again.sequences[0]!.tokens.map((token) => [token.start, token.end])).toEqual(
      analysis.tokens.map((token) => [token.start, token.end]),
    );
  });

  it('cuts the base64 at multiples of 3 bytes and carries the rest: the chunks join into the base64 of the whole', async () => {
    let seed = 1;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let trial = 0; trial < 200; trial += 1) {
      const parts = Array.from({ length: 1 + Math.floor(next() * 6) }, () =>
        Uint8Array.from({ length: Math.floor(next() * 11) }, () => Math.floor(next() * 256)),
      );
      const chunkBytes = 3 * (1 + Math.floor(next() * 3));
      const chunks = await collect(base64Chunks(parts, chunkBytes));
      expect(chunks.join('')).toBe(Buffer.concat(parts).toString('base64'));
      for (const chunk of chunks.slice(0, -1)) {
        expect(chunk.length % 4).toBe(0);
        expect(chunk).not.toContain('=');
      }
    }
    await expect(collect(base64Chunks([], 4))).rejects.toThrow(RangeError);
  });

  it('refuses a tensor above the format’s limit before writing anything, naming its size and the CSV export', async () => {
    const n = 4100;
    const big: HeldAttention = {
      tokens: Array.from({ length: n }, (_, id) => ({ id, text: 'a', start: 0, end: 0, special: false })),
      layers: [new Float32Array(n * n)],
      heads: 1,
      n,
      modelKey: 'test',
    };
    expect(n * n * 4).toBeGreaterThan(MAX_ATTENTION_BYTES);
    const file = path.join(folder, 'big.attention.json');
    const error = await exportTensor(storedAnalysis(big), 'json', file, { model: 'm', text: '', causal: false }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AnalysisError);
    expect((error as Error).message).toBe(
      'An attention file holds at most 64 MiB of weights; this analysis has 64.1 MiB (1 layers × 1 heads × 4100 tokens). Export it as CSV, or analyse a shorter selection.',
    );
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(folder).some((name) => name.startsWith('big.attention.json'))).toBe(false);
    recordCase({
      layer: 'unit',
      area: 'Bad input',
      case: 'exporting as JSON a tensor larger than an attention file holds (64.1 MiB of weights)',
      outcome: `refused before writing: “${(error as Error).message}”`,
    });
  });
});
