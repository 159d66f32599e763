/**
 * The data dir's directories and locks. The CLI and the server share the data dir, so read-modify-write
 * sequences take a lock directory (proper-lockfile); writes go through src/lib/atomic-write.ts.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { lock, lockSync } from 'proper-lockfile';
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

/** A lock whose mtime is older than this is taken over (its holder crashed); holders refresh it every 5 s. */
const LOCK_STALE_MS = 10_000;
/** Async waits: about 5 s in all, backing off from 10 ms to 100 ms between attempts. */
const LOCK_RETRIES = { retries: 50, minTimeout: 10, maxTimeout: 100 };

function lockOptions(lockDir: string) {
  return {
    lockfilePath: lockDir,
    // The locked file itself may not exist yet (a first revocation): lock by name.
    realpath: false,
    stale: LOCK_STALE_MS,
    // Critical sections are a few small file operations, far below the stale time, so a lock can only
    // be "compromised" by a process stalled for over 10 s. proper-lockfile's default would throw from a
    // timer (crashing the process); the write itself is an atomic rename and cannot tear.
    onCompromised: () => {},
  };
}

function busy(lockDir: string, e: unknown): unknown {
  return (e as NodeJS.ErrnoException).code === 'ELOCKED'
    ? new IssuerError('ISSUER_STORE_BUSY', `lock ${lockDir} is held by another writer`, e)
    : e;
}

/**
 * Runs `fn` while holding the lock directory `lockDir` (proper-lockfile: atomic mkdir, mtime kept
 * fresh while held, taken over once older than 10 s). Waits without blocking the event loop for
 * about 5 s, then fails with ISSUER_STORE_BUSY.
 */
export async function withFileLock<T>(lockDir: string, fn: () => T | Promise<T>): Promise<T> {
  let unlock: () => Promise<void>;
  try {
    unlock = await lock(lockDir, { ...lockOptions(lockDir), retries: LOCK_RETRIES });
  } catch (e) {
    throw busy(lockDir, e);
  }
  try {
    return await fn();
  } finally {
    // Already released means a stale takeover happened (see onCompromised): nothing left to undo.
    await unlock().catch(() => {});
  }
}

/**
 * {@link withFileLock} for synchronous callers (minting and revoking through the issuer service,
 * whose gRPC handlers are synchronous): one attempt, with the same stale takeover. A held lock fails at once with
 * ISSUER_STORE_BUSY instead of blocking the event loop while another process finishes.
 */
export function withFileLockSync<T>(lockDir: string, fn: () => T): T {
  let unlock: () => void;
  try {
    unlock = lockSync(lockDir, lockOptions(lockDir));
  } catch (e) {
    throw busy(lockDir, e);
  }
  try {
    return fn();
  } finally {
    try {
      unlock();
    } catch {
      // Already released: see withFileLock.
    }
  }
}
