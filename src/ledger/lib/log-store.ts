/**
 * The log's LMDB environment (`<dir>/ledger.mdb`) and its named databases (docs/ledger.md §2): opening
 * it safely, the format, size and watermark records, entry reads. Knows bytes and indices only.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as lmdb from 'lmdb';
import { type Database, type DatabaseOptions, open, type RootDatabase } from 'lmdb';
import { LedgerError } from '../errors.js';
import { checkLmdbFile, isShortFile } from './file-check.js';
import { indexKeyEncoder, type NodeRowKey, nodeRowKeyEncoder } from './keys.js';
import { dropV3, type MigrationOptions, migrateV3, v3DropPending } from './migrate.js';

/**
 * On-disk format identity under meta key `format` (docs/ledger.md §2). Version 3 (uint32 keys) is read
 * as it is by read-only opens and migrated to 4 by the first writable one (lib/migrate.ts); 1 and 2 are
 * refused.
 */
export const LEDGER_FORMAT = { name: 'sigil-ledger', version: 4 } as const;
/** The format before indices beyond 2^32 (docs/ledger.md §2 "Format 3 and the migration"). */
export const FORMAT_V3 = 3;
/** The LMDB data file inside the ledger directory. */
const LEDGER_FILE = 'ledger.mdb';
/** How long a short file (see isShortFile) or a failing LMDB open is retried before giving up. */
const OPEN_RETRIES = 40;
const OPEN_RETRY_MS = 25;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `check()`, retried while it fails in a way a concurrent writer can cause; the last failure is thrown. */
async function retried<T>(check: () => T, transient: (e: unknown) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return check();
    } catch (e) {
      if (attempt >= OPEN_RETRIES || !transient(e)) throw e;
      await pause(OPEN_RETRY_MS);
    }
  }
}

export { MAX_ENTRIES } from './keys.js';

/** The environment and its named databases (keys and values: docs/ledger.md §2). */
export interface LogStore {
  /** Whether the file existed before this open. */
  existed: boolean;
  /** The format of the databases below: 4, or 3 in a read-only open of a log not migrated yet. */
  format: 3 | 4;
  env: RootDatabase;
  meta: Database;
  /** Entry bytes by index (the JS key is the index in either format). */
  entries: Database<Buffer, number>;
  /** Node rows by `[level, row]` (either format). */
  nodes: Database<Buffer, NodeRowKey>;
  /** Postings by `[kind, value, firstIndex]`; the value's encoding depends on {@link format}. */
  idx: Database<Buffer, Array<string | number>>;
  checkpoints: Database<string, number>;
}

/**
 * Format 3's node-row key, `level · 2^32 + row` as an lmdb-js ordered-binary number, behind the same
 * `[level, row]` keys as format 4 (read-only opens of a format-3 log, and the migration's reads).
 */
// lmdb-js exports its ordered-binary key codec untyped.
const { keyValueToBuffer, bufferToKeyValue } = lmdb as unknown as {
  keyValueToBuffer: (key: number) => Uint8Array;
  bufferToKeyValue: (b: Buffer) => unknown;
};
const v3NodeKeyEncoder = {
  writeKey: (key: NodeRowKey | Uint8Array, target: Uint8Array, start: number): number => {
    // lmdb-js's own default range start (ordered-binary bytes) passes through as it is.
    const b = Array.isArray(key) ? keyValueToBuffer(key[0] * 2 ** 32 + key[1]) : (key as Uint8Array);
    target.set(b, start);
    return start + b.length;
  },
  readKey: (b: Uint8Array, start: number, end: number): [number, number] => {
    const k = bufferToKeyValue(Buffer.from(b.subarray(start, end))) as number;
    return [Math.floor(k / 2 ** 32), k % 2 ** 32];
  },
};

/** Binary values under keys of `keyEncoder` (an lmdb-js option its types do not declare). */
const withKeys = (keyEncoder: object): DatabaseOptions =>
  ({ encoding: 'binary', keyEncoder }) as DatabaseOptions;

/** The entry, node and posting databases of `format` (names and key encodings: docs/ledger.md §2). */
export function openLogDatabases(
  env: RootDatabase,
  format: 3 | 4,
): Pick<LogStore, 'entries' | 'nodes' | 'idx'> {
  if (format === FORMAT_V3) {
    return {
      entries: env.openDB('entries', { keyEncoding: 'uint32', encoding: 'binary' }),
      nodes: env.openDB('nodes', withKeys(v3NodeKeyEncoder)),
      idx: env.openDB('idx', { encoding: 'binary' }),
    };
  }
  return {
    entries: env.openDB('entries64', withKeys(indexKeyEncoder)),
    nodes: env.openDB('nodes64', withKeys(nodeRowKeyEncoder)),
    idx: env.openDB('idx64', { encoding: 'binary' }),
  };
}

/** The format version recorded in `meta` (undefined: none, or not a number). */
function storedVersion(meta: Database): number | undefined {
  const fmt = meta.get('format') as { name?: unknown; version?: unknown } | undefined;
  return typeof fmt?.version === 'number' && fmt.name === LEDGER_FORMAT.name ? fmt.version : undefined;
}

/**
 * Opens (or creates) the environment in `dir` after checking an existing file's LMDB meta pages
 * (lib/file-check.ts), so lmdb-js never maps a damaged file, and hands it to `init` (format check, state
 * load). If `init` throws, the environment is closed and the file left as it was.
 * A file a writer in another process is growing can look short for a moment, and LMDB's own open can fail
 * transiently next to it: both are retried for about a second. An open that still fails is `LEDGER_IO`
 * (EINVAL, EACCES, EAGAIN, map size): corruption is reported only for content that is wrong.
 * @throws LedgerError `LEDGER_BAD_ARGUMENT`, `LEDGER_IO`, `LEDGER_NOT_FOUND` (no file and not `create`),
 * `LEDGER_CORRUPT` (damaged file, or anything else `init` throws).
 */
export async function openStore<T>(
  dir: string,
  o: { readOnly: boolean; create: boolean; migration?: MigrationOptions },
  init: (s: LogStore) => T,
): Promise<T> {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger dir required');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new LedgerError('LEDGER_IO', `cannot create ${dir}: ${(e as Error).message}`, e);
  }
  const file = join(dir, LEDGER_FILE);
  const existed = await retried(() => checkLmdbFile(file), isShortFile);
  if (!existed && !o.create) throw new LedgerError('LEDGER_NOT_FOUND', `no ledger at ${file}`);
  let env: RootDatabase;
  try {
    env = await retried(
      () => open({ path: file, maxDbs: 8, readOnly: o.readOnly, noMemInit: true, separateFlushed: true }),
      () => true,
    );
  } catch (e) {
    // The pages were checked above: an open failure is the environment (errno, lock, map), not the content.
    throw new LedgerError('LEDGER_IO', `cannot open ${file}: ${(e as Error).message}`, e);
  }
  try {
    const meta = env.openDB('meta', { useVersions: true });
    let version = storedVersion(meta);
    if (version === FORMAT_V3 && !o.readOnly) {
      // The first writable open moves the log to format 4, crash-safely (lib/migrate.ts).
      migrateV3(env, meta, openLogDatabases(env, FORMAT_V3), openLogDatabases(env, 4), o.migration);
      version = storedVersion(meta);
    } else if (version === LEDGER_FORMAT.version && !o.readOnly && v3DropPending(meta)) {
      dropV3(meta, openLogDatabases(env, FORMAT_V3)); // a crash interrupted the migration's last step
    }
    return init({
      existed,
      format: version === FORMAT_V3 ? FORMAT_V3 : 4,
      env,
      meta,
      ...openLogDatabases(env, version === FORMAT_V3 ? FORMAT_V3 : 4),
      checkpoints: env.openDB('checkpoints', { encoding: 'string' }),
    });
  } catch (e) {
    await env.close().catch(() => undefined);
    if (e instanceof LedgerError) throw e;
    throw new LedgerError('LEDGER_CORRUPT', `cannot read ${file}: ${(e as Error).message}`, e);
  }
}

/**
 * Checks the format record, or writes it (with size 0 and both watermarks) into a fresh writable file.
 * @throws LedgerError `LEDGER_CORRUPT` (entries but no format record), `LEDGER_SCHEMA`.
 */
export function initFormat(s: LogStore, readOnly: boolean): void {
  const fmt = s.meta.get('format') as { name?: unknown; version?: unknown } | undefined;
  if (fmt === undefined) {
    // A fresh file only: a file with entries but no format record has lost its metadata.
    const anyEntry = s.entries.getKeysCount({ limit: 1 }) > 0;
    if (anyEntry || (s.existed && s.meta.get('size') !== undefined)) {
      throw new LedgerError('LEDGER_CORRUPT', 'ledger has entries but no format record');
    }
    if (readOnly) throw new LedgerError('LEDGER_SCHEMA', 'not a SIGIL ledger (no format record)');
    s.env.transactionSync(() => {
      s.meta.putSync('format', LEDGER_FORMAT);
      s.meta.putSync('size', 0, 0);
      s.meta.putSync('indexed', 0);
      s.meta.putSync('tree', 0);
    });
    return;
  }
  if (typeof fmt !== 'object' || fmt === null || fmt.name !== LEDGER_FORMAT.name) {
    throw new LedgerError('LEDGER_SCHEMA', 'not a SIGIL ledger (format record mismatch)');
  }
  // Format 3 reaches here only in a read-only open (a writable one migrated it).
  if (fmt.version !== LEDGER_FORMAT.version && !(readOnly && fmt.version === FORMAT_V3)) {
    throw new LedgerError('LEDGER_SCHEMA', `ledger format version ${String(fmt.version)} is not supported`);
  }
}

/**
 * The stored size, checked against its version (the commit guard) and the stored entries.
 * @throws LedgerError `LEDGER_CORRUPT`.
 */
export function readSize(s: LogStore): number {
  const entry = s.meta.getEntry('size');
  const size = entry?.value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || entry?.version !== size) {
    throw new LedgerError('LEDGER_CORRUPT', 'ledger size record is missing or inconsistent');
  }
  // Point lookups, not a reverse cursor: lmdb-js 3.5 reverse iteration without an explicit end
  // skips the smallest key (a 1-entry log would look empty).
  const hasLast = size === 0 || s.entries.getBinaryFast(size - 1) !== undefined;
  if (!hasLast || s.entries.getBinaryFast(size) !== undefined) {
    throw new LedgerError('LEDGER_CORRUPT', `ledger size ${size} disagrees with the stored entries`);
  }
  return size;
}

/** Best-effort size of a damaged log (verify only): the recorded size, else the stored entry count. */
export function readSizeLenient(s: LogStore): number {
  const v = s.meta.get('size');
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : s.entries.getKeysCount();
}

/** The stored bytes of entry `index` (lmdb-js's buffer). @throws LedgerError `LEDGER_CORRUPT` if missing. */
export function entryAt(s: LogStore, index: number): Buffer {
  const v = s.entries.getBinary(index);
  if (!v) throw new LedgerError('LEDGER_CORRUPT', `entry ${index} is missing`);
  return v;
}

/**
 * A derived-data watermark in `meta` (`tree`, `indexed`; docs/ledger.md §3, §4) for a log of `size`
 * entries: absent means "everything stored"; anything but an integer in [0, size] is damage (undefined).
 */
export function readWatermark(value: unknown, size: number): number | undefined {
  if (value === undefined) return size;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= size
    ? value
    : undefined;
}
