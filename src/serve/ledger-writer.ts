/**
 * One sequencer per ledger (docs/ledger.md §4 "One sequencer"): `sigil serve` holds `<data_dir>/ledger/writer.lock`
 * (proper-lockfile: an atomic mkdir whose mtime the holder refreshes; taken over once 10 s stale, i.e. after a
 * crash) and publishes where its admin API listens in `writer.json`. A CLI command's lifecycle entries go through
 * the running sidecar's admin API when the lock is held, else straight into the log under the same lock, so the
 * Merkle tree always has a single appender.
 */
import { readFileSync, rmSync } from 'node:fs';
import type { SigilConfig } from '../config/index.js';
import { LedgerError, type LifecycleRecord, type MerkleLogOptions } from '../ledger/index.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { adminTokenPath } from './dashboard-options.js';
import { openAuditLog } from './open-audit-log.js';
import { infoPath, lockedError, lockPath, takeWriterLock } from './writer-lock.js';

/** Lock waits: `serve` ~10 s for a CLI command appending now; a CLI whose writer is unreachable ~13 s (past stale). */
const WAIT = { serve: 100, orphan: 130 } as const;

/** What the writer publishes for CLI commands. */
interface WriterInfo {
  pid: number;
  /** Base URL of its admin API (`http://host:port`). */
  admin_url: string;
}

/**
 * Takes the writer lock for `sigil serve`, waiting ~10 s for a CLI command that appends right now.
 * @throws LedgerError `LEDGER_LOCKED` when another writer (a running `sigil serve`) holds it.
 */
export async function holdLedgerWriter(
  config: SigilConfig,
  onCompromised: (e: Error) => void,
): Promise<{ publish(adminUrl: string): void; release(): Promise<void> }> {
  const release = await takeWriterLock(config, WAIT.serve, onCompromised);
  if (release === undefined) throw lockedError(config, 'sigil serve cannot start');
  return {
    publish(adminUrl) {
      const info: WriterInfo = { pid: process.pid, admin_url: adminUrl };
      writeFileAtomic(infoPath(config), `${JSON.stringify(info)}\n`, 0o600);
    },
    async release() {
      rmSync(infoPath(config), { force: true });
      await release().catch(() => {});
    },
  };
}

/** The running writer's admin token: `sigil.admin.token`, else the file it generated. */
function adminToken(config: SigilConfig): string {
  if (config.admin.token !== undefined) return config.admin.token;
  try {
    return readFileSync(adminTokenPath(config.data_dir), 'utf8').trim();
  } catch (e) {
    throw new LedgerError(
      'LEDGER_IO',
      `cannot read the running sidecar's admin token: ${(e as Error).message}`,
      e,
    );
  }
}

/** Failure to reach the writer at all (as opposed to its answer): it may have died holding the lock. */
class Unreachable extends Error {}

/**
 * POSTs each entry to the running sidecar's `POST /api/lifecycle`.
 * @throws Unreachable before the first entry was sent; LedgerError `LEDGER_IO` otherwise.
 */
async function sendToWriter(config: SigilConfig, entries: LifecycleRecord[]): Promise<number[]> {
  let info: WriterInfo;
  try {
    info = JSON.parse(readFileSync(infoPath(config), 'utf8')) as WriterInfo;
  } catch (e) {
    throw new Unreachable(`${infoPath(config)} is unreadable: ${(e as Error).message}`);
  }
  const token = adminToken(config);
  const out: number[] = [];
  for (const entry of entries) {
    let res: Response;
    try {
      res = await fetch(`${info.admin_url}/api/lifecycle`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(entry),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      if (out.length === 0) throw new Unreachable(`${info.admin_url}: ${(e as Error).message}`);
      throw new LedgerError(
        'LEDGER_IO',
        `the running sidecar (${info.admin_url}) did not record the entry`,
        e,
      );
    }
    const body = (await res.json().catch(() => ({}))) as { index?: number; code?: string; error?: string };
    if (res.status !== 200 || typeof body.index !== 'number')
      throw new LedgerError(
        'LEDGER_IO',
        `the running sidecar refused the entry: ${body.code ?? res.status} ${body.error ?? ''}`,
      );
    out.push(body.index);
  }
  return out;
}

/**
 * Records a CLI command's lifecycle entries (in order) with the one sequencer: through the running
 * `sigil serve` when it holds the writer lock, else directly under that lock (also once the lock of a writer
 * that died went stale, ~10 s). Resolves with their indices. `onMigration`: progress of the format-3
 * migration a direct append may run.
 * @throws LedgerError `LEDGER_IO` (the sidecar could not be reached or refused), those of the log's append.
 */
export async function recordLifecycle(
  config: SigilConfig,
  entries: LifecycleRecord[],
  o: Pick<MerkleLogOptions, 'onMigration'> = {},
): Promise<number[]> {
  if (entries.length === 0) return [];
  let release = await takeWriterLock(config, 0, () => {});
  if (release === undefined) {
    try {
      return await sendToWriter(config, entries);
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
      // Nobody answers for the held lock: a writer killed without releasing it. Its lock goes stale within
      // 10 s; then this command appends directly. A live writer keeps it fresh: LEDGER_IO after the wait.
      release = await takeWriterLock(config, WAIT.orphan, () => {});
      if (release === undefined)
        throw new LedgerError(
          'LEDGER_IO',
          `the ledger writer holds ${lockPath(config)} but cannot be reached: ${e.message}`,
        );
    }
  }
  try {
    // A direct append is a writable open: it migrates a format-3 ledger first (docs/ledger.md §2).
    const log = await openAuditLog(config, { checkpointIntervalSec: 0, hashThread: false, ...o }, 'held');
    try {
      const out: number[] = [];
      for (const e of entries) out.push((await log.appendLifecycle(e)).index);
      return out;
    } finally {
      await log.close();
    }
  } finally {
    await release().catch(() => {});
  }
}
