/**
 * Group commit (docs/ledger.md §3): concurrent appends join one batch, submitted as one LMDB transaction
 * on the next turn with the derived data that is due (node rows, index postings). Leaf hashes are
 * computed after the submit, overlapping the commit and fsync. Owns the durable and assigned sizes and
 * their reload after a failed commit. Knows entry bytes and generic index keys only.
 */
import { LedgerError } from '../errors.js';
import { readPruned } from './compaction.js';
import { HASH_LEN } from './hash.js';
import type { JournalWriter } from './journal.js';
import {
  entryAt,
  type LogStore,
  MAX_ENTRIES,
  readSize,
  readSizeLenient,
  readWatermark,
} from './log-store.js';
import { nodeHashLeaf, utf8Bytes } from './node-hash.js';
import type { IndexKey, Posting, PostingIndex } from './posting-index.js';
import type { TreeHasher } from './tree-hasher.js';
import type { TreeState } from './tree-state.js';

/** Emitted after entries became durable (per committed batch). */
export interface AppendEvent {
  /** First new index. */
  first: number;
  /** New log size (last new index + 1). */
  size: number;
  /** Seconds from handing the batch to LMDB until its appends resolved (commit, plus fsync in `sync`). */
  seconds: number;
}

/** An appended entry's index and RFC 6962 leaf hash. */
export interface AppendedLeaf {
  index: number;
  /** RFC 6962 leaf hash of the stored bytes. */
  leafHash: Uint8Array;
}

interface Waiter {
  /** Called with the entry index, or with index and leaf hash when `leaf` is set. */
  resolve: (v: number | AppendedLeaf) => void;
  reject: (e: unknown) => void;
  leaf: boolean;
  /** The entry's leaf hash, when the journal computed it already (lib/journal.ts). */
  leafHash: Buffer | undefined;
}

interface Batch {
  epoch: number;
  start: number;
  /** Entry bytes, or text (UTF-8 encoded at flush). */
  entries: Array<Uint8Array | string>;
  waiters: Waiter[];
  /** The stored bytes, from submit until the leaves are hashed. */
  values?: Buffer[];
  /** Leaf hashes, once computed (after submit). */
  leaves?: Buffer[];
  /** Wakes the commit handler waiting for {@link Batch.leaves}. */
  onHashed?: () => void;
}

/** Derived data (postings, node rows) is stored once this many entries are pending (bounds open's work)… */
const DERIVED_FLUSH_ENTRIES = 4096;
/** …or the oldest pending one is this old (ms), with the next commit; and on settle/close. */
const DERIVED_FLUSH_MS = 2000;
/** Runs this long go to the tree hasher's thread; shorter ones cost less to hash here than to hand over. */
const OFF_THREAD_MIN = 16;
/** …and at most this many bytes (the job's offsets are uint32; a huge run is rare enough to do here). */
const OFF_THREAD_MAX_BYTES = 64 * 1024 * 1024;
/** Largest number of appends in one transaction. */
const MAX_BATCH = 8192;

/** Records a submitted batch's leaf hashes (its bytes are released then) and wakes its commit handler. */
function setLeaves(batch: Batch, leaves: Buffer[]): Buffer[] {
  batch.leaves = leaves;
  batch.values = undefined;
  batch.onHashed?.();
  return leaves;
}

/**
 * The leaf hashes of a submitted batch, computed here once if nobody did yet; an entry the journal framed
 * already has its hash (the same bytes), so journaled entries are hashed once.
 */
function leavesOf(batch: Batch): Buffer[] {
  if (batch.leaves) return batch.leaves;
  const values = batch.values ?? [];
  const leaves = new Array<Buffer>(values.length);
  for (let i = 0; i < values.length; i++)
    leaves[i] = batch.waiters[i]?.leafHash ?? nodeHashLeaf(values[i] as Buffer);
  return setLeaves(batch, leaves);
}

/** Number of frontier merges appending leaf `index` causes: its trailing 1-bits. */
function mergesAt(index: number): number {
  let n = 0;
  for (let at = index; at % 2 === 1; at = (at - 1) / 2) n++;
  return n;
}

/** The writer of one log: batches, commits, hashing hand-off, failure reload, append events. */
export class GroupCommit {
  /** Durable (resolved) size. */
  committed = 0;
  /** Next index to assign (≥ committed; the difference is in flight). */
  assigned = 0;
  /** Set by close, or when state cannot be reloaded after a failed commit: no more appends. */
  closed = false;
  /** The worker thread hashing long runs (writable logs with `hashThread`). */
  hasher: TreeHasher | undefined;
  /**
   * `durability: journal`: the write-ahead journal that resolves appends (lib/journal.ts); LMDB then
   * commits each batch {@link commitDelayMs} after it opened, and every commit reports to it.
   */
  journal: JournalWriter | undefined;
  /** Delay (ms) between a batch's first append and its submit: 0 = next turn. */
  commitDelayMs = 0;
  /** Batches handed to LMDB whose leaves are not in the tree yet. */
  private hashQueue: Batch[] = [];
  private hashScheduled = false;
  /** The batches of the tree hasher's job in flight. */
  private job: Batch[] | undefined;
  private open: Batch | undefined;
  private epoch = 0;
  /**
   * Transactions handed to LMDB and not settled yet, and who waits for none to be left. A count, not a
   * Set of their promises: add/delete churn on a long-lived Set makes V8 (13.x, Node 24) rehash its table
   * in the old generation, and a dropped table keeps the promise it held (and through it the batch, its
   * waiters and their Checks) alive across scavenges until the next full collection (bench/NOTES.md,
   * "2026-12-05, session 31 — the tail").
   */
  private inflight = 0;
  private drained: Array<() => void> = [];
  private listeners = new Set<(e: AppendEvent) => void>();

  constructor(
    private readonly store: LogStore,
    private readonly tree: TreeState,
    private readonly postings: PostingIndex,
    private readonly durability: 'sync' | 'fast' | 'journal',
    private readonly readOnly: boolean,
  ) {}

  /**
   * Loads size, tree and pending postings from disk (after open, or after a failed commit). Batches still
   * queued for hashing get their leaves (their commit handlers wait for them) but are not filed: what of
   * them committed is re-derived from the file. @throws LedgerError `LEDGER_CORRUPT`.
   */
  load(checkHashes: boolean): void {
    const { store, tree } = this;
    store.env.resetReadTxn();
    const size = readSize(store);
    const stored = readWatermark(store.meta.get('tree'), size);
    if (stored === undefined) throw new LedgerError('LEDGER_CORRUPT', 'ledger tree watermark is invalid');
    for (const b of this.hashQueue) leavesOf(b);
    this.hashQueue = [];
    readPruned(store, size); // a bad watermark is damage (docs/ledger.md §10)
    tree.load(stored, size, (i) => entryAt(store, i), checkHashes);
    this.committed = size;
    this.assigned = size;
    this.postings.rebuild(size);
  }

  /** Best-effort load of a damaged log (verify only): a size, and no tree or postings in memory. */
  loadLenient(): void {
    try {
      this.load(false);
    } catch {
      const size = readSizeLenient(this.store);
      this.committed = size;
      this.assigned = size;
      this.tree.reset();
      this.postings.pending.clear();
    }
  }

  /** Why this log takes no writes (closed, read-only), or undefined when it does. */
  writeError(): LedgerError | undefined {
    if (this.closed) return new LedgerError('LEDGER_CLOSED', 'ledger is closed');
    if (this.readOnly) return new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger opened read-only');
    return undefined;
  }

  /**
   * Queues one entry (bytes, or text stored as UTF-8) with its index keys in the open batch; resolves
   * with its index (`leaf`: and leaf hash) once durable.
   */
  append(
    data: Uint8Array | string,
    keys: IndexKey[] | undefined,
    leaf: boolean,
  ): Promise<number | AppendedLeaf> {
    const refused = this.writeError();
    if (refused) return Promise.reject(refused);
    if (this.assigned >= MAX_ENTRIES)
      return Promise.reject(new LedgerError('LEDGER_BAD_ARGUMENT', 'ledger is full (2^53 - 1 entries)'));
    const batch = this.openBatch();
    const index = this.assigned++;
    const journal = this.journal;
    // Journaled: encoded once, here, and the same bytes go to the journal and to LMDB.
    const entry = journal ? (typeof data === 'string' ? utf8Bytes(data) : Buffer.from(data)) : data;
    batch.entries.push(entry);
    if (keys) this.postings.pending.add(index, keys, performance.now());
    let waiter: Waiter | undefined;
    const p = new Promise<number | AppendedLeaf>((resolve, reject) => {
      waiter = { resolve, reject, leaf, leafHash: undefined };
      (batch as Batch).waiters.push(waiter);
    });
    // The commit resolves it too (a no-op when the journal was first): the fallback when the ring is full.
    if (journal) journal.add(index, entry as Buffer, waiter as Waiter);
    if (batch.entries.length >= MAX_BATCH) this.flushOpen(false);
    return p;
  }

  /** Subscribes to durable appends; returns the unsubscribe function. */
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

  /** Resolves when every append made so far has settled, with the deferred derived data stored. */
  async settled(): Promise<void> {
    // An empty batch carries the derived data when nothing else is queued. Two rounds: the nodes of the
    // appends submitted in the first are hashed after their submit, so the second stores them.
    for (let round = 0; round < 2; round++) {
      const due = this.postings.pending.size > 0 || this.tree.submitted < this.assigned;
      if (due && !this.closed && !this.readOnly) this.openBatch();
      this.flushOpen(true);
      while (this.inflight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    }
  }

  /** The batch new appends join (opened on demand, submitted on the next `setImmediate`). */
  private openBatch(): Batch {
    let batch = this.open;
    if (!batch) {
      batch = { epoch: this.epoch, start: this.assigned, entries: [], waiters: [] };
      this.open = batch;
      if (this.commitDelayMs > 0) setTimeout(() => this.flushOpen(false), this.commitDelayMs);
      else setImmediate(() => this.flushOpen(false));
    }
    return batch;
  }

  /**
   * Submits the open batch as one transaction, with the node rows of the tree hashed so far and
   * `meta.tree`, and the pending postings and `meta.indexed`, each when due (or `withIndex`: settle/close).
   */
  private flushOpen(withIndex: boolean): void {
    const batch = this.open;
    if (!batch) return;
    this.open = undefined;
    const { store, tree: state, postings: index } = this;
    const end = batch.start + batch.entries.length;
    // Normally a no-op: the previous batch was hashed while its transaction committed.
    this.hashQueued();
    const tree = state.size;
    const now = performance.now();
    // Node rows go in bulk, like the postings: most of a row's rewrites never reach the disk.
    const nodeRows =
      tree > state.submitted &&
      (withIndex ||
        tree - state.submitted >= DERIVED_FLUSH_ENTRIES ||
        now - state.submittedAt >= DERIVED_FLUSH_MS)
        ? state.rows.take()
        : undefined;
    // Every appended entry so far is below `end`, so the snapshot is all pending postings.
    const postings: Posting[] | undefined =
      withIndex || index.pending.due(now, DERIVED_FLUSH_ENTRIES, DERIVED_FLUSH_MS)
        ? index.pending.snapshot(end)
        : undefined;
    const values: Buffer[] = new Array(batch.entries.length);
    // Journaled entries are this log's own copies already (append); others may be the caller's buffers.
    const owned = this.journal !== undefined;
    let written: Promise<boolean>;
    try {
      // The whole batch is conditional on meta.size's version being the batch start: if an earlier
      // batch failed, this one cannot commit on top of a tree it did not extend (fail closed).
      written = store.meta.ifVersion('size', batch.start, () => {
        for (let i = 0; i < batch.entries.length; i++) {
          const e = batch.entries[i] as Uint8Array | string;
          // A copy: the caller may reuse its buffer once append() returns. Every copy is an ArrayBuffer of
          // its own that the next scavenge frees in its pause (bench/NOTES.md, session 39).
          const value = owned ? (e as Buffer) : typeof e === 'string' ? utf8Bytes(e) : Buffer.from(e);
          store.entries.put(batch.start + i, value);
          values[i] = value;
        }
        // With the rows earlier transactions took, exactly the node rows of the tree of size `tree`.
        if (nodeRows) {
          for (const [k, row] of nodeRows.rows) store.nodes.put(k, row);
          store.meta.put('tree', tree);
        }
        if (postings) index.write(postings, end);
        store.meta.put('size', end, end);
      });
    } catch (e) {
      written = Promise.reject(e);
    }
    if (nodeRows) {
      state.submitted = tree;
      state.submittedAt = now;
    }
    // Hashed on the next turn, after lmdb-js has closed the batch (its own setImmediate was queued by the
    // first put): hashing overlaps the commit and fsync instead of delaying them.
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
    this.inflight++;
    written
      .then(async (ok) => {
        if (!ok)
          throw new LedgerError('LEDGER_COMMIT_FAILED', `batch at ${batch.start} lost its commit guard`);
        if (this.durability !== 'fast') await (flushed ?? store.env.flushed);
        // root(size) must be answerable for every durable size: wait for this batch's hashes.
        await this.whenHashed(batch);
        if (batch.epoch === this.epoch && nodeRows) state.rows.stored(nodeRows.gen);
        this.committed = Math.max(this.committed, end);
        if (batch.epoch === this.epoch) this.journal?.durableUpTo(end);
        if (postings) index.stored(end);
        const leaves = leavesOf(batch);
        for (let i = 0; i < batch.waiters.length; i++) {
          const w = batch.waiters[i] as Waiter;
          const index = batch.start + i;
          w.resolve(w.leaf ? { index, leafHash: new Uint8Array(leaves[i] as Buffer) } : index);
        }
        this.emit({ first: batch.start, size: end, seconds: (performance.now() - now) / 1000 });
      })
      .catch((e: unknown) => this.failBatch(batch, e))
      .finally(() => {
        if (--this.inflight > 0) return;
        const drained = this.drained;
        this.drained = [];
        for (const resolve of drained) resolve();
      });
  }

  /** Hashes the queued batches into the tree: a long run as one tree-hasher job at a time, else here. */
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
      for (const batch of q) for (const leaf of leavesOf(batch)) this.tree.extend(leaf);
      return;
    }
    this.job = q;
    const values = q.flatMap((b) => b.values ?? []);
    const epoch = this.epoch;
    hasher.run(this.tree.size, this.tree.frontier, values).then(
      (hashes) => this.fileJob(q, epoch, hashes),
      () => this.fileJob(q, epoch, undefined),
    );
  }

  /**
   * Files a job's hashes (`undefined`: the worker failed, hash here) and starts the next job. After a
   * reload (epoch changed) only the leaf hashes are kept, for the commit handlers.
   */
  private fileJob(batches: Batch[], epoch: number, hashes: Buffer | undefined): void {
    this.job = undefined;
    const current = epoch === this.epoch;
    const tree = this.tree;
    let o = 0;
    const next = (): Buffer => {
      o += HASH_LEN;
      return hashes?.subarray(o - HASH_LEN, o) as Buffer;
    };
    for (const batch of batches) {
      if (!hashes) {
        for (const leaf of leavesOf(batch)) if (current) tree.extend(leaf);
        continue;
      }
      const leaves = new Array<Buffer>(batch.values?.length ?? 0);
      for (let i = 0; i < leaves.length; i++) {
        leaves[i] = next();
        if (current) tree.extend(leaves[i] as Buffer, next);
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
    if (this.journal) {
      // Journaled appends may have resolved with indices this batch held: reloading would hand them out
      // again. The log closes; the next writable open replays the journal (docs/ledger.md §3 "Journal").
      this.journal.stop();
      this.closed = true;
      return;
    }
    try {
      this.load(false);
    } catch {
      this.closed = true; // cannot trust in-memory state any more: stop accepting appends
    }
  }
}
