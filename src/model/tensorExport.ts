/**
 * Writes an analysis's whole attention tensor to a file, streaming (at 512 tokens it is 19 million numbers): JSON as
 * a version-1 attention document (docs/ATTENTION_FORMAT.md: the header, the weights as base64 of little-endian
 * float32 written layer by layer, the footer), which the `.attention.json` editor and the notebook renderer open; or
 * CSV with one row per pair `layer,head,from_index,from_token,to_index,to_token,weight` (layers and heads counted
 * from 1, tokens from 0).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { ATTENTION_FORMAT, ATTENTION_FORMAT_VERSION, MAX_ATTENTION_BYTES, type AttentionDocument } from '../shared/attentionFile';
import { AnalysisError, messageOf } from '../shared/errors';
import type { DisplayOptions } from '../shared/analysis';
import { labelledMap } from '../shared/attentionViews';
import { csvField, mapCsvPieces, mapJsonPieces } from '../shared/mapExport';
import type { WorkerAnalysis } from './heldAnalysis';
import { eachLayer } from './layerMaps';

/** What an attention document says besides the tensor, which only the host knows (its record of the analysis). */
export interface TensorDocumentInfo {
  /** The model's name (a label). */
  model: string;
  /** The analysed text: the tokens' offsets point into it. */
  text: string;
  /** A decoder's self-attention. */
  causal: boolean;
  /** What a viewer shows first. */
  view?: AttentionDocument['view'];
}

const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EISDIR: 'it is a folder',
};

function writeFailure(file: string, error: unknown): AnalysisError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && WRITE_FAILURES[code]) ?? messageOf(error);
  return new AnalysisError('invalid-request', `Could not write the attention to ${file}: ${reason}.`);
}

/**
 * Streams the chunks into `file`. A regular file (or a new one) is written under a temporary name and renamed into
 * place, so a failure (a full disk halfway through) leaves the old file as it was and no partial one; anything else
 * the user picked (a device, a pipe) is written directly. Every failure becomes a message: an unhandled stream error
 * would take the worker, and every tensor it holds, down with it.
 */
async function writeAll(file: string, chunks: Iterable<string> | AsyncIterable<string>): Promise<number> {
  const existing = await fs.promises.stat(file).catch(() => undefined);
  const direct = existing !== undefined && !existing.isFile();
  const written = direct ? file : `${file}.tmp-${randomBytes(8).toString('hex')}`;
  let bytes = 0;
  try {
    const handle = await fs.promises.open(written, direct ? 'w' : 'wx', 0o644);
    try {
      for await (const chunk of chunks) {
        const data = Buffer.from(chunk, 'utf8');
        bytes += data.byteLength;
        await handle.write(data);
      }
    } finally {
      await handle.close();
    }
    if (!direct) await fs.promises.rename(written, file);
  } catch (error) {
    if (!direct) await fs.promises.rm(written, { force: true });
    throw writeFailure(file, error);
  }
  return bytes;
}

/** Bytes per base64 chunk: a multiple of 3, so that chunks join into one base64 string with no padding between. */
const BASE64_CHUNK_BYTES = 3 * 64 * 1024;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of float32 values, little-endian (a view of the same memory on a little-endian machine). */
function littleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((value, index) => view.setFloat32(index * 4, value, true));
  return out;
}

/**
 * Standard base64 of the concatenated parts, in chunks: each chunk encodes a multiple of 3 bytes, and the 1 or 2
 * bytes left at the end of a part are carried into the next, so the chunks joined are the base64 of the whole.
 */
export async function* base64Chunks(
  parts: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  chunkBytes = BASE64_CHUNK_BYTES,
): AsyncGenerator<string> {
  if (chunkBytes <= 0 || chunkBytes % 3 !== 0) throw new RangeError('base64 chunks must be a positive multiple of 3 bytes');
  let carry: Uint8Array = new Uint8Array(0);
  for await (const part of parts) {
    let offset = 0;
    if (carry.length > 0) {
      const taken = Math.min(3 - carry.length, part.length);
      const joined = new Uint8Array(carry.length + taken);
      joined.set(carry);
      joined.set(part.subarray(0, taken), carry.length);
      offset = taken;
      if (joined.length < 3) {
        carry = joined;
        continue;
      }
      yield Buffer.from(joined).toString('base64');
    }
    const whole = offset + Math.floor((part.length - offset) / 3) * 3;
    for (let start = offset; start < whole; start += chunkBytes) {
      const end = Math.min(whole, start + chunkBytes);
      yield Buffer.from(part.buffer, part.byteOffset + start, end - start).toString('base64');
    }
    carry = part.slice(whole);
  }
  if (carry.length > 0) yield Buffer.from(carry).toString('base64');
}

/** Whether every token's offsets lie inside the text (the format's reader refuses a document where one does not). */
function offsetsFit(analysis: WorkerAnalysis, text: string): boolean {
  return analysis.tokens.every((token) => token.start <= token.end && token.end <= text.length);
}

/** Refuses a tensor that an attention document cannot hold (its readers stop at {@link MAX_ATTENTION_BYTES}). */
function checkDocumentSize(analysis: WorkerAnalysis): void {
  const layers = analysis.maps.layerCount;
  const bytes = layers * analysis.heads * analysis.n * analysis.n * 4;
  if (bytes > MAX_ATTENTION_BYTES) {
    throw new AnalysisError(
      'invalid-request',
      `An attention file holds at most ${MAX_ATTENTION_BYTES / 2 ** 20} MiB of weights; this analysis has ${(bytes / 2 ** 20).toFixed(1)} MiB (${layers} layers × ${analysis.heads} heads × ${analysis.n} tokens). Export it as CSV, or analyse a shorter selection.`,
    );
  }
}

async function* jsonChunks(analysis: WorkerAnalysis, info: TensorDocumentInfo | undefined): AsyncGenerator<string> {
  const { n, heads, tokens } = analysis;
  const text = info?.text;
  const sequence = {
    name: 'tokens',
    tokens: tokens.map((token) => token.text),
    special: tokens.map((token) => token.special),
    ...(text !== undefined ? { text } : {}),
    ...(text !== undefined && offsetsFit(analysis, text) ? { offsets: tokens.map((token) => [token.start, token.end]) } : {}),
    sentenceBStart: null,
  };
  const attention = {
    name: 'attention',
    queries: 'tokens',
    keys: 'tokens',
    layers: analysis.maps.layerCount,
    heads,
    layerIndices: null,
    causal: info?.causal ?? false,
    dtype: 'float32',
  };
  const header = {
    format: ATTENTION_FORMAT,
    version: ATTENTION_FORMAT_VERSION,
    model: info?.model.slice(0, 256) ?? null,
    sequences: [sequence],
  };
  // The header up to the opening quote of the data, then the base64, then the closing quote and the footer.
  const headerJson = JSON.stringify(header);
  const attentionJson = JSON.stringify(attention);
  yield `${headerJson.slice(0, -1)},"attentions":[${attentionJson.slice(0, -1)},"data":"`;
  const size = heads * n * n;
  yield* base64Chunks(layerBytes(analysis, size));
  yield `"}],"view":${JSON.stringify(info?.view ?? {})}}\n`;
}

/** Each layer's bytes in turn, computed (when on demand) only as the file is written. */
async function* layerBytes(analysis: WorkerAnalysis, size: number): AsyncGenerator<Uint8Array> {
  for await (const [, layer] of eachLayer(analysis.maps)) yield littleEndianBytes(layer.subarray(0, size));
}

async function* csvChunks(analysis: WorkerAnalysis): AsyncGenerator<string> {
  const { n, heads } = analysis;
  const labels = analysis.tokens.map((token) => csvField(token.text));
  yield 'layer,head,from_index,from_token,to_index,to_token,weight\n';
  for await (const [layer, data] of eachLayer(analysis.maps)) {
    for (let head = 0; head < heads; head += 1) {
      const lines: string[] = [];
      for (let row = 0; row < n; row += 1) {
        for (let col = 0; col < n; col += 1) {
          lines.push(`${layer + 1},${head + 1},${row},${labels[row]},${col},${labels[col]},${data[(head * n + row) * n + col]}`);
        }
      }
      yield `${lines.join('\n')}\n`;
    }
  }
}

/** Returns the number of bytes written; `info` is what a JSON document says besides the tensor. */
export async function exportTensor(
  analysis: WorkerAnalysis,
  format: 'json' | 'csv',
  file: string,
  info?: TensorDocumentInfo,
): Promise<number> {
  if (format === 'csv') return writeAll(file, csvChunks(analysis));
  checkDocumentSize(analysis);
  return writeAll(file, jsonChunks(analysis, info));
}

/** One head's map as the panel shows it (the view's display options), and what its JSON says besides the numbers. */
export interface HeadMapExport {
  layer: number;
  head: number;
  options: DisplayOptions;
  /** The panel's caption of the map. */
  caption: string;
  model: string;
}

/**
 * Writes one head's map to `file`, streaming: the CSV matrix or JSON object the panel writes for a short input
 * (`src/shared/mapExport.ts`), computed once in the worker and written a few rows at a time.
 */
export async function exportHeadMap(analysis: WorkerAnalysis, format: 'json' | 'csv', file: string, what: HeadMapExport): Promise<number> {
  const { layer, head, options } = what;
  const { labels, map } = labelledMap(analysis.tokens, analysis.n, await analysis.maps.head(layer, head), options, analysis.maps.onDemand);
  return writeAll(
    file,
    format === 'csv'
      ? mapCsvPieces(labels, map)
      : mapJsonPieces(labels, map, what.caption, { model: what.model, layer: layer + 1, head: head + 1, options }),
  );
}
