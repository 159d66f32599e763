/**
 * The ledger's writer lock, `<data_dir>/ledger/writer.lock` (docs/ledger.md §4 "One sequencer"): proper-lockfile,
 * an atomic mkdir whose mtime the holder refreshes every 5 s, taken over once 10 s stale (its holder died).
 * `sigil serve` holds it for its life; every other writable open of the audit log takes it for the open's life.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';
import type { SigilConfig } from '../config/index.js';
import { LedgerError } from '../ledger/index.js';

/** A held lock whose mtime is older than this is taken over (its holder died); the holder refreshes it every 5 s. */
const STALE_MS = 10_000;

/** `<data_dir>/ledger`. */
export const ledgerDir = (config: SigilConfig): string => join(config.data_dir, 'ledger');
/** The lock itself (a directory). */
export const lockPath = (config: SigilConfig): string => join(ledgerDir(config), 'writer.lock');
/** Where the holding `sigil serve` publishes its pid and admin URL. */
export const infoPath = (config: SigilConfig): string => join(ledgerDir(config), 'writer.json');

/**
 * Takes the writer lock, retrying `wait` times (20–100 ms apart). Resolves with its release function, or
 * `undefined` when another live holder keeps it.
 * @throws LedgerError `LEDGER_IO` when the lock cannot be made at all (permissions, a file in the way).
 */
export async function takeWriterLock(
  config: SigilConfig,
  wait: number,
  onCompromised: (e: Error) => void,
): Promise<(() => Promise<void>) | undefined> {
  mkdirSync(ledgerDir(config), { recursive: true, mode: 0o700 });
  try {
    return await lock(lockPath(config), {
      lockfilePath: lockPath(config),
      realpath: false,
      stale: STALE_MS,
      onCompromised,
      ...(wait > 0 ? { retries: { retries: wait, minTimeout: 20, maxTimeout: 100 } } : {}),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw new LedgerError('LEDGER_IO', `cannot take ${lockPath(config)}: ${(e as Error).message}`, e);
  }
}

/** The refusal of a second writer: `LEDGER_LOCKED`, naming the lock and what holds it. */
export function lockedError(config: SigilConfig, what: string): LedgerError {
  return new LedgerError(
    'LEDGER_LOCKED',
    `${what}: another process writes the ledger of ${config.data_dir} (${lockPath(config)} is held by a running sigil serve, or by one stopped less than 10 s ago)`,
  );
}
