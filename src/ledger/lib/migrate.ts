/**
 * In-place migration of a format-3 log (uint32 entry keys, `level · 2^32 + row` node keys, absolute
 * uint32 postings) to format 4 (8-byte big-endian keys up to 2^53 − 1, postings relative to their first
 * index): docs/ledger.md §2 "Format 3 and the migration".
 *
 * Crash safety: the format-4 databases are new ones (`entries64`, `nodes64`, `idx64`); the format-3 ones
 * are only read until the last step. Each chunk is copied in one LMDB transaction together with its
 * progress record (`["migrate", db]` in `meta`), so a crash leaves a format-3 log exactly as it was (plus
 * partial copies no format-3 reader looks at) and the next writable open resumes from the progress
 * record. One transaction checks the copies' counts against the originals and flips `meta.format` to 4;
 * the old databases are dropped after it (a crash in between leaves them to the next writable open).
 */
import type { Database, Key, RootDatabase } from 'lmdb';
import { LedgerError } from '../errors.js';
import type { NodeRowKey } from './keys.js';
import { relativePosting, unpackAbsolute } from './posting-codec.js';

/**
 * What a migrating open reports, for operators (docs/ledger.md §2 "Format 3 and the migration"): `start`
 * before the first copy, `progress` after each chunk (every chunk: the caller rate-limits), `end` once format
 * 4 is in force and the old databases are gone. `records` counts the entry, node and posting records to
 * copy; `copied` those already copied (above 0 at `start` when a crash interrupted an earlier run).
 */
export type MigrationEvent =
  | { phase: 'start'; from: 3; to: 4; entries: number; records: number; copied: number }
  | { phase: 'progress'; copied: number; records: number }
  | { phase: 'end'; copied: number; records: number };

/** Options of {@link migrateV3} (tests: crash points and small chunks). */
export interface MigrationOptions {
  /** Called after each durable step with its name (`entries <n>`, `nodes <n>`, `idx <n>`, `format`, `dropped`). */
  onStep?: (step: string) => void;
  /** Records copied per transaction (default 4096). */
  chunk?: number;
  /** Progress for operators ({@link MigrationEvent}). */
  onMigration?: (e: MigrationEvent) => void;
}

/** The entry, node and posting databases of one format. */
interface LogDbs {
  entries: Database<Buffer, number>;
  nodes: Database<Buffer, NodeRowKey>;
  idx: Database<Buffer, Array<string | number>>;
}

const CHUNK = 4096;

/** Meta keys of the migration's progress (absent once it is done). */
const PROGRESS: Record<'entries' | 'nodes' | 'idx' | 'drop', string[]> = {
  entries: ['migrate', 'entries'],
  nodes: ['migrate', 'nodes'],
  idx: ['migrate', 'idx'],
  drop: ['migrate', 'drop'],
};

/**
 * Copies a format-3 log into the format-4 databases and switches `meta.format` to 4; resumes a migration a
 * crash interrupted. Run by the first writable open (the one writer, docs/ledger.md §4 "One sequencer").
 * @throws LedgerError `LEDGER_CORRUPT` (the old log's size record or entries are inconsistent: nothing is
 * switched), `LEDGER_IO` (the log changed under the migration: another writer).
 */
export function migrateV3(
  env: RootDatabase,
  meta: Database,
  from: LogDbs,
  to: LogDbs,
  o: MigrationOptions = {},
): void {
  const chunk = o.chunk ?? CHUNK;
  const step = o.onStep ?? (() => undefined);
  const sizeEntry = meta.getEntry('size');
  const size = sizeEntry?.value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || sizeEntry?.version !== size) {
    throw new LedgerError(
      'LEDGER_CORRUPT',
      'cannot migrate: the ledger size record is missing or inconsistent',
    );
  }
  const pruned = typeof meta.get('pruned') === 'number' ? (meta.get('pruned') as number) : 0;
  const report = o.onMigration ?? (() => undefined);
  const count = (dbs: LogDbs) =>
    (['entries', 'nodes', 'idx'] as const).reduce(
      (n, db) => n + (dbs[db].getStats() as { entryCount: number }).entryCount,
      0,
    );
  const records = count(from);
  let copied = count(to); // partial copies of an interrupted run
  report({ phase: 'start', from: 3, to: 4, entries: size, records, copied });
  const tally = (n: number) => {
    copied += n;
    report({ phase: 'progress', copied, records });
  };

  // 1. Entry bodies, in index order (absent below `pruned`: they are in the archive).
  let done = Math.max(pruned, numberOr(meta.get(PROGRESS.entries), 0));
  while (done < size) {
    const end = Math.min(size, done + chunk);
    const at = done;
    env.transactionSync(() => {
      let n = 0;
      for (const { key, value } of from.entries.getRange({ start: at, end })) {
        if (key !== at + n)
          throw new LedgerError('LEDGER_CORRUPT', `cannot migrate: entry ${at + n} is missing`);
        to.entries.putSync(key, Buffer.from(value));
        n++;
      }
      if (n !== end - at)
        throw new LedgerError('LEDGER_CORRUPT', `cannot migrate: entry ${at + n} is missing`);
      meta.putSync(PROGRESS.entries, end);
    });
    tally(end - done);
    done = end;
    step(`entries ${end}`);
  }

  // 2. Node rows and 3. postings, in key order, resuming after the last key copied.
  copyInKeyOrder(
    env,
    meta,
    PROGRESS.nodes,
    from.nodes,
    chunk,
    (key, value) => {
      to.nodes.putSync(key as NodeRowKey, Buffer.from(value));
    },
    step,
    tally,
    'nodes',
  );
  copyInKeyOrder(
    env,
    meta,
    PROGRESS.idx,
    from.idx,
    chunk,
    (key, value) => {
      const k = key as [string, string | number, number];
      const list = unpackAbsolute(value);
      if (!list || list[0] !== k[2])
        throw new LedgerError('LEDGER_CORRUPT', 'cannot migrate: an index posting is damaged');
      to.idx.putSync(k, relativePosting(list));
    },
    step,
    tally,
    'idx',
  );

  // 4. Switch, after checking that every record was copied.
  env.transactionSync(() => {
    if (meta.getEntry('size')?.version !== size) {
      throw new LedgerError('LEDGER_IO', 'the ledger grew during its migration: another process writes it');
    }
    for (const db of ['entries', 'nodes', 'idx'] as const) {
      const a = from[db].getStats() as { entryCount: number };
      const b = to[db].getStats() as { entryCount: number };
      if (a.entryCount !== b.entryCount) {
        throw new LedgerError(
          'LEDGER_CORRUPT',
          `cannot migrate: ${db} has ${a.entryCount} records, the copy ${b.entryCount}`,
        );
      }
    }
    meta.putSync('format', { name: 'sigil-ledger', version: 4 });
    meta.removeSync(PROGRESS.entries);
    meta.removeSync(PROGRESS.nodes);
    meta.removeSync(PROGRESS.idx);
    meta.putSync(PROGRESS.drop, true);
  });
  step('format');
  dropV3(meta, from);
  step('dropped');
  report({ phase: 'end', copied, records });
}

/** Drops the format-3 databases once format 4 is in force (and after a crash that interrupted it). */
export function dropV3(meta: Database, from: LogDbs): void {
  if (meta.get(PROGRESS.drop) !== true) return;
  from.entries.dropSync();
  from.nodes.dropSync();
  from.idx.dropSync();
  meta.removeSync(PROGRESS.drop);
}

/** Whether a writable open must still drop format-3 databases. */
export const v3DropPending = (meta: Database): boolean => meta.get(PROGRESS.drop) === true;

function numberOr(v: unknown, d: number): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : d;
}

/** Copies `db` in key order, `chunk` records per transaction, recording the last key copied under `progress`. */
function copyInKeyOrder<K extends Key>(
  env: RootDatabase,
  meta: Database,
  progress: string[],
  db: Database<Buffer, K>,
  chunk: number,
  put: (key: K, value: Buffer) => void,
  step: (s: string) => void,
  tally: (n: number) => void,
  name: string,
): void {
  let copied = 0;
  for (;;) {
    const last = meta.get(progress) as K | undefined;
    let n = 0;
    let lastKey: K | undefined;
    env.transactionSync(() => {
      for (const { key, value } of db.getRange(
        last === undefined ? { limit: chunk + 1 } : { start: last, limit: chunk + 1 },
      )) {
        // The range starts at the last key copied (inclusive): skip it.
        if (
          last !== undefined &&
          n === 0 &&
          lastKey === undefined &&
          JSON.stringify(key) === JSON.stringify(last)
        ) {
          lastKey = key;
          continue;
        }
        if (n === chunk) break;
        put(key, value);
        lastKey = key;
        n++;
      }
      if (n > 0) meta.putSync(progress, lastKey);
    });
    if (n === 0) return;
    copied += n;
    tally(n);
    step(`${name} ${copied}`);
  }
}
