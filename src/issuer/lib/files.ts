/**
 * Crash-safe file helpers for the data dir. The CLI and the server share it, so every write is
 * write-temp → fsync → rename (readers see the old or the new file, never half of one), and
 * read-modify-write sequences take a small O_EXCL lock file.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { IssuerError } from '../errors.js';

/** Creates `dir` (and parents) with mode 0700, tightening the mode if it already exists. Only for dirs SIGIL owns. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by umask and ignored for existing dirs: set it explicitly.
  chmodSync(dir, 0o700);
}

/**
 * Creates `dir` with mode 0700 when missing but leaves an existing one alone: the data dir may be a
 * directory the user already had (`--data .`), whose mode is theirs to decide.
 */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Atomically replaces `path` with `data` (mode `mode`, default 0600). */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  // Make the rename itself durable.
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}

const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `fn` while holding `<path>` as an exclusive lock file (O_EXCL create). A lock older than
 * 10 s is treated as left behind by a crashed process and removed. Synchronous on purpose: the
 * critical sections are a few small file operations.
 */
export function withFileLock<T>(path: string, fn: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(path).mtimeMs > LOCK_STALE_MS) {
          unlinkSync(path);
          continue;
        }
      } catch {
        continue; // lock vanished between open and stat: retry at once
      }
      if (Date.now() > deadline) throw new IssuerError('ISSUER_STORE_BUSY', `lock ${path} held too long`);
      sleepSync(10);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(path, { force: true });
  }
}
