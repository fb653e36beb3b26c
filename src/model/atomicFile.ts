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

/** A lock older than this is a leftover (it is held for the milliseconds of one read-merge-write). */
const STALE_LOCK_MS = 10_000;
const LOCK_POLL_MS = 25;

interface LockOwner {
  pid: number;
}

function ownerAlive(owner: LockOwner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's text if it is a leftover (its process gone, or older than {@link STALE_LOCK_MS}); undefined otherwise. */
function staleLock(lock: string): string | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(lock, 'utf8');
    mtimeMs = fs.statSync(lock).mtimeMs;
  } catch {
    return undefined; // gone meanwhile: the next attempt takes it
  }
  let owner: LockOwner | undefined;
  try {
    owner = JSON.parse(text) as LockOwner;
  } catch {
    owner = undefined; // being written, or damaged: only its age tells
  }
  const dead = owner !== undefined && !ownerAlive(owner);
  return dead || Date.now() - mtimeMs > STALE_LOCK_MS ? text : undefined;
}

/**
 * Runs `update` while holding `lock`, a file created exclusively (another window of VS Code, another process, updating
 * the same file waits for it). A lock whose process is gone, or older than {@link STALE_LOCK_MS}, is broken.
 */
export async function withFileLock<T>(lock: string, update: () => T): Promise<T> {
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    let descriptor: number;
    try {
      descriptor = fs.openSync(lock, 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const stale = staleLock(lock);
      // Broken only if it is still the lock judged stale (another process may have broken it and taken a new one).
      if (stale !== undefined && staleLock(lock) === stale) fs.rmSync(lock, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      continue;
    }
    try {
      try {
        fs.writeFileSync(descriptor, JSON.stringify({ pid: process.pid } satisfies LockOwner));
      } finally {
        fs.closeSync(descriptor);
      }
      return update();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}
