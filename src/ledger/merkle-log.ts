/**
 * The audit log: an RFC 6962 / RFC 9162 §2.1 Merkle log stored in LMDB, with group commit, signed
 * C2SP checkpoints and decision indexes. Layout and guarantees: docs/ledger.md.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open, type RootDatabase } from 'lmdb';
import { type Clock, systemClock } from '../lib/clock.js';
import { decodeRecord } from './decode-record.js';
import { LedgerError } from './errors.js';
import { b64encode } from './lib/b64.js';
import { checkLmdbFile } from './lib/file-check.js';
import { EMPTY_ROOT, HASH_LEN } from './lib/hash.js';
import {
  indexValue,
  KIND,
  packPosting,
  recordIndexKeys,
  timeBucket,
  unpackPosting,
} from './lib/index-keys.js';
import { nodeHashLeaf, nodeHashNode, utf8Bytes } from './lib/node-hash.js';
import { OpenRows, readNodeHash } from './lib/node-rows.js';
import { PendingIndex, type Posting } from './lib/pending-index.js';
import { consistencyPath, foldFrontier, frontierOf, inclusionPath, type RangeMemo } from './lib/proof.js';
import { recordJson } from './lib/record-json.js';
import { validateRecord } from './lib/record-schema.js';
import { hashThreadByDefault, TreeHasher } from './lib/tree-hasher.js';
import { readWatermark } from './lib/watermark.js';
import { formatCheckpoint } from './parse-checkpoint.js';
import type { DecisionRecord } from './record.js';
import { loadOrCreateSigner, type NoteSigner, signNote } from './sign-note.js';
import { TLOG_PROOF_V1 } from './verify-proof-bundle.js';

/**
 * On-disk format identity stored under meta key `format`. Version 3: entries hold the bytes alone, leaf
 * and node hashes in rows of 32 stored up to the `tree` watermark, index postings in bulk up to the
 * `indexed` watermark (docs/ledger.md §2); versions 1 and 2 are refused with LEDGER_SCHEMA.
 */
export const LEDGER_FORMAT = { name: 'sigil-ledger', version: 3 } as const;
/** The LMDB data file inside the ledger directory. */
export const LEDGER_FILE = 'ledger.mdb';
/** Entries are keyed by uint32: the log holds at most 2^32 - 1 entries. */
export const MAX_ENTRIES = 0xffff_ffff;

/** Options of {@link MerkleLog.open}. */
export interface MerkleLogOptions {
  /**
   * `sync` (default): `append` resolves once its transaction is flushed to disk (fsync).
   * `fast`: resolves at commit; LMDB flushes that commit right after in the background, so a process
   * crash loses nothing resolved and an OS crash/power loss loses at most the commits of the last
   * in-flight flush (docs/ledger.md §Durability).
   */
  durability?: 'sync' | 'fast';
  /** Checkpoint origin and key name. Default `sigil.mesh/sigil/audit`. */
  origin?: string;
  /** Make a signed checkpoint every N seconds when the log grew (0 = only on demand). Default 0. */
  checkpointIntervalSec?: number;
  /** Checkpoint private key (Ed25519 JWK). Default `<dir>/keys/checkpoint.jwk`, created on first use. */
  keyFile?: string;
  /** Largest number of appends in one transaction. Default 8192. */
  maxBatch?: number;
  /** Open without writing (CLI inspection, verify). */
  readOnly?: boolean;
  /**
   * Hash runs of ≥ 16 appended entries on a worker thread: keeps SHA-256 off the thread that serves
   * requests under heavy append load. `false` hashes everything on the calling thread. Default: on when
   * this process can keep more than one CPU busy ({@link hashThreadByDefault}: affinity mask and cgroup
   * quota); on one CPU the worker only competes with the main thread (docs/ledger.md §3).
   */
  hashThread?: boolean;
  /** Clock for checkpoint timestamps in events. */
  clock?: Clock;
  /**
   * Open a possibly damaged log for `verifyLog` only: read-only, and the open-time consistency checks
   * do not throw (verifyLog reports what is wrong instead).
   */
  forVerify?: boolean;
}

/** A signed checkpoint as stored. */
export interface SignedCheckpoint {
  size: number;
  root: Uint8Array;
  /** The full signed note (checkpoint text, blank line, signature line). */
  note: string;
}

/** Emitted after entries became durable (per committed batch). */
export interface AppendEvent {
  /** First new index. */
  first: number;
  /** New log size (last new index + 1). */
  size: number;
  /**
   * Seconds from handing the batch to LMDB until its appends resolved (commit, plus the fsync in `sync`
   * mode): the wait group commit adds to every append of the batch.
   */
  seconds: number;
}

/** Result of {@link MerkleLog.appendDecision}. */
export interface AppendedDecision {
  index: number;
  /** RFC 6962 leaf hash of the canonical record bytes. */
  leafHash: Uint8Array;
}

/** Filters of {@link MerkleLog.query}; all given filters must match. */
export interface AuditQuery {
  task?: string;
  /** SPIFFE ID: matches the leaf `sub` or any `sub` in the recorded chain. */
  agent?: string;
  decision?: 'allow' | 'deny';
  /** Inclusive lower bound on `ts` (epoch ms). */
  since?: number;
  /** Inclusive upper bound on `ts` (epoch ms). */
  until?: number;
  /** Maximum results (default 100, at most 10 000). */
  limit?: number;
  /** `asc` (oldest first, default) or `desc` (newest first). */
  order?: 'asc' | 'desc';
}

/** One query result. */
export interface AuditHit {
  index: number;
  record: DecisionRecord;
}

interface Waiter {
  /** Called with the entry index, or with index and leaf hash when `leaf` is set. */
  resolve: (v: number | AppendedDecision) => void;
  reject: (e: unknown) => void;
  leaf: boolean;
}

interface Batch {
  epoch: number;
  start: number;
  /** Entry bytes, or the canonical JSON of a decision record (UTF-8 encoded at flush). */
  entries: Array<Uint8Array | string>;
  waiters: Waiter[];
  /** The stored bytes, from submit until the leaves are hashed. */
  values?: Buffer[];
  /** Leaf hashes, once computed (after submit). */
  leaves?: Buffer[];
  /** Called once {@link Batch.leaves} is set, when its commit handler is waiting for them. */
  onHashed?: () => void;
}

/** Subtrees of this level and above (≥ 64 leaves) are cached in memory by readSubtree. */
const CACHE_LEVEL = 6;
const NODE_CACHE_MAX = 65_536;
/**
 * Derived data (index postings, node rows) is stored once this many entries are pending… (bounds the
 * work of re-deriving it at open)
 */
const DERIVED_FLUSH_ENTRIES = 4096;
/** …or the oldest pending one is this old (ms), with the next commit; and on settle/close. */
const DERIVED_FLUSH_MS = 2000;
/**
 * Runs of at least this many entries are hashed on the tree hasher's thread; shorter ones (the Check
 * path's usual 1-2 decisions per commit) cost less to hash here than to hand over.
 */
const OFF_THREAD_MIN = 16;
/** …and at most this many bytes (the job's offsets are uint32; a huge run is rare enough to do here). */
const OFF_THREAD_MAX_BYTES = 64 * 1024 * 1024;

/** Records a submitted batch's leaf hashes (its bytes are released then) and wakes its commit handler. */
function setLeaves(batch: Batch, leaves: Buffer[]): Buffer[] {
  batch.leaves = leaves;
  batch.values = undefined;
  batch.onHashed?.();
  return leaves;
}

/** The leaf hashes of a submitted batch, computed here once if nobody did yet. */
function leavesOf(batch: Batch): Buffer[] {
  return batch.leaves ?? setLeaves(batch, (batch.values ?? []).map(nodeHashLeaf));
}

/** Number of frontier merges appending leaf `index` causes: its trailing 1-bits. */
function mergesAt(index: number): number {
  let n = 0;
  for (let at = index; at % 2 === 1; at = (at - 1) / 2) n++;
  return n;
}

/** Node-cache key (not an LMDB key: nodes are stored in rows, lib/node-rows.ts). */
const nodeKey = (level: number, index: number): number => level * 2 ** 32 + index;

/**
 * An append-only Merkle log in one LMDB environment (`<dir>/ledger.mdb`), named databases:
 * `meta` (format, size — its version is the size, the group-commit guard), `entries` (uint32 index →
 * entry bytes), `nodes` (level·2^32 + row → up to 32 perfect-subtree hashes of that level, level 0 =
 * leaf hashes; stored up to `meta.tree`),
 * `idx` ([kind, value, first index] → entry indices, stored in bulk up to `meta.indexed`),
 * `checkpoints` (size → signed note).
 */
export class MerkleLog {
  readonly dir: string;
  readonly origin: string;
  readonly durability: 'sync' | 'fast';
  readonly readOnly: boolean;
  private readonly env: RootDatabase;
  private readonly meta: Database;
  private readonly entriesDb: Database<Buffer, number>;
  private readonly nodesDb: Database<Buffer, number>;
  private readonly idxDb: Database<Buffer, Array<string | number>>;
  private readonly cpDb: Database<string, number>;
  private readonly keyFile: string;
  private readonly maxBatch: number;
  private readonly clock: Clock;
  private signerCache: NoteSigner | undefined;
  /** Durable (resolved) size. */
  private committed = 0;
  /** Next index to assign (≥ committed; the difference is in flight). */
  private assigned = 0;
  /**
   * Right frontier of the in-memory tree (of {@link treeSize} leaves): the hashes of its perfect
   * subtrees, largest first — one per set bit of treeSize, so their levels need no storing.
   */
  private frontier: Buffer[] = [];
  /** Node rows of the in-memory tree not known to be stored yet. */
  private rows = new OpenRows();
  /** Leaves in the in-memory tree. Trails the entries handed to LMDB by those in {@link hashQueue}. */
  private treeSize = 0;
  /** Batches handed to LMDB whose leaves are not in the tree yet (hashed after submit). */
  private hashQueue: Batch[] = [];
  private hashScheduled = false;
  /** The worker thread hashing large runs (writable logs with `hashThread`), and its job's batches in flight. */
  private hasher: TreeHasher | undefined;
  private job: Batch[] | undefined;
  /** Tree size whose node rows the last submitted transaction stores (`meta.tree`). */
  private treeSubmitted = 0;
  private treeSubmittedAt = 0;
  /** Index postings of entries at and after {@link indexed}, not yet stored (lib/pending-index.ts). */
  private readonly pendingIdx = new PendingIndex();
  /** Log size up to which index postings are stored (`meta.indexed`). */
  private indexed = 0;
  private open: Batch | undefined;
  private epoch = 0;
  private inflight = new Set<Promise<void>>();
  private closed = false;
  private envClosed = false;
  private listeners = new Set<(e: AppendEvent) => void>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(dir: string, env: RootDatabase, options: MerkleLogOptions) {
    this.dir = dir;
    this.env = env;
    this.origin = options.origin ?? 'sigil.mesh/sigil/audit';
    this.durability = options.durability ?? 'sync';
    this.readOnly = (options.readOnly || options.forVerify) ?? false;
    this.keyFile = options.keyFile ?? join(dir, 'keys', 'checkpoint.jwk');
    this.maxBatch = Math.max(1, Math.min(options.maxBatch ?? 8192, 65536));
    this.clock = options.clock ?? systemClock;
    this.meta = env.openDB('meta', { useVersions: true });
    this.entriesDb = env.openDB('entries', { keyEncoding: 'uint32', encoding: 'binary' });
    this.nodesDb = env.openDB('nodes', { encoding: 'binary' });
    this.idxDb = env.openDB('idx', { encoding: 'binary' });
    this.cpDb = env.openDB('checkpoints', { encoding: 'string' });
  }

  /**
   * Opens (or creates) the log in directory `dir`. Loads the size and right frontier and re-checks the
   * newest stored hashes; a full check is {@link verifyLog} (`sigil audit verify`).
   * @throws LedgerError `LEDGER_CORRUPT` (garbage, truncated or inconsistent file), `LEDGER_SCHEMA`
   * (unknown format), `LEDGER_IO` (file system). An existing file is never modified on error.
   */
  static async open(dir: string, options: MerkleLogOptions = {}): Promise<MerkleLog> {
    if (typeof dir !== 'string' || dir.length === 0)
      throw new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger dir required');
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new LedgerError('LEDGER_IO', `cannot create ${dir}: ${(e as Error).message}`, e);
    }
    const file = join(dir, LEDGER_FILE);
    const exists = checkLmdbFile(file);
    if (!exists && options.readOnly) throw new LedgerError('LEDGER_NOT_FOUND', `no ledger at ${file}`);
    let env: RootDatabase;
    try {
      env = open({
        path: file,
        maxDbs: 8,
        readOnly: (options.readOnly || options.forVerify) ?? false,
        noMemInit: true,
        separateFlushed: true,
      });
    } catch (e) {
      throw new LedgerError('LEDGER_CORRUPT', `cannot open ${file}: ${(e as Error).message}`, e);
    }
    let log: MerkleLog | undefined;
    try {
      log = new MerkleLog(dir, env, options);
      log.initFormat(exists);
      if (options.forVerify) log.loadStateLenient();
      else log.loadState(true);
    } catch (e) {
      await env.close().catch(() => undefined);
      if (e instanceof LedgerError) throw e;
      throw new LedgerError('LEDGER_CORRUPT', `cannot read ${file}: ${(e as Error).message}`, e);
    }
    if (!log.readOnly && (options.hashThread ?? hashThreadByDefault())) log.hasher = new TreeHasher();
    const every = options.checkpointIntervalSec ?? 0;
    if (every > 0 && !log.readOnly) {
      const l = log;
      l.timer = setInterval(() => {
        if (l.committed > (l.latestCheckpoint()?.size ?? 0)) l.checkpoint().catch(() => undefined);
      }, every * 1000);
      l.timer.unref();
    }
    return log;
  }

  private initFormat(existed: boolean): void {
    const fmt = this.meta.get('format') as { name?: unknown; version?: unknown } | undefined;
    if (fmt === undefined) {
      // A fresh file only: a file with entries but no format record has lost its metadata.
      const anyEntry = this.entriesDb.getKeysCount({ limit: 1 }) > 0;
      if (anyEntry || (existed && this.meta.get('size') !== undefined)) {
        throw new LedgerError('LEDGER_CORRUPT', 'ledger has entries but no format record');
      }
      if (this.readOnly) throw new LedgerError('LEDGER_SCHEMA', 'not a SIGIL ledger (no format record)');
      this.env.transactionSync(() => {
        this.meta.putSync('format', LEDGER_FORMAT);
        this.meta.putSync('size', 0, 0);
        this.meta.putSync('indexed', 0);
        this.meta.putSync('tree', 0);
      });
      return;
    }
    if (typeof fmt !== 'object' || fmt === null || fmt.name !== LEDGER_FORMAT.name) {
      throw new LedgerError('LEDGER_SCHEMA', 'not a SIGIL ledger (format record mismatch)');
    }
    if (fmt.version !== LEDGER_FORMAT.version) {
      throw new LedgerError('LEDGER_SCHEMA', `ledger format version ${String(fmt.version)} is not supported`);
    }
  }

  /** Loads size + frontier from disk (after open, or after a failed commit). */
  private loadState(checkHashes: boolean): void {
    this.env.resetReadTxn();
    const entry = this.meta.getEntry('size');
    const size = entry?.value;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || entry?.version !== size) {
      throw new LedgerError('LEDGER_CORRUPT', 'ledger size record is missing or inconsistent');
    }
    // Point lookups, not a reverse cursor: lmdb-js 3.5 reverse iteration without an explicit end
    // skips the smallest key (a 1-entry log would look empty).
    const hasLast = size === 0 || this.entriesDb.getBinaryFast(size - 1) !== undefined;
    if (!hasLast || this.entriesDb.getBinaryFast(size) !== undefined) {
      throw new LedgerError('LEDGER_CORRUPT', `ledger size ${size} disagrees with the stored entries`);
    }
    const tree = readWatermark(this.meta.get('tree'), size);
    if (tree === undefined) throw new LedgerError('LEDGER_CORRUPT', 'ledger tree watermark is invalid');
    // Reads below come from the file only (nothing in memory is trusted across a reload). Batches
    // still queued for hashing get their leaves (their commit handlers wait for them) but are not
    // filed: what of them committed is re-derived from the file below.
    this.rows = new OpenRows();
    for (const b of this.hashQueue) leavesOf(b);
    this.hashQueue = [];
    const frontier = frontierOf(tree).map(([level, index]) => this.readSubtree(level, index));
    if (checkHashes && tree > 0) {
      // Cheap open-time check: the newest stored leaf hash against its entry, and every stored frontier
      // node against its children.
      if (!nodeHashLeaf(this.entryRaw(tree - 1)).equals(this.readSubtree(0, tree - 1))) {
        throw new LedgerError('LEDGER_CORRUPT', `entry ${tree - 1} does not match its stored leaf hash`);
      }
      for (const [level, index] of frontierOf(tree)) {
        if (level === 0) continue;
        const h = nodeHashNode(
          this.readSubtree(level - 1, 2 * index),
          this.readSubtree(level - 1, 2 * index + 1),
        );
        if (!h.equals(this.readSubtree(level, index))) {
          throw new LedgerError(
            'LEDGER_CORRUPT',
            `stored node (${level}, ${index}) does not match its children`,
          );
        }
      }
    }
    let rows: OpenRows;
    try {
      rows = OpenRows.load(this.nodesDb, tree);
    } catch (e) {
      throw new LedgerError('LEDGER_CORRUPT', (e as Error).message, e);
    }
    this.frontier = frontier;
    this.rows = rows;
    this.treeSize = tree;
    this.treeSubmitted = tree;
    // Re-derive the leaf and node hashes of entries [tree, size) from the entries (what a crash or a
    // close without settle left unstored: ≤ 4096 entries plus one batch); the next commit stores them.
    for (let i = tree; i < size; i++) this.extendTree(nodeHashLeaf(this.entryRaw(i)));
    this.committed = size;
    this.assigned = size;
    this.rebuildPendingIndex(size);
  }

  /**
   * Reads the postings watermark and re-derives the postings of entries [indexed, size) from the
   * records themselves (what a crash lost from memory; docs/ledger.md §4).
   */
  private rebuildPendingIndex(size: number): void {
    const indexed = readWatermark(this.meta.get('indexed'), size);
    if (indexed === undefined) throw new LedgerError('LEDGER_CORRUPT', 'ledger index watermark is invalid');
    this.pendingIdx.clear();
    const now = performance.now();
    for (const { key, value } of this.entriesDb.getRange({ start: indexed, end: size })) {
      let record: DecisionRecord;
      try {
        record = decodeRecord(value);
      } catch {
        continue; // an opaque entry: nothing to index
      }
      this.pendingIdx.add(key, recordIndexKeys(record), now);
    }
    this.indexed = indexed;
  }

  /** Best-effort size for a damaged log (verify only): the recorded size, else the stored entry count. */
  private loadStateLenient(): void {
    try {
      this.loadState(false);
    } catch {
      const v = this.meta.get('size');
      const size =
        typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : this.entriesDb.getKeysCount();
      this.committed = size;
      this.assigned = size;
      this.frontier = [];
      this.rows = new OpenRows();
      this.treeSize = 0;
      this.pendingIdx.clear();
    }
  }

  /** Number of durable entries. */
  get size(): number {
    return this.committed;
  }

  /** Whether long runs are hashed on the tree hasher thread (see {@link MerkleLogOptions.hashThread}). */
  get hashThread(): boolean {
    return this.hasher?.ok === true;
  }

  /** Number of appends accepted but not yet durable. */
  get pending(): number {
    return this.assigned - this.committed;
  }

  // ---------------------------------------------------------------- appends

  /**
   * Appends one opaque entry. Concurrent calls are grouped into one LMDB transaction; indices are
   * dense and follow call order. Resolves with the entry's index once durable (per `durability`).
   * @throws LedgerError `LEDGER_BAD_ARGUMENT`, `LEDGER_CLOSED`, `LEDGER_COMMIT_FAILED`.
   */
  append(data: Uint8Array): Promise<number> {
    if (!(data instanceof Uint8Array))
      return Promise.reject(new LedgerError('LEDGER_BAD_ARGUMENT', 'entry must be a Uint8Array'));
    if (data.length > 16 * 1024 * 1024)
      return Promise.reject(new LedgerError('LEDGER_BAD_ARGUMENT', 'entry larger than 16 MiB'));
    return this.appendValue(data, undefined, false) as Promise<number>;
  }

  /**
   * Validates, canonically encodes and appends a decision record and indexes it (task, agents,
   * decision, time): queryable as soon as it is durable; the postings themselves are stored in bulk
   * later (docs/ledger.md §4).
   * @throws LedgerError `LEDGER_RECORD_INVALID` plus those of {@link append}.
   */
  async appendDecision(record: DecisionRecord): Promise<AppendedDecision> {
    const valid = validateRecord(record);
    return this.appendValue(recordJson(valid), recordIndexKeys(valid), true) as Promise<AppendedDecision>;
  }

  /**
   * Queues one entry (bytes, or record JSON) plus its index keys in the open batch. Its hashes are
   * computed after the batch is handed to LMDB (docs/ledger.md §3, deferred tree).
   */
  private appendValue(
    data: Uint8Array | string,
    keys: Array<[string, string | number]> | undefined,
    leaf: boolean,
  ): Promise<number | AppendedDecision> {
    if (this.closed) return Promise.reject(new LedgerError('LEDGER_CLOSED', 'ledger is closed'));
    if (this.readOnly)
      return Promise.reject(new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger opened read-only'));
    if (this.assigned >= MAX_ENTRIES)
      return Promise.reject(new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger is full (2^32 - 1 entries)'));
    const batch = this.openBatch();
    const index = this.assigned++;
    batch.entries.push(data);
    if (keys) this.pendingIdx.add(index, keys, performance.now());
    const p = new Promise<number | AppendedDecision>((resolve, reject) => {
      (batch as Batch).waiters.push({ resolve, reject, leaf });
    });
    if (batch.entries.length >= this.maxBatch) this.flushOpen(false);
    return p;
  }

  /** The batch new appends join (opened on demand, submitted on the next `setImmediate`). */
  private openBatch(): Batch {
    let batch = this.open;
    if (!batch) {
      batch = { epoch: this.epoch, start: this.assigned, entries: [], waiters: [] };
      this.open = batch;
      setImmediate(() => this.flushOpen(false));
    }
    return batch;
  }

  /**
   * Submits the open batch as one transaction; with it, the node rows of the tree hashed so far (the
   * previous batches) with `meta.tree`, and the deferred index postings when they are due (or
   * `withIndex`: settle/close) with `meta.indexed`.
   */
  private flushOpen(withIndex: boolean): void {
    const batch = this.open;
    if (!batch) return;
    this.open = undefined;
    const end = batch.start + batch.entries.length;
    // Normally a no-op: the previous batch was hashed while its transaction committed.
    this.hashQueued();
    const tree = this.treeSize;
    const now = performance.now();
    // Node rows go in bulk, like the postings: most of a row's rewrites never reach the disk.
    const nodeRows =
      tree > this.treeSubmitted &&
      (withIndex ||
        tree - this.treeSubmitted >= DERIVED_FLUSH_ENTRIES ||
        now - this.treeSubmittedAt >= DERIVED_FLUSH_MS)
        ? this.rows.take()
        : undefined;
    // Every appended entry so far is below `end`, so the snapshot is all pending postings.
    const postings: Posting[] | undefined =
      withIndex || this.pendingIdx.due(now, DERIVED_FLUSH_ENTRIES, DERIVED_FLUSH_MS)
        ? this.pendingIdx.snapshot(end)
        : undefined;
    const values: Buffer[] = new Array(batch.entries.length);
    const submitted = now;
    let written: Promise<boolean>;
    try {
      // The whole batch is conditional on meta.size's version being the batch start: if an earlier
      // batch failed, this one cannot commit on top of a tree it did not extend (fail closed).
      written = this.meta.ifVersion('size', batch.start, () => {
        for (let i = 0; i < batch.entries.length; i++) {
          const e = batch.entries[i] as Uint8Array | string;
          // A copy: the caller may reuse its buffer once append() returns.
          const value = typeof e === 'string' ? utf8Bytes(e) : Buffer.from(e);
          this.entriesDb.put(batch.start + i, value);
          values[i] = value;
        }
        // The rows snapshot is exactly the node rows of the tree of size `tree` (earlier transactions
        // stored the rows they took); stored with its watermark.
        if (nodeRows) {
          for (const [k, row] of nodeRows.rows) this.nodesDb.put(k, row);
          this.meta.put('tree', tree);
        }
        if (postings) {
          for (const p of postings) this.idxDb.put(p.key, packPosting(p.indices));
          this.meta.put('indexed', end);
        }
        this.meta.put('size', end, end);
      });
    } catch (e) {
      written = Promise.reject(e);
    }
    if (nodeRows) {
      this.treeSubmitted = tree;
      this.treeSubmittedAt = now;
    }
    // The hashes of this batch are computed on the next turn, after lmdb-js has closed the batch (its
    // own setImmediate was queued by the first put): hashing overlaps the commit and fsync instead of
    // delaying them. The rows go with a later transaction (docs/ledger.md §3).
    batch.values = values;
    if (batch.entries.length > 0) this.hashQueue.push(batch);
    else batch.leaves = [];
    if (!this.hashScheduled && this.hashQueue.length > 0) {
      this.hashScheduled = true;
      setImmediate(() => {
        this.hashScheduled = false;
        this.hashQueued();
      });
    }
    // separateFlushed: the write promise resolves at commit and carries `flushed`, which resolves once
    // THIS transaction is fsynced (lmdb-js overlappingSync flushes after the commit, off the write lock).
    const flushed = (written as Promise<boolean> & { flushed?: PromiseLike<unknown> }).flushed;
    const done = written
      .then(async (ok) => {
        if (!ok)
          throw new LedgerError('LEDGER_COMMIT_FAILED', `batch at ${batch.start} lost its commit guard`);
        if (this.durability === 'sync') await (flushed ?? this.env.flushed);
        // root(size) must be answerable for every durable size: wait for this batch's hashes. (After a
        // reload the tree was rebuilt from the file; the batch still gets its leaf hashes, for the waiters.)
        await this.whenHashed(batch);
        if (batch.epoch === this.epoch && nodeRows) this.rows.stored(nodeRows.gen);
        this.committed = Math.max(this.committed, end);
        if (postings && end > this.indexed) {
          this.pendingIdx.dropBelow(end);
          this.indexed = end;
        }
        const leaves = leavesOf(batch);
        for (let i = 0; i < batch.waiters.length; i++) {
          const w = batch.waiters[i] as Waiter;
          const index = batch.start + i;
          w.resolve(w.leaf ? { index, leafHash: new Uint8Array(leaves[i] as Buffer) } : index);
        }
        this.emit({ first: batch.start, size: end, seconds: (performance.now() - submitted) / 1000 });
      })
      .catch((e: unknown) => this.failBatch(batch, e))
      .finally(() => {
        this.inflight.delete(done);
      });
    this.inflight.add(done);
  }

  /**
   * Hashes the queued batches and adds them to the in-memory tree: a long run on the tree hasher's
   * thread (one job at a time; the next starts when it returns), a short one here and now.
   */
  private hashQueued(): void {
    const q = this.hashQueue;
    if (q.length === 0 || this.job) return;
    this.hashQueue = [];
    let count = 0;
    let bytes = 0;
    for (const b of q) {
      count += b.entries.length;
      for (const v of b.values ?? []) bytes += v.length;
    }
    const hasher = this.hasher;
    if (!hasher?.ok || count < OFF_THREAD_MIN || bytes > OFF_THREAD_MAX_BYTES) {
      for (const batch of q) for (const leaf of leavesOf(batch)) this.extendTree(leaf);
      return;
    }
    this.job = q;
    const values = q.flatMap((b) => b.values ?? []);
    const epoch = this.epoch;
    hasher.run(this.treeSize, this.frontier, values).then(
      (hashes) => this.fileJob(q, epoch, hashes),
      () => this.fileJob(q, epoch, undefined),
    );
  }

  /**
   * Files a tree-hasher job's hashes (`undefined`: the worker failed, hash here instead) and starts the
   * next job. After a reload (epoch changed) only the leaf hashes are kept, for the commit handlers.
   */
  private fileJob(batches: Batch[], epoch: number, hashes: Buffer | undefined): void {
    this.job = undefined;
    const current = epoch === this.epoch;
    let o = 0;
    const next = (): Buffer => {
      o += HASH_LEN;
      return hashes?.subarray(o - HASH_LEN, o) as Buffer;
    };
    for (const batch of batches) {
      if (!hashes) {
        for (const leaf of leavesOf(batch)) if (current) this.extendTree(leaf);
        continue;
      }
      const leaves = new Array<Buffer>(batch.values?.length ?? 0);
      for (let i = 0; i < leaves.length; i++) {
        leaves[i] = next();
        if (current) this.extendTree(leaves[i] as Buffer, next);
        else o += mergesAt(batch.start + i) * HASH_LEN;
      }
      setLeaves(batch, leaves);
    }
    this.hashQueued();
  }

  /** Resolves once the batch's leaves are hashed (at once, normally: hashing overlaps the commit). */
  private whenHashed(batch: Batch): Promise<void> | undefined {
    if (batch.leaves) return;
    if (batch.epoch === this.epoch) this.hashQueued();
    if (batch.leaves) return;
    // A batch of an epoch before a reload and not in a job is no longer queued: hash it here.
    if (batch.epoch !== this.epoch && !this.job?.includes(batch)) {
      leavesOf(batch);
      return;
    }
    return new Promise((resolve) => {
      batch.onHashed = resolve;
    });
  }

  /**
   * Adds the next leaf to the in-memory right frontier: records its hash in the level-0 row, merges
   * equal-sized subtrees on the right edge and records each completed perfect subtree in its row.
   * `merged` supplies the merge hashes when the tree hasher computed them already.
   */
  private extendTree(leafHash: Buffer, merged?: () => Buffer): void {
    let at = this.treeSize++;
    this.rows.add(0, at, leafHash);
    let cur = leafHash;
    let level = 0;
    // Appending leaf i merges one frontier subtree per trailing 1-bit of i (i < 2^32: no bitwise ops).
    while (at % 2 === 1) {
      const left = this.frontier.pop() as Buffer;
      cur = merged ? merged() : nodeHashNode(left, cur);
      level++;
      at = (at - 1) / 2;
      this.rows.add(level, at, cur);
    }
    this.frontier.push(cur);
  }

  private failBatch(batch: Batch, e: unknown): void {
    const err =
      e instanceof LedgerError
        ? e
        : new LedgerError('LEDGER_COMMIT_FAILED', `commit failed: ${(e as Error)?.message ?? String(e)}`, e);
    for (const w of batch.waiters) w.reject(err);
    if (batch.epoch !== this.epoch) return; // a later batch of an already-failed epoch: state was reloaded
    this.epoch++;
    // Appends queued on top of the failed batch extended a tree that does not exist: reject them too.
    const open = this.open;
    this.open = undefined;
    if (open) for (const w of open.waiters) w.reject(err);
    try {
      this.loadState(false);
    } catch (reloadErr) {
      this.closed = true; // cannot trust in-memory state any more: stop accepting appends
      void reloadErr;
    }
  }

  /**
   * Subscribes to durable appends. Returns an unsubscribe function. Listeners run synchronously after
   * the batch's promises resolve; exceptions they throw are ignored.
   */
  onAppend(listener: (e: AppendEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: AppendEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a listener must not break the log */
      }
    }
  }

  /** Resolves when every append made so far has settled. */
  async settled(): Promise<void> {
    // Stores the deferred postings and node rows too (an empty batch carries them when nothing else
    // is queued). Two rounds: the tree nodes of the appends submitted in the first are computed after
    // their submit, so the second stores them.
    for (let round = 0; round < 2; round++) {
      const due = this.pendingIdx.size > 0 || this.treeSubmitted < this.assigned;
      if (due && !this.closed && !this.readOnly) this.openBatch();
      this.flushOpen(true);
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    }
  }

  // ---------------------------------------------------------------- reads

  private entryRaw(index: number): Buffer {
    const v = this.entriesDb.getBinary(index);
    if (!v) throw new LedgerError('LEDGER_CORRUPT', `entry ${index} is missing`);
    return v;
  }

  /** Hash of perfect subtree (level, index); level 0: the leaf hash. */
  private readSubtree = (level: number, index: number): Buffer => {
    const key = nodeKey(level, index);
    // Upper levels are few (n / 2^level) and on every proof path: keep them in memory. Stored subtree
    // hashes never change, so the cache cannot go stale (a bounded map, cleared when full).
    const cached = level >= CACHE_LEVEL ? this.nodeCache.get(key) : undefined;
    if (cached) return cached;
    // Nodes of the newest batches may not be stored yet (deferred tree): memory first, then the file.
    const h = this.rows.hashAt(level, index) ?? readNodeHash(this.nodesDb, level, index);
    if (!h) throw new LedgerError('LEDGER_CORRUPT', `node (${level}, ${index}) is missing or damaged`);
    if (level >= CACHE_LEVEL) {
      if (this.nodeCache.size >= NODE_CACHE_MAX) this.nodeCache.clear();
      this.nodeCache.set(key, h);
    }
    return h;
  };
  private readonly nodeCache = new Map<number, Buffer>();
  private readonly rangeMemo: RangeMemo = new Map();

  private checkSize(size: number, what: string, max = this.committed): number {
    if (!Number.isSafeInteger(size) || size < 0 || size > max) {
      throw new LedgerError('LEDGER_BAD_ARGUMENT', `${what} must be an integer in [0, ${max}]`);
    }
    return size;
  }

  /** The entry bytes at `index` (a copy). */
  entry(index: number): Uint8Array {
    this.checkSize(index, 'index', this.committed - 1);
    return new Uint8Array(this.entryRaw(index));
  }

  /** The stored leaf hash at `index`. */
  leafHashAt(index: number): Uint8Array {
    this.checkSize(index, 'index', this.committed - 1);
    return new Uint8Array(this.readSubtree(0, index));
  }

  /** The decision record at `index`. @throws `LEDGER_RECORD_INVALID` if that entry is not a record. */
  decision(index: number): DecisionRecord {
    return decodeRecord(this.entry(index));
  }

  /** RFC 6962 root of the first `size` entries (default: all durable entries); O(log n) reads. */
  root(size: number = this.committed): Uint8Array {
    this.checkSize(size, 'size');
    if (size === 0) return EMPTY_ROOT;
    return new Uint8Array(
      foldFrontier(
        frontierOf(size).map(([l, i]) => this.readSubtree(l, i)),
        nodeHashNode,
      ),
    );
  }

  /** RFC 6962 §2.1.1 inclusion proof of entry `index` in the tree of `size` entries; O(log n) reads. */
  inclusionProof(index: number, size: number = this.committed): Uint8Array[] {
    this.checkSize(size, 'size');
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new LedgerError('LEDGER_BAD_ARGUMENT', `index must be an integer in [0, ${size - 1}]`);
    }
    // Copies: the hashes may be shared with the node cache and callers may mutate what they get.
    return inclusionPath(index, size, this.readSubtree, nodeHashNode, this.rangeMemo).map(
      (h) => new Uint8Array(h),
    );
  }

  /**
   * RFC 6962 §2.1.2 consistency proof between sizes `size1` ≤ `size2`; empty when size1 is 0 or equal
   * to size2 (docs/ledger.md §Proofs). O(log n) reads.
   */
  consistencyProof(size1: number, size2: number = this.committed): Uint8Array[] {
    this.checkSize(size2, 'size2');
    this.checkSize(size1, 'size1', size2);
    if (size1 === 0 || size1 === size2) return [];
    return consistencyPath(size1, size2, this.readSubtree, nodeHashNode, this.rangeMemo).map(
      (h) => new Uint8Array(h),
    );
  }

  /** Iterates stored entries [from, to) as (index, data) without copying more than needed. */
  *entries(
    from = 0,
    to: number = this.committed,
  ): Generator<{ index: number; data: Uint8Array; leafHash: Uint8Array }> {
    for (const { key, value } of this.entriesDb.getRange({ start: from, end: to })) {
      yield { index: key, data: value, leafHash: this.readSubtree(0, key) };
    }
  }

  // ---------------------------------------------------------------- checkpoints

  /** The checkpoint signer (key loaded or created on first use). */
  signer(): NoteSigner {
    this.signerCache ??= loadOrCreateSigner(this.keyFile, this.origin, !this.readOnly);
    return this.signerCache;
  }

  /** Verifier key string `<origin>+<hex id>+<base64 key>` for outsiders and the dashboard. */
  get verifierKey(): string {
    return this.signer().verifierKey;
  }

  /**
   * Signs and stores a C2SP checkpoint of the current durable size (returns the stored one if the log
   * did not grow). In `fast` mode it first waits for the flush, so a checkpoint never covers entries
   * that could still be lost.
   */
  async checkpoint(): Promise<SignedCheckpoint> {
    if (this.closed) throw new LedgerError('LEDGER_CLOSED', 'ledger is closed');
    if (this.readOnly) throw new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger opened read-only');
    await this.env.flushed;
    const size = this.committed;
    const existing = this.getCheckpoint(size);
    if (existing) return existing;
    const root = this.root(size);
    const note = signNote(formatCheckpoint(this.origin, size, root), this.signer());
    await this.cpDb.put(size, note);
    await this.env.flushed;
    return { size, root, note };
  }

  /** The stored checkpoint of exactly `size`, if any. */
  getCheckpoint(size: number): SignedCheckpoint | undefined {
    const note = this.cpDb.get(size);
    if (note === undefined) return undefined;
    return { size, root: this.root(size), note };
  }

  /** The newest stored checkpoint. */
  latestCheckpoint(): SignedCheckpoint | undefined {
    // Explicit end (-1 < every size): see loadState on lmdb-js reverse iteration.
    for (const { key, value } of this.cpDb.getRange({
      start: Number.MAX_SAFE_INTEGER,
      end: -1,
      reverse: true,
      limit: 1,
    })) {
      return { size: key, root: key <= this.committed ? this.root(key) : EMPTY_ROOT, note: value };
    }
    return undefined;
  }

  /** Every stored checkpoint note, by size (used by verify). */
  *storedCheckpoints(): Generator<{ size: number; note: string }> {
    for (const { key, value } of this.cpDb.getRange({})) yield { size: key, note: value };
  }

  /**
   * Offline proof for entry `index` in c2sp.org/tlog-proof@v1 form against the newest checkpoint that
   * covers it (making one if needed). The entry bytes ride in the `extra` line so the bundle alone
   * suffices: verify it with {@link verifyProofBundle} and the verifier key.
   */
  async proofBundle(index: number): Promise<string> {
    this.checkSize(index, 'index', this.committed - 1);
    let cp = this.latestCheckpoint();
    if (!cp || cp.size <= index) cp = await this.checkpoint();
    const proof = this.inclusionProof(index, cp.size);
    const lines = [
      TLOG_PROOF_V1,
      `extra ${b64encode(this.entry(index))}`,
      `index ${index}`,
      ...proof.map(b64encode),
    ];
    return `${lines.join('\n')}\n\n${cp.note}`;
  }

  // ---------------------------------------------------------------- queries

  /**
   * Compliance query over decision records. Uses the most selective index (task, agent, decision,
   * time) and filters the rest on the decoded record. Only durable entries are returned.
   */
  query(q: AuditQuery = {}): AuditHit[] {
    const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
    const desc = q.order === 'desc';
    const since = q.since ?? 0;
    const until = q.until ?? Number.MAX_SAFE_INTEGER;
    for (const [k, v] of [
      ['since', q.since],
      ['until', q.until],
    ] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0))
        throw new LedgerError('LEDGER_BAD_ARGUMENT', `${k} must be epoch ms`);
    }
    if (q.decision !== undefined && q.decision !== 'allow' && q.decision !== 'deny') {
      throw new LedgerError('LEDGER_BAD_ARGUMENT', 'decision must be allow or deny');
    }
    let kind: string | undefined;
    let value: string | undefined;
    if (q.task !== undefined) [kind, value] = [KIND.task, indexValue(q.task)];
    else if (q.agent !== undefined) [kind, value] = [KIND.agent, indexValue(q.agent)];
    else if (q.decision !== undefined) [kind, value] = [KIND.decision, q.decision];
    // Stored postings (indices below the watermark) merged with the pending ones (at and above it).
    const scan = (lo: Array<string | number>, hi: Array<string | number>, pending: Posting[]) => {
      const stored = storedPostings(
        this.idxDb.getRange(desc ? { start: hi, end: lo, reverse: true } : { start: lo, end: hi }),
        this.indexed,
      );
      const fresh = pending.map((p) => ({
        value: p.key[1],
        indices: p.indices.filter((i) => i >= this.indexed),
      }));
      return mergePostings(stored, desc ? fresh.reverse() : fresh, desc);
    };
    let indices: Iterable<number>;
    if (kind !== undefined && value !== undefined) {
      // [kind, value] sorts before every [kind, value, i]: an exclusive end that still includes index 0.
      const pending = this.pendingIdx.get(kind, value);
      indices = scan([kind, value], [kind, value, MAX_ENTRIES + 1], pending ? [pending] : []);
    } else if (q.since !== undefined || q.until !== undefined) {
      // Time postings are per second; the exact bounds are checked on each record below.
      const lo = timeBucket(since);
      const hi = timeBucket(until) + 1;
      indices = scan([KIND.time, lo], [KIND.time, hi], this.pendingIdx.numericRange(KIND.time, lo, hi));
    } else {
      if (this.committed === 0) return [];
      indices = desc
        ? countDown(this.committed - 1)
        : this.entriesDb.getKeys({ start: 0, end: this.committed });
    }
    const out: AuditHit[] = [];
    for (const index of indices) {
      if (index >= this.committed) continue;
      let record: DecisionRecord;
      try {
        record = this.decision(index);
      } catch {
        continue; // not a decision record (opaque entry)
      }
      if (q.task !== undefined && record.task_id !== q.task) continue;
      if (
        q.agent !== undefined &&
        record.sub !== q.agent &&
        !(record.chain ?? []).some((h) => h.sub === q.agent)
      )
        continue;
      if (q.decision !== undefined && record.decision !== q.decision) continue;
      if (record.ts < since || record.ts > until) continue;
      out.push({ index, record });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The newest `n` decision records (newest first). */
  tail(n = 10): AuditHit[] {
    return this.query({ limit: n, order: 'desc' });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Waits for pending appends, stops the checkpoint timer and closes the environment. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.envClosed) return;
    this.envClosed = true;
    if (!this.closed) await this.settled();
    this.closed = true;
    await this.hasher?.close();
    await this.env.close();
  }

  /** The LMDB environment, for `verify` and tests. @internal */
  get lmdb(): {
    env: RootDatabase;
    entries: Database<Buffer, number>;
    nodes: Database<Buffer, number>;
    meta: Database;
  } {
    return { env: this.env, entries: this.entriesDb, nodes: this.nodesDb, meta: this.meta };
  }

  /** Now, per the injected clock. @internal */
  nowMs(): number {
    return this.clock.nowMs();
  }
}

/** n, n-1, …, 0 (entries are dense, so newest-first needs no reverse cursor). */
function* countDown(n: number): Generator<number> {
  for (let i = n; i >= 0; i--) yield i;
}

/** A posting's value (the index value, e.g. a time bucket) and its entry indices, ascending. */
interface PostingList {
  value: string | number;
  indices: number[];
}

/**
 * Stored postings in scan order, decoded, keeping only indices below the watermark (a commit that
 * stored postings is visible before its watermark is adopted in memory; the pending copy still
 * answers for those indices until then, so nothing is listed twice).
 */
function* storedPostings(
  range: Iterable<{ key: Array<string | number>; value: Buffer }>,
  below: number,
): Generator<PostingList> {
  for (const { key, value } of range) {
    const list = unpackPosting(value);
    // Fail closed: a compliance query must not silently skip records behind a damaged posting.
    if (!list) throw new LedgerError('LEDGER_CORRUPT', 'an index posting is damaged');
    yield { value: key[1] as string | number, indices: list.filter((i) => i < below) };
  }
}

/**
 * Stored and pending postings of one scan (both in scan order) as entry indices in (value, index)
 * order, reversed when `desc`. Within one value every stored index is below every pending one (the
 * watermark splits them); a scan's values are all strings (one task/agent/decision) or all numbers
 * (time buckets), so `<` orders them either way.
 */
function* mergePostings(
  stored: Iterable<PostingList>,
  pending: PostingList[],
  desc: boolean,
): Generator<number> {
  let k = 0;
  const emit = function* (p: PostingList): Generator<number> {
    if (desc) for (let i = p.indices.length - 1; i >= 0; i--) yield p.indices[i] as number;
    else yield* p.indices;
  };
  // Pending before a stored posting when its value comes first in scan order (or, for desc, the same
  // value: its indices are the larger ones).
  const before = (a: PostingList, b: PostingList): boolean => (desc ? a.value >= b.value : a.value < b.value);
  for (const s of stored) {
    while (k < pending.length && before(pending[k] as PostingList, s))
      yield* emit(pending[k++] as PostingList);
    yield* emit(s);
  }
  while (k < pending.length) yield* emit(pending[k++] as PostingList);
}
