/**
 * The generic append-only Merkle log: opaque entries in LMDB, RFC 6962 tree, proofs, signed checkpoints
 * and group commit, plus a secondary index over keys the layer above chooses. It does not know what
 * the entries mean; {@link MerkleLog} adds decision records on top. Layout: docs/ledger.md §2.
 */
import { join } from 'node:path';
import { LedgerError } from '../errors.js';
import { Checkpoints } from './checkpoints.js';
import {
  type CompactReport,
  compact,
  readPruned,
  readPrunedTime,
  readTileSummary,
  readTileTime,
} from './compaction.js';
import { type AppendEvent, type AppendedLeaf, GroupCommit } from './group-commit.js';
import {
  entriesToReplay,
  JOURNAL_BYTES,
  JOURNAL_COMMIT_DELAY_MS,
  JOURNAL_FILE,
  JournalWriter,
  MAX_COMMIT_DELAY_MS,
  readJournal,
  removeJournal,
} from './journal.js';
import { NO_LEAF } from './journal-format.js';
import { entryAt, initFormat, type LogStore, openStore } from './log-store.js';
import type { MigrationEvent, MigrationOptions } from './migrate.js';
import { type IndexKey, type KeysOf, PostingIndex } from './posting-index.js';
import { MAX_BUNDLE_ENTRY, readBundle, readLeafTile, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';
import { hashThreadByDefault, TreeHasher } from './tree-hasher.js';
import { TreeState } from './tree-state.js';

/** Options of {@link MerkleLog.open}. */
export interface MerkleLogOptions {
  /**
   * `sync` (default): `append` resolves once its transaction is flushed to disk (fsync). `fast`: resolves
   * at commit, with the flush right after in the background (docs/ledger.md §3 for what a crash loses).
   * `journal`: resolves once its frame is written to the write-ahead journal (`O_DSYNC`), as durable as
   * `sync`; LMDB commits `commitDelayMs` behind it and `size` (proofs, checkpoints) follows that much later
   * (docs/ledger.md §3 "Journal").
   */
  durability?: 'sync' | 'fast' | 'journal';
  /**
   * `journal`: called if a journal write fails. The journal is not used after that and appends resolve at
   * LMDB's flush, as in `sync` (nothing is lost; the wait is longer).
   */
  onJournalError?: (e: Error) => void;
  /** `journal`: the journal file's size in bytes (default 16 MiB). @internal tests */
  journalBytes?: number;
  /**
   * `journal`: how far LMDB trails the journal, in ms from a batch's first append to its LMDB commit
   * (integer 0–600000; default {@link JOURNAL_COMMIT_DELAY_MS}). Longer: fewer LMDB commits and fsyncs per
   * second (less CPU per decision below saturation), and `size`, proofs and checkpoints that many ms later.
   */
  commitDelayMs?: number;
  /** Checkpoint origin and key name. Default `sigil.mesh/sigil/audit`. */
  origin?: string;
  /** Make a signed checkpoint every N seconds when the log grew (0 = only on demand). Default 0. */
  checkpointIntervalSec?: number;
  /** Open without writing (CLI inspection, verify). */
  readOnly?: boolean;
  /**
   * Hash runs of ≥ 16 appended entries on a worker thread, off the thread that serves requests. Default:
   * on when this process can keep more than one CPU busy ({@link hashThreadByDefault}; docs/ledger.md §3).
   */
  hashThread?: boolean;
  /** Open a possibly damaged log for `verifyLog` only: read-only, open-time checks report, not throw. */
  forVerify?: boolean;
  /**
   * The C2SP tlog-tiles archive (docs/ledger.md §10): where compaction exports sealed ranges, and where
   * the bodies of pruned entries are read from. Absent: a pruned entry's body is `LEDGER_ARCHIVED`.
   */
  archiveDir?: string;
  /** Entries older than this many ms are exported and pruned by {@link AppendLog.compact}. Absent: never. */
  retentionMs?: number;
  /** Run {@link AppendLog.compact} every N seconds (writable logs with `retentionMs` and `archiveDir`). */
  compactionIntervalSec?: number;
  /** Called with the report of each periodic compaction, or its error (retried at the next interval). */
  onCompaction?: (report: CompactReport | undefined, error?: unknown) => void;
  /**
   * Called while a writable open migrates a format-3 log (start, after each copied chunk, end): the
   * migration of a large log takes minutes, and the caller says so (docs/ledger.md §2).
   */
  onMigration?: (e: MigrationEvent) => void;
  /** Test hooks of the format-3 migration a writable open runs (lib/migrate.ts). @internal */
  migration?: MigrationOptions;
}

/**
 * An entry longer than a C2SP tlog-tiles entry bundle can hold (16-bit length prefix) could never be
 * archived and would stop compaction for good: refused at append (docs/ledger.md §10 "Entry size").
 */
const tooLarge = (bytes: number): LedgerError =>
  new LedgerError(
    'LEDGER_ENTRY_TOO_LARGE',
    `entry is ${bytes} bytes: the log holds entries of at most ${MAX_BUNDLE_ENTRY} (a tlog-tiles bundle's limit)`,
  );

/** An append-only Merkle log in one LMDB environment (`<dir>/ledger.mdb`, lib/log-store.ts). */
export class AppendLog {
  readonly dir: string;
  readonly origin: string;
  readonly durability: 'sync' | 'fast' | 'journal';
  readonly readOnly: boolean;
  /** Signed checkpoints and offline proof bundles of this log (docs/ledger.md §5). */
  readonly checkpoints: Checkpoints;
  private readonly store: LogStore;
  protected readonly postings: PostingIndex;
  private readonly tree: TreeState;
  private readonly commit: GroupCommit;
  private envClosed = false;
  private readonly archiveDir: string | undefined;
  private readonly retentionMs: number | undefined;
  private compactTimer: NodeJS.Timeout | undefined;
  private compacting: Promise<CompactReport> | undefined;
  /** The last archived bundle and level-0 tile read (queries and proofs read neighbours). */
  private bundleCache: { n: number; entries: Buffer[] } | undefined;
  private tileCache: { n: number; levels: Buffer[][] } | undefined;

  protected constructor(dir: string, store: LogStore, options: MerkleLogOptions, keysOf?: KeysOf) {
    this.dir = dir;
    this.store = store;
    this.origin = options.origin ?? 'sigil.mesh/sigil/audit';
    this.durability = options.durability ?? 'sync';
    this.archiveDir = options.archiveDir;
    this.retentionMs = options.retentionMs;
    this.readOnly = (options.readOnly || options.forVerify) ?? false;
    this.tree = new TreeState(store.nodes);
    this.tree.archived = (level, index) => this.archivedNode(level, index);
    this.postings = new PostingIndex(store, keysOf);
    this.commit = new GroupCommit(store, this.tree, this.postings, this.durability, this.readOnly);
    this.checkpoints = new Checkpoints(store, this, () => this.commit.writeError(), {
      origin: this.origin,
      keyFile: join(dir, 'keys', 'checkpoint.jwk'),
      readOnly: this.readOnly,
    });
  }

  /** {@link MerkleLog.open}, with `make` building the log object of the layer above. */
  protected static async openWith<T extends AppendLog>(
    dir: string,
    options: MerkleLogOptions,
    make: (store: LogStore) => T,
  ): Promise<T> {
    const readOnly = (options.readOnly || options.forVerify) ?? false;
    const delay = options.commitDelayMs;
    if (delay !== undefined && !(Number.isSafeInteger(delay) && delay >= 0 && delay <= MAX_COMMIT_DELAY_MS))
      throw new LedgerError(
        'LEDGER_BAD_ARGUMENT',
        `commitDelayMs must be an integer 0–${MAX_COMMIT_DELAY_MS}`,
      );
    const at = {
      readOnly,
      create: !options.readOnly,
      migration: {
        ...options.migration,
        ...(options.onMigration ? { onMigration: options.onMigration } : {}),
      },
    };
    const log = await openStore(dir, at, (store) => {
      const l = make(store);
      initFormat(store, readOnly);
      if (options.forVerify) l.commit.loadLenient();
      else l.commit.load(true);
      return l;
    });
    if (!readOnly) {
      try {
        await log.recoverJournal(options);
      } catch (e) {
        await log.store.env.close();
        throw e;
      }
    }
    if (!readOnly && (options.hashThread ?? hashThreadByDefault())) log.commit.hasher = new TreeHasher();
    const every = options.checkpointIntervalSec ?? 0;
    if (every > 0 && !readOnly) log.checkpoints.every(every);
    const compactEvery = options.compactionIntervalSec ?? 0;
    if (compactEvery > 0 && !readOnly && log.retentionMs !== undefined && log.archiveDir !== undefined) {
      log.compactTimer = setInterval(() => {
        log.compact().then(
          (r) => options.onCompaction?.(r),
          (e) => options.onCompaction?.(undefined, e),
        );
      }, compactEvery * 1000);
      log.compactTimer.unref();
    }
    return log;
  }

  /**
   * Replays the journal's entries this log lacks (any durability: a log may leave `journal` after a
   * crash), then starts a new journal epoch (`journal`) or removes the file (docs/ledger.md §3 "Journal").
   * @throws LedgerError `LEDGER_CORRUPT` (a journal that does not follow this log), `LEDGER_IO`,
   * `LEDGER_COMMIT_FAILED`.
   */
  private async recoverJournal(options: MerkleLogOptions): Promise<void> {
    const path = join(this.dir, JOURNAL_FILE);
    const current = readJournal(path);
    const { store, commit } = this;
    if (current) {
      const size = commit.committed;
      const missing = entriesToReplay(path, current.frames, size, (i) => this.tree.readSubtree(0, i));
      if (missing.length > 0) {
        const end = size + missing.length;
        const written = store.meta.ifVersion('size', size, () => {
          for (let i = 0; i < missing.length; i++) store.entries.put(size + i, missing[i] as Buffer);
          store.meta.put('size', end, end);
        });
        const flushed = (written as Promise<boolean> & { flushed?: PromiseLike<unknown> }).flushed;
        if (!(await written))
          throw new LedgerError('LEDGER_COMMIT_FAILED', `journal replay at ${size} lost its commit guard`);
        await (flushed ?? store.env.flushed);
        // Tree nodes and postings of the replayed entries are derived data: the reload re-derives them.
        commit.load(true);
      }
    }
    if (this.durability !== 'journal') {
      if (current) removeJournal(path);
      return;
    }
    const size = commit.committed;
    commit.journal = JournalWriter.start(path, {
      bytes: options.journalBytes ?? JOURNAL_BYTES,
      size,
      prevLeaf: size === 0 ? NO_LEAF : this.tree.readSubtree(0, size - 1),
      current,
    });
    commit.journal.onError = options.onJournalError;
    commit.commitDelayMs = options.commitDelayMs ?? JOURNAL_COMMIT_DELAY_MS;
  }

  /** Number of durable entries. */
  get size(): number {
    return this.commit.committed;
  }

  /** Whether long runs are hashed on the tree hasher thread (see {@link MerkleLogOptions.hashThread}). */
  get hashThread(): boolean {
    return this.commit.hasher?.ok === true;
  }

  /** Number of appends accepted but not yet durable. */
  get pending(): number {
    return this.commit.assigned - this.commit.committed;
  }

  /**
   * Appends one opaque entry. Concurrent calls are grouped into one LMDB transaction; indices are
   * dense and follow call order. Resolves with the entry's index once durable (per `durability`).
   * @throws LedgerError `LEDGER_BAD_ARGUMENT`, `LEDGER_ENTRY_TOO_LARGE` (over 65 535 bytes), `LEDGER_CLOSED`,
   * `LEDGER_COMMIT_FAILED`.
   */
  append(data: Uint8Array): Promise<number> {
    if (!(data instanceof Uint8Array))
      return Promise.reject(new LedgerError('LEDGER_BAD_ARGUMENT', 'entry must be a Uint8Array'));
    if (data.length > MAX_BUNDLE_ENTRY) return Promise.reject(tooLarge(data.length));
    return this.commit.append(data, undefined, false) as Promise<number>;
  }

  /**
   * Appends `text` (stored as UTF-8; or bytes, stored as they are) under index `keys`, queryable through {@link postings} once durable
   * (docs/ledger.md §4). Resolves with index and leaf hash. Errors as {@link append}.
   */
  protected appendIndexed(text: string | Uint8Array, keys: IndexKey[]): Promise<AppendedLeaf> {
    if (typeof text !== 'string') {
      if (text.length > MAX_BUNDLE_ENTRY) return Promise.reject(tooLarge(text.length));
    } else if (text.length > MAX_BUNDLE_ENTRY / 3) {
      // UTF-8 takes at most 3 bytes per UTF-16 unit: only long texts need counting.
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > MAX_BUNDLE_ENTRY) return Promise.reject(tooLarge(bytes));
    }
    return this.commit.append(text, keys, true) as Promise<AppendedLeaf>;
  }

  /**
   * Subscribes to durable appends; returns the unsubscribe function. Listeners run synchronously after
   * the batch's promises resolve; exceptions they throw are ignored.
   */
  onAppend(listener: (e: AppendEvent) => void): () => void {
    return this.commit.onAppend(listener);
  }

  /** Resolves when every append made so far has settled. */
  settled(): Promise<void> {
    return this.commit.settled();
  }

  /**
   * Resolves once every append that resolved so far is counted in {@link size}: at once in `sync` and
   * `fast`; in `journal`, whose appends resolve before LMDB holds them, after {@link settled}.
   */
  async caughtUp(): Promise<void> {
    if (this.commit.journal && this.pending > 0) await this.commit.settled();
  }

  private checkSize(size: number, what: string, max = this.commit.committed): number {
    if (!Number.isSafeInteger(size) || size < 0 || size > max) {
      throw new LedgerError('LEDGER_BAD_ARGUMENT', `${what} must be an integer in [0, ${max}]`);
    }
    return size;
  }

  /** Entries below this index have their bodies in the archive only (docs/ledger.md §10). */
  get pruned(): number {
    // A read-only open next to `sigil serve` sees the writer's newer watermarks: check against the newer size.
    const stored = this.store.meta.get('size');
    return readPruned(this.store, Math.max(this.commit.committed, typeof stored === 'number' ? stored : 0));
  }

  /** The newest time (epoch ms) of a pruned entry, when compaction recorded it (docs/ledger.md §10). */
  get prunedTime(): number | undefined {
    return readPrunedTime(this.store);
  }

  /** The newest time (epoch ms) of an entry of pruned tile `n` (entries n·256 …), when recorded. */
  archivedTileTime(n: number): number | undefined {
    return readTileTime(this.store, n);
  }

  /** The archive-index summary of pruned tile `n`, when stored (docs/ledger.md §10 "Archive index"). */
  archivedTileSummary(n: number): Uint8Array | undefined {
    return readTileSummary(this.store, n);
  }

  /**
   * The summary of one tile's 256 entries for the archive index; the layer above knows what entries mean
   * (undefined: no archive index). @internal
   */
  summarizeTile(_entries: readonly Uint8Array[]): Uint8Array | undefined {
    return undefined;
  }

  /**
   * The entry bytes at `index` (a copy). A pruned entry is read from the archive and checked against its
   * leaf hash. @throws LedgerError `LEDGER_ARCHIVED` (pruned, and no archive holds it), `LEDGER_CORRUPT`.
   */
  entry(index: number): Uint8Array {
    this.checkSize(index, 'index', this.commit.committed - 1);
    const local = this.store.entries.getBinary(index);
    if (local) return new Uint8Array(local);
    if (index >= this.pruned) return new Uint8Array(entryAt(this.store, index)); // LEDGER_CORRUPT
    const n = Math.floor(index / TILE_WIDTH);
    if (this.bundleCache?.n !== n) {
      this.bundleCache = { n, entries: readBundle(this.archiveDir, n, (i) => this.tree.readSubtree(0, i)) };
    }
    return new Uint8Array(this.bundleCache.entries[index % TILE_WIDTH] as Buffer);
  }

  /** Hash of node (level, index) of a pruned row, from the archive; undefined when it is not pruned. */
  private archivedNode(level: number, index: number): Buffer | undefined {
    if (level >= TILE_HEIGHT) return undefined;
    let pruned: number;
    try {
      pruned = this.pruned;
    } catch {
      return undefined; // a damaged watermark: the node is reported missing
    }
    if ((index + 1) * 2 ** level > pruned) return undefined;
    const n = Math.floor((index * 2 ** level) / TILE_WIDTH);
    if (this.tileCache?.n !== n) {
      this.tileCache = { n, levels: readLeafTile(this.archiveDir, n, this.tree.readSubtree(TILE_HEIGHT, n)) };
    }
    return Buffer.from(this.tileCache.levels[level]?.[index - n * (TILE_WIDTH / 2 ** level)] as Buffer);
  }

  /** The time (epoch ms) of entry `index`, when the layer above knows it; decides retention. */
  protected entryTime(_index: number): number | undefined {
    return undefined;
  }

  /**
   * Exports the sealed ranges older than the retention to the archive as C2SP tlog-tiles, verifies them
   * and prunes their local bodies (docs/ledger.md §10). Runs one at a time; idempotent, and resumes what a
   * crashed run left. `now`, `onStep` and `pruneChunk` are for tests (lib/compaction.ts).
   * @throws LedgerError `LEDGER_BAD_ARGUMENT` (read-only, no archive or retention), `LEDGER_CORRUPT`
   * (the archive disagrees with the log), `LEDGER_IO`.
   */
  compact(
    o: { now?: number; onStep?: (step: string) => void; pruneChunk?: number } = {},
  ): Promise<CompactReport> {
    const refused = this.commit.writeError();
    if (refused) return Promise.reject(refused);
    const { archiveDir, retentionMs } = this;
    if (archiveDir === undefined || retentionMs === undefined) {
      return Promise.reject(
        new LedgerError('LEDGER_BAD_ARGUMENT', 'compaction needs an archive dir and a retention'),
      );
    }
    if (this.compacting) return this.compacting;
    const cutoff = (o.now ?? Date.now()) - retentionMs;
    const run = compact(
      {
        store: this.store,
        readSubtree: this.tree.readSubtree,
        settled: () => this.settled(),
        makeCheckpoint: () => this.checkpoints.make(),
        prunePostings: (from, to) => this.postings.pruneBelow(from, to),
      },
      {
        archiveDir,
        timeOf: (i) => this.entryTime(i),
        summarize: (entries) => this.summarizeTile(entries),
        isExpired: (i) => {
          const t = this.entryTime(i);
          return t === undefined ? undefined : t < cutoff;
        },
        ...(o.onStep ? { onStep: o.onStep } : {}),
        ...(o.pruneChunk ? { pruneChunk: o.pruneChunk } : {}),
      },
    );
    this.compacting = run.finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  /** The stored leaf hash at `index`. */
  leafHashAt(index: number): Uint8Array {
    this.checkSize(index, 'index', this.commit.committed - 1);
    return new Uint8Array(this.tree.readSubtree(0, index));
  }

  /** RFC 6962 root of the first `size` entries (default: all durable entries); O(log n) reads. */
  root(size: number = this.commit.committed): Uint8Array {
    return this.tree.root(this.checkSize(size, 'size'));
  }

  /** RFC 6962 §2.1.1 inclusion proof of entry `index` in the tree of `size` entries; O(log n) reads. */
  inclusionProof(index: number, size: number = this.commit.committed): Uint8Array[] {
    this.checkSize(size, 'size');
    this.checkSize(index, 'index', size - 1);
    return this.tree.inclusionProof(index, size);
  }

  /** RFC 6962 §2.1.2 consistency proof between sizes `size1` ≤ `size2` (edges: docs/ledger.md §1). */
  consistencyProof(size1: number, size2: number = this.commit.committed): Uint8Array[] {
    this.checkSize(size2, 'size2');
    this.checkSize(size1, 'size1', size2);
    return this.tree.consistencyProof(size1, size2);
  }

  /** Waits for pending appends, stops the checkpoint timer and closes the environment. */
  async close(): Promise<void> {
    this.checkpoints.stop();
    if (this.compactTimer) clearInterval(this.compactTimer);
    await this.compacting?.catch(() => undefined);
    if (this.envClosed) return;
    this.envClosed = true;
    if (!this.commit.closed) await this.commit.settled();
    this.commit.closed = true;
    await this.commit.journal?.close();
    await this.commit.hasher?.close();
    await this.store.env.close();
  }

  /** The LMDB environment, for `verify` and tests. @internal */
  get lmdb(): Pick<LogStore, 'env' | 'entries' | 'nodes' | 'meta' | 'idx'> {
    const { env, entries, nodes, meta, idx } = this.store;
    return { env, entries, nodes, meta, idx };
  }

  /** The on-disk format: 4, or 3 for a read-only open of a log no writable open has migrated yet. */
  get format(): 3 | 4 {
    return this.store.format;
  }

  /** The archive directory this log was opened with, if any. */
  get archive(): string | undefined {
    return this.archiveDir;
  }
}
