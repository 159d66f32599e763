/** Crash-safe file replacement: readers see the old or the new file, never half of one. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Atomically replaces `path` with `data` (mode `mode`, default 0600): write a temp file, fsync, rename,
 * fsync the directory. With `exclusive`, an existing `path` is left alone instead (hard link in place of
 * the rename, which fails if the name exists): returns false then, so "create once" needs no lock.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, exclusive = false) {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (!exclusive) renameSync(tmp, path);
    else {
      try {
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    }
  } finally {
    rmSync(tmp, { force: true });
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
  return true;
}
