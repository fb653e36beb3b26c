/**
 * Writes an analysis's whole attention tensor to a file, streaming (at 512 tokens it is 19 million numbers):
 * JSON `{ tokens, layers, heads, attentions: [layers][heads][n][n] }`, or CSV with one row per pair
 * `layer,head,from_index,from_token,to_index,to_token,weight` (layers and heads counted from 1, tokens from 0).
 */
import * as fs from 'node:fs';
import type { HeldAttention } from './attentionViews';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

async function writeAll(file: string, chunks: Iterable<string>): Promise<number> {
  const stream = fs.createWriteStream(file, { encoding: 'utf8' });
  let bytes = 0;
  try {
    for (const chunk of chunks) {
      bytes += Buffer.byteLength(chunk);
      if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    }
  } finally {
    await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
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
