/**
 * Writes an analysis's whole attention tensor to a file, streaming (at 512 tokens it is 19 million numbers):
 * JSON `{ tokens, layers, heads, attentions: [layers][heads][n][n] }`, or CSV with one row per pair
 * `layer,head,from_index,from_token,to_index,to_token,weight` (layers and heads counted from 1, tokens from 0).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { AnalysisError, messageOf } from '../shared/errors';
import type { HeldAttention } from '../shared/attentionViews';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
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
  return new AnalysisError('invalid-request', `Could not write the attention tensor to ${file}: ${reason}.`);
}

/**
 * Streams the chunks into `file`. A regular file (or a new one) is written under a temporary name and renamed into
 * place, so a failure (a full disk halfway through) leaves the old file as it was and no partial one; anything else
 * the user picked (a device, a pipe) is written directly. Every failure becomes a message: an unhandled stream error
 * would take the worker, and every tensor it holds, down with it.
 */
async function writeAll(file: string, chunks: Iterable<string>): Promise<number> {
  const existing = await fs.promises.stat(file).catch(() => undefined);
  const direct = existing !== undefined && !existing.isFile();
  const written = direct ? file : `${file}.tmp-${randomBytes(8).toString('hex')}`;
  let bytes = 0;
  try {
    const handle = await fs.promises.open(written, direct ? 'w' : 'wx', 0o644);
    try {
      for (const chunk of chunks) {
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

function* jsonChunks(analysis: HeldAttention): Generator<string> {
  const { n, heads } = analysis;
  const tokens = analysis.tokens.map(({ id, text, start, end, special }) => ({ id, text, start, end, special }));
  yield `{"tokens":${JSON.stringify(tokens)},"layers":${analysis.layers.length},"heads":${heads},"attentions":[`;
  for (const [layer, data] of analysis.layers.entries()) {
    yield layer ? ',[' : '[';
    for (let head = 0; head < heads; head += 1) {
      const rows: string[] = [];
      for (let row = 0; row < n; row += 1) {
        const offset = (head * n + row) * n;
        rows.push(JSON.stringify(Array.from(data.subarray(offset, offset + n))));
      }
      yield `${head ? ',' : ''}[${rows.join(',')}]`;
    }
    yield ']';
  }
  yield ']}\n';
}

function* csvChunks(analysis: HeldAttention): Generator<string> {
  const { n, heads } = analysis;
  const labels = analysis.tokens.map((token) => csvField(token.text));
  yield 'layer,head,from_index,from_token,to_index,to_token,weight\n';
  for (const [layer, data] of analysis.layers.entries()) {
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

/** Returns the number of bytes written. */
export function exportTensor(analysis: HeldAttention, format: 'json' | 'csv', file: string): Promise<number> {
  return writeAll(file, format === 'json' ? jsonChunks(analysis) : csvChunks(analysis));
}
