/**
 * Files the extension writes into folders it does not own (a model folder, the shared model cache): written whole or
 * not at all, never through a link someone left there.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Temporary files older than this beside a cache entry are leftovers of a crash, and are removed. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;

/**
 * Writes `file` through a temporary file opened exclusively under a random name (a model folder may ship a symlink
 * under any predictable name; `wx` never follows or reuses one), renamed into place; the temporary file is removed
 * when anything fails (a full disk, a folder in the way), and stale ones of earlier crashes are swept.
 */
export function writeAtomically(file: string, data: Uint8Array | string): void {
  const temporary = prepareTemporary(file);
  const descriptor = fs.openSync(temporary, 'wx', 0o644);
  try {
    try {
      fs.writeFileSync(descriptor, data);
    } finally {
      fs.closeSync(descriptor);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Streams `chunks` into `file` the same way: an exclusive temporary file, renamed into place once whole and accepted by
 * `check` (which throws to refuse it); the temporary file is removed when anything fails, the stream included.
 */
export async function writeStreamAtomically(file: string, chunks: AsyncIterable<Uint8Array>, check: () => void): Promise<void> {
  const temporary = prepareTemporary(file);
  const handle = await fs.promises.open(temporary, 'wx', 0o644);
  try {
    try {
      for await (const chunk of chunks) {
        for (let offset = 0; offset < chunk.byteLength;) {
          offset += (await handle.write(chunk, offset)).bytesWritten;
        }
      }
    } finally {
      await handle.close();
    }
    check();
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** A random temporary name beside `file`, its folder made and stale temporaries of earlier crashes swept. */
function prepareTemporary(file: string): string {
  const folder = path.dirname(file);
  fs.mkdirSync(folder, { recursive: true });
  sweepStaleTemporaries(folder, path.basename(file));
  return `${file}.tmp-${randomBytes(8).toString('hex')}`;
}

function sweepStaleTemporaries(folder: string, base: string): void {
  try {
    for (const name of fs.readdirSync(folder)) {
      if (!name.startsWith(`${base}.tmp-`)) continue;
      const entry = path.join(folder, name);
      const stat = fs.lstatSync(entry);
      if (stat.isFile() && Date.now() - stat.mtimeMs > STALE_TEMPORARY_MS) fs.rmSync(entry, { force: true });
    }
  } catch {
    // A folder that cannot be listed is written to (or not) all the same.
  }
}
