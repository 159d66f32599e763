/**
 * The audit log: the generic Merkle log (lib/append-log.ts) with the decision layer on top: record
 * schema, canonical encoding and indexes by decision fields (lib/decision-index.ts). Spec: docs/ledger.md.
 */
import { decodeEntry } from './decode-entry.js';
import { decodeRecord } from './decode-record.js';
import { LedgerError } from './errors.js';
import { AppendLog, type MerkleLogOptions } from './lib/append-log.js';
import {
  entryIndexKeys,
  entryKeys,
  queryDecisions,
  queryEntries,
  recordIndexKeys,
  summarizeTile,
} from './lib/decision-index.js';
import type { AppendedLeaf } from './lib/group-commit.js';
import { isLifecycleKind, lifecycleJson, validateEntry } from './lib/lifecycle-schema.js';
import { recordJson } from './lib/record-json.js';
import { validateRecord } from './lib/record-schema.js';
import { type Histogram, type HistogramQuery, timeHistogram } from './lib/time-histogram.js';
import type {
  AuditHit,
  AuditQuery,
  DecisionRecord,
  EntryHit,
  EntryQuery,
  LedgerRecord,
  LifecycleRecord,
} from './record.js';

export type { MerkleLogOptions } from './lib/append-log.js';
export type { SignedCheckpoint } from './lib/checkpoints.js';
export type { CompactReport } from './lib/compaction.js';
export type { AppendEvent } from './lib/group-commit.js';
export type { MigrationEvent } from './lib/migrate.js';
export type { Histogram, HistogramBucket, HistogramQuery } from './lib/time-histogram.js';

/** Result of {@link MerkleLog.appendDecision}: the entry index and the leaf hash of the canonical record bytes. */
export type AppendedDecision = AppendedLeaf;

/**
 * The audit log of decision records (`<dir>/ledger.mdb`): the generic log's operations (opaque `append`,
 * roots, proofs, checkpoints, events, close) plus those specific to decision records.
 */
export class MerkleLog extends AppendLog {
  /**
   * Opens (or creates) the log in directory `dir`. Loads the size and right frontier and re-checks the
   * newest stored hashes; a full check is {@link verifyLog} (`sigil audit verify`).
   * @throws LedgerError `LEDGER_CORRUPT` (garbage, truncated or inconsistent file), `LEDGER_SCHEMA`
   * (unknown format), `LEDGER_IO` (file system). An existing file is never modified on error.
   */
  static open(dir: string, options: MerkleLogOptions = {}): Promise<MerkleLog> {
    return AppendLog.openWith(dir, options, (store) => new MerkleLog(dir, store, options, entryIndexKeys));
  }

  /**
   * Validates, canonically encodes and appends a decision record and indexes it (task, agents,
   * decision, time): queryable as soon as it is durable; the postings themselves are stored in bulk
   * later (docs/ledger.md §4).
   * @throws LedgerError `LEDGER_RECORD_INVALID` plus those of {@link append}.
   */
  async appendDecision(record: DecisionRecord): Promise<AppendedDecision> {
    const valid = validateRecord(record);
    return this.appendIndexed(recordJson(valid), recordIndexKeys(valid));
  }

  /**
   * Appends a decision record given as its canonical bytes (`encodeRecord`'s output, made by another
   * process: a Check worker, docs/authz.md §12) and indexes it as {@link appendDecision} does. The bytes are
   * stored as they are, and only if they are exactly the canonical encoding of a valid record
   * ({@link decodeRecord}): nothing else enters the log, and the index keys come from the parsed record.
   * @throws LedgerError `LEDGER_RECORD_INVALID` (nothing is appended) plus those of {@link append}.
   */
  appendDecisionBytes(bytes: Uint8Array): Promise<AppendedDecision> {
    let keys: ReturnType<typeof recordIndexKeys>;
    try {
      keys = recordIndexKeys(decodeRecord(bytes));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.appendIndexed(bytes, keys);
  }

  /**
   * Validates, canonically encodes and appends a lifecycle entry (docs/ledger.md §4 "Lifecycle entries"),
   * indexed by kind, time, task and subjects.
   * @throws LedgerError `LEDGER_RECORD_INVALID` (also for a record whose kind is not a lifecycle kind) plus
   * those of {@link append}.
   */
  async appendLifecycle(record: LifecycleRecord): Promise<AppendedDecision> {
    const valid = validateEntry(record);
    if (!isLifecycleKind(valid.kind))
      throw new LedgerError('LEDGER_RECORD_INVALID', 'record.kind must be a lifecycle kind');
    return this.appendIndexed(lifecycleJson(valid as LifecycleRecord), entryKeys(valid));
  }

  /** A record's time (its newest: `last_ts` of an aggregate), for retention; undefined if not a record. */
  protected override entryTime(index: number): number | undefined {
    try {
      const r = this.record(index) as { ts: number; last_ts?: number };
      return Math.max(r.ts, r.last_ts ?? r.ts);
    } catch {
      return undefined;
    }
  }

  /** The archive-index summary of 256 entries (docs/ledger.md §10 "Archive index"). @internal */
  override summarizeTile(entries: readonly Uint8Array[]): Uint8Array | undefined {
    return summarizeTile(entries);
  }

  /** The decision record at `index`. @throws `LEDGER_RECORD_INVALID` if that entry is not a record. */
  decision(index: number): DecisionRecord {
    return decodeRecord(this.entry(index));
  }

  /** The record (decision or lifecycle entry) at `index`. @throws `LEDGER_RECORD_INVALID` for an opaque entry. */
  record(index: number): LedgerRecord {
    return decodeEntry(this.entry(index));
  }

  /**
   * {@link query} over every record, lifecycle entries included, with a `kind` filter (`decision`,
   * `aggregate`, `dropped` or a lifecycle kind).
   * @throws LedgerError `LEDGER_BAD_ARGUMENT` (bad filter, unknown kind), `LEDGER_CORRUPT` (damaged posting).
   */
  queryEntries(q: EntryQuery = {}): EntryHit[] {
    return queryEntries(this.source(), q);
  }

  private source() {
    return {
      size: this.size,
      pruned: this.pruned,
      prunedTime: this.prunedTime,
      tileTime: (n: number) => this.archivedTileTime(n),
      tileSummary: (n: number) => this.archivedTileSummary(n),
      record: (i: number) => this.record(i),
      postings: this.postings,
    };
  }

  /**
   * Compliance query over decision records. Uses the most selective index (task, agent, decision,
   * time) and filters the rest on the decoded record. Only durable entries are returned.
   * @throws LedgerError `LEDGER_BAD_ARGUMENT` (bad filter), `LEDGER_CORRUPT` (damaged posting).
   */
  query(q: AuditQuery = {}): AuditHit[] {
    return queryDecisions(this.source(), q);
  }

  /**
   * Allow/deny (and lifecycle) entry counts per time bucket over [since, until], from the time, decision,
   * task, agent and kind postings (docs/ledger.md §4 "Time histogram"); only durable entries count.
   * @throws LedgerError `LEDGER_BAD_ARGUMENT` (bad range, bucket count or kind), `LEDGER_CORRUPT`.
   */
  histogram(q: HistogramQuery): Histogram {
    return timeHistogram(this.source(), q);
  }

  /** The newest `n` decision records (newest first). */
  tail(n = 10): AuditHit[] {
    return this.query({ limit: n, order: 'desc' });
  }
}
