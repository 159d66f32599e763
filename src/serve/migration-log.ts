/**
 * Log lines of a format-3 → 4 ledger migration (docs/ledger.md §2 "Format 3 and the migration"): a large
 * log takes minutes to copy, and an operator restarting `sigil serve` must see why it is not ready yet.
 */
import type { MigrationEvent } from '../ledger/index.js';

/** Writes one line: structured fields and a message (pino's `info(obj, msg)`, or the CLI's stderr). */
export type MigrationLine = (fields: Record<string, number>, msg: string) => void;

/** Options of {@link migrationLog}. */
export interface MigrationLogOptions {
  /** Milliseconds between progress lines after the first one (default 5000). */
  everyMs?: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

/**
 * Maps the ledger's {@link MigrationEvent}s to lines: the start (formats, entries, records to copy), the
 * first progress line and then at most one every `everyMs` (copied/records), and the end with its duration.
 */
export function migrationLog(line: MigrationLine, o: MigrationLogOptions = {}): (e: MigrationEvent) => void {
  const every = o.everyMs ?? 5000;
  const now = o.now ?? (() => performance.now());
  let started = now();
  let last = Number.NEGATIVE_INFINITY;
  return (e) => {
    const t = now();
    if (e.phase === 'start') {
      started = t;
      last = Number.NEGATIVE_INFINITY;
      const { from, to, entries, records, copied } = e;
      line(
        { from_format: from, to_format: to, entries, records, copied },
        copied > 0 ? 'ledger migration resumed' : 'ledger migration started',
      );
    } else if (e.phase === 'progress') {
      if (t - last < every) return;
      last = t;
      line({ copied: e.copied, records: e.records }, 'ledger migration progress');
    } else {
      line({ copied: e.copied, records: e.records, ms: Math.round(t - started) }, 'ledger migration done');
    }
  };
}
