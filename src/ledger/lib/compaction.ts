/**
 * Retention (docs/ledger.md §10): sealed ranges — full 256-entry tiles — older than the retention are
 * exported to the archive as C2SP tlog-tiles, re-read and verified, and only then are their local entry
 * bodies and node rows of levels 0–7 deleted. Levels ≥ 8 stay local; the others are read back from the
 * archive's level-0 tiles, checked against the kept level-8 nodes.
 *
 * Every step is idempotent and ordered so that a crash between any two leaves a state that verifies and
 * that the next run completes: files are written atomically (temp, fsync, rename, fsync dir) and the
 * `pruned` watermark only moves, in the same transaction as the deletion, after the archive is durable.
 */
import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { LedgerError } from '../errors.js';
import type { SignedCheckpoint } from './checkpoints.js';
import { entryAt, type LogStore, readWatermark } from './log-store.js';
import { nodeHashLeaf } from './node-hash.js';
import { rowsWithin } from './node-rows.js';
import {
  decodeBundle,
  encodeBundle,
  hashTile,
  readArchiveFile,
  readBundle,
  TILE_HEIGHT,
  TILE_WIDTH,
  tilePath,
  tilesOf,
} from './tiles.js';

/** What compaction needs of the log. */
export interface CompactionLog {
  store: LogStore;
  /** Hash of perfect subtree (level, index) of the durable tree. */
  readSubtree: (level: number, index: number) => Uint8Array;
  /** Stores the deferred derived data (node rows, postings) up to the durable size. */
  settled(): Promise<void>;
  /** Signs a checkpoint of the current durable size (after a flush). */
  makeCheckpoint(): Promise<SignedCheckpoint>;
  /** Deletes the index postings of entries [from, to) (inside the prune transaction, bodies still there). */
  prunePostings?: (from: number, to: number) => void;
}

/** Options of one compaction run. */
export interface CompactOptions {
  /** The archive directory (created if absent). */
  archiveDir: string;
  /** Whether entry `index` is older than the retention (undefined: cannot tell, so it is kept). */
  isExpired: (index: number) => boolean | undefined;
  /** Called after each durable step with its name (crash tests stop the process there). */
  onStep?: (step: string) => void;
  /** The time (epoch ms) of entry `index` when known: the newest pruned is kept as meta `pruned_ts`. */
  timeOf?: (index: number) => number | undefined;
  /** Entries deleted per transaction (default 4096; tests use smaller chunks to get more boundaries). */
  pruneChunk?: number;
  /** The archive-index summary of one tile's entries (lib/tile-summary.ts); undefined: none is kept. */
  summarize?: (entries: readonly Uint8Array[]) => Uint8Array | undefined;
}

/** Result of one compaction run. */
export interface CompactReport {
  /** Entries whose bodies are archived and no longer local, before and after the run. */
  prunedBefore: number;
  pruned: number;
  /** Size of the checkpoint published with the archive (0 when nothing was exported). */
  checkpoint: number;
  /** Files written to the archive by this run (existing identical files are not rewritten). */
  filesWritten: number;
}

/** Entries deleted per LMDB transaction while pruning (bounds one transaction's size). */
const PRUNE_CHUNK = 16 * TILE_WIDTH;

/** The `pruned` watermark of a log of `size` entries: a multiple of 256 in [0, size). @throws `LEDGER_CORRUPT`. */
export function readPruned(store: LogStore, size: number): number {
  const v = store.meta.get('pruned');
  if (v === undefined) return 0;
  const w = readWatermark(v, size);
  if (w === undefined || w % TILE_WIDTH !== 0 || (w > 0 && w >= size)) {
    throw new LedgerError('LEDGER_CORRUPT', 'ledger pruned watermark is invalid');
  }
  return w;
}

/** Meta `pruned_ts`: the newest time (epoch ms) of a pruned entry, if recorded and valid. */
export function readPrunedTime(store: LogStore): number | undefined {
  const v = store.meta.get('pruned_ts');
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined;
}

/** Meta `['tile_ts', n]`: the newest time (epoch ms) of an entry of pruned tile n, if recorded. */
export function readTileTime(store: LogStore, n: number): number | undefined {
  const v = store.meta.get(['tile_ts', n]);
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : undefined;
}

/** Meta `['tile_sum', n]`: the archive-index summary of pruned tile n (docs/ledger.md §10), if stored. */
export function readTileSummary(store: LogStore, n: number): Uint8Array | undefined {
  const v = store.meta.get(['tile_sum', n]);
  return v instanceof Uint8Array ? v : undefined;
}

/** Meta `summarized`: every pruned tile below it has a summary (absent: 0). */
function readSummarized(store: LogStore): number {
  const v = store.meta.get('summarized');
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : 0;
}

/** Tiles summarized per transaction when rebuilding the archive index from the bundles. */
const REBUILD_CHUNK = 64;

/**
 * Rebuilds the archive index of pruned tiles that have none (pruned before it existed, or its records
 * lost) from their bundles, each checked against the kept hashes; stops quietly at the first bundle that
 * cannot be read (those tiles are scanned by queries, as before).
 */
async function rebuildSummaries(
  log: CompactionLog,
  o: CompactOptions,
  pruned: number,
  step: (s: string) => void,
): Promise<void> {
  const { store } = log;
  const summarize = o.summarize;
  if (!summarize) return;
  const tiles = pruned / TILE_WIDTH;
  for (let n = readSummarized(store); n < tiles; ) {
    const sums: Array<Uint8Array | undefined> = [];
    const end = Math.min(tiles, n + REBUILD_CHUNK);
    try {
      for (let k = n; k < end; k++) {
        sums.push(summarize(readBundle(o.archiveDir, k, (i) => log.readSubtree(0, i))));
      }
    } catch {
      return;
    }
    const first = n;
    await store.env.transaction(() => {
      sums.forEach((s, k) => {
        if (s) store.meta.putSync(['tile_sum', first + k], s);
      });
      store.meta.putSync('summarized', end);
    });
    n = end;
    step(`summarized ${end}`);
  }
}

/** The end of the sealed range that may be pruned: full tiles of expired entries below every watermark. */
function pruneTarget(
  store: LogStore,
  from: number,
  size: number,
  isExpired: CompactOptions['isExpired'],
): number {
  // Open re-derives [tree, size) and [indexed, size) from the entry bodies and re-checks entry tree − 1:
  // those stay local. The newest entry stays too (the size check reads it).
  const tree = readWatermark(store.meta.get('tree'), size) ?? 0;
  const indexed = readWatermark(store.meta.get('indexed'), size) ?? 0;
  const limit = Math.min(tree - 1, indexed, size - 1);
  let end = from;
  // A tile is expired when its newest entry is: entry times follow index order closely (aggregates are
  // written at most one window late), and an entry whose time is unknown keeps its tile.
  while (end + TILE_WIDTH <= limit && isExpired(end + TILE_WIDTH - 1) === true) end += TILE_WIDTH;
  return end;
}

/**
 * Writes `bytes` at `path` in the archive unless an identical file is there.
 * @throws LedgerError `LEDGER_CORRUPT` when a different immutable file is already there (never overwritten).
 */
function putImmutable(archiveDir: string, path: string, bytes: Buffer): boolean {
  const have = readArchiveFile(archiveDir, path);
  if (have) {
    if (have.equals(bytes)) return false;
    throw new LedgerError('LEDGER_CORRUPT', `archive ${path} exists with other content than the log's`);
  }
  const file = join(archiveDir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, bytes, 0o644);
  return true;
}

/** fsyncs each directory on the way from each of `dirs` up to `root` and above (new names become durable). */
function syncDirs(root: string, dirs: Iterable<string>): void {
  const seen = new Set<string>();
  for (let d of dirs) {
    while (d.startsWith(root) && !seen.has(d)) {
      seen.add(d);
      fsyncDir(d);
      if (d === root) break;
      d = dirname(d);
    }
  }
  fsyncDir(dirname(root)); // the archive directory's own name, when this run created it
}

/** fsync(2) on a directory; filesystems that refuse it still keep renames atomic. */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the renames are still atomic.
  }
}

/**
 * One export + prune run (docs/ledger.md §10 "Steps"). Resumes whatever a crashed run left.
 * @throws LedgerError `LEDGER_CORRUPT` (the archive disagrees with the log), `LEDGER_IO`,
 * `LEDGER_BAD_ARGUMENT` (an entry too long for a bundle), and those of appends and checkpoints.
 */
export async function compact(log: CompactionLog, o: CompactOptions): Promise<CompactReport> {
  const { store } = log;
  const step = o.onStep ?? (() => undefined);
  await log.settled();
  store.env.resetReadTxn();
  const size = store.meta.get('size') as number;
  const from = readPruned(store, size);
  await rebuildSummaries(log, o, from, step);
  const end = pruneTarget(store, from, size, o.isExpired);
  const report: CompactReport = { prunedBefore: from, pruned: from, checkpoint: 0, filesWritten: 0 };
  if (end === from) return report;

  // 1. A signed checkpoint of the current size: the tree the archive's tiles describe.
  const cp = await log.makeCheckpoint();
  report.checkpoint = cp.size;
  step('checkpoint');
  const root = o.archiveDir;
  mkdirSync(root, { recursive: true });
  const dirs = new Set<string>();
  const put = async (path: string, bytes: Buffer) => {
    if (putImmutable(root, path, bytes)) {
      report.filesWritten++;
      dirs.add(dirname(join(root, path)));
      step(path);
      // Each file costs an fsync: give the event loop (Check requests, appends) a turn between files.
      await new Promise((r) => setImmediate(r));
    }
  };

  // 2. Hash tiles of the whole tree of the checkpoint, full and partial (tlog-tiles "Merkle Tree"); full
  // tiles already published by an earlier run (meta `exported`) are immutable and skipped.
  const exportedRaw = store.meta.get('exported');
  const exported = exportedRaw === undefined ? 0 : (readWatermark(exportedRaw, cp.size) ?? 0);
  const written: Array<{ path: string; bytes: Buffer }> = [];
  for (const { level, full, partial } of tilesOf(cp.size)) {
    const done = tilesOf(exported)[level]?.full ?? 0;
    for (let n = done; n < full; n++) {
      const bytes = hashTile(level, n, TILE_WIDTH, log.readSubtree);
      await put(tilePath(level, n), bytes);
      written.push({ path: tilePath(level, n), bytes });
    }
    if (partial > 0) {
      const bytes = hashTile(level, full, partial, log.readSubtree);
      await put(tilePath(level, full, partial), bytes);
      written.push({ path: tilePath(level, full, partial), bytes });
    }
  }

  // 3. Entry bundles of the sealed range (tlog-tiles "Log entries").
  for (let n = from / TILE_WIDTH; n < end / TILE_WIDTH; n++) {
    const entries: Buffer[] = [];
    for (let i = n * TILE_WIDTH; i < (n + 1) * TILE_WIDTH; i++) entries.push(Buffer.from(entryAt(store, i)));
    await put(tilePath('entries', n), encodeBundle(entries, n * TILE_WIDTH));
  }
  // New directories' names are durable before anything relies on them.
  syncDirs(root, dirs);
  step('sync');

  // 4. The checkpoint, last: a reader of the archive never sees a checkpoint whose tiles are missing.
  writeFileAtomic(join(root, 'checkpoint'), cp.note, 0o644);
  step('checkpoint-file');

  // 5. Re-read and verify what the prune relies on, from the disk, against the log's own tree.
  for (const { path, bytes } of written) {
    if (!readArchiveFile(root, path)?.equals(bytes)) {
      throw new LedgerError('LEDGER_CORRUPT', `archive ${path} does not read back as written`);
    }
  }
  for (let n = from / TILE_WIDTH; n < end / TILE_WIDTH; n++) {
    const path = tilePath('entries', n);
    const entries = decodeBundle(readArchiveFile(root, path) ?? Buffer.alloc(0), TILE_WIDTH);
    entries?.forEach((e, i) => {
      if (!nodeHashLeaf(e).equals(log.readSubtree(0, n * TILE_WIDTH + i))) entries.length = 0;
    });
    if (entries?.length !== TILE_WIDTH) {
      throw new LedgerError('LEDGER_CORRUPT', `archive ${path} does not read back as the log's entries`);
    }
  }
  step('verified');

  // 6. Prune, a chunk per transaction: delete the bodies and low node rows and move `pruned` (and
  // `exported`) together.
  for (let at = from; at < end; ) {
    const to = Math.min(end, at + (o.pruneChunk ?? PRUNE_CHUNK));
    const first = at;
    // The newest time among the pruned entries: a query whose `since` is after it needs no archive.
    // And per tile: a query skips an archived tile whose newest entry is older than its `since`.
    let newest = readPrunedTime(store) ?? 0;
    const tileNewest: number[] = [];
    for (let i = first; i < to; i++) {
      const n = (i - first) >> 8;
      const ts = o.timeOf?.(i);
      // An entry of unknown time leaves its tile without a summary (always scanned).
      tileNewest[n] = ts === undefined || tileNewest[n] === -1 ? -1 : Math.max(tileNewest[n] ?? 0, ts);
      newest = Math.max(newest, ts ?? 0);
    }
    // The archive index: one summary per whole tile of the chunk, from the bodies about to go.
    const sums: Array<Uint8Array | undefined> = [];
    for (let n = first / TILE_WIDTH; o.summarize && (n + 1) * TILE_WIDTH <= to; n++) {
      const bodies: Buffer[] = [];
      for (let i = n * TILE_WIDTH; i < (n + 1) * TILE_WIDTH; i++) bodies.push(entryAt(store, i));
      sums.push(o.summarize(bodies));
    }
    await store.env.transaction(() => {
      sums.forEach((s, k) => {
        if (s) store.meta.putSync(['tile_sum', first / TILE_WIDTH + k], s);
      });
      // The watermark moves only over an unbroken run of summaries.
      if (o.summarize && readSummarized(store) === first / TILE_WIDTH && to % TILE_WIDTH === 0)
        store.meta.putSync('summarized', to / TILE_WIDTH);
      // Postings first: their keys are re-derived from the bodies deleted next.
      log.prunePostings?.(first, to);
      for (let i = first; i < to; i++) store.entries.removeSync(i);
      // Node rows below the tile level: the archive's level-0 tiles hold the same hashes (verified above).
      for (const key of rowsWithin(first, to, TILE_HEIGHT)) store.nodes.removeSync(key);
      store.meta.putSync('pruned', to);
      store.meta.putSync('exported', cp.size);
      if (newest > 0) store.meta.putSync('pruned_ts', newest);
      tileNewest.forEach((t, k) => {
        if (t > 0) store.meta.putSync(['tile_ts', first / TILE_WIDTH + k], t);
      });
    });
    await store.env.flushed;
    at = to;
    report.pruned = to;
    step(`pruned ${to}`);
  }
  return report;
}
