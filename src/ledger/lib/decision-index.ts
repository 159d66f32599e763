/**
 * The record layer's indexes (docs/ledger.md §Secondary indexes): which (kind, value) keys a decision record
 * or lifecycle entry contributes to the log's generic posting index, and compliance queries by their fields.
 */
import { sha256 } from '../../lib/bytes.js';
import { decodeEntry } from '../decode-entry.js';
import { LedgerError } from '../errors.js';
import type { AuditHit, AuditQuery, DecisionRecord, EntryHit, EntryQuery, LedgerRecord } from '../record.js';
import { isLifecycleKind } from './lifecycle-schema.js';
import type { IndexKey, PostingIndex } from './posting-index.js';
import { encodeTileSummary, type TileFacts, type TileFilter, tileMayMatch } from './tile-summary.js';

/** Index kinds: task, agent (every sub of the chain and the leaf sub), decision, time, lifecycle entry kind. */
export const KIND = { task: 'k', agent: 'a', decision: 'd', time: 't', entry: 'e' } as const;

/** Record kinds a query may name besides the lifecycle kinds (docs/ledger.md §4). */
const DECISION_KINDS = new Set(['decision', 'aggregate', 'dropped']);

/** The value as it appears in index keys: over 256 characters, its SHA-256 (LMDB key size limit). */
export const indexValue = (v: string): string => (v.length <= 256 ? v : `sha256:${sha256(v, 'hex')}`);

/** The time-index value of epoch-ms `ts`: records are grouped by second. */
export const timeBucket = (ts: number): number => Math.floor(ts / 1000);

/** Every index (kind, value) a decision record contributes. */
export function recordIndexKeys(r: DecisionRecord): IndexKey[] {
  const out: IndexKey[] = [
    [KIND.decision, r.decision],
    [KIND.time, timeBucket(r.ts)],
  ];
  if (r.task_id !== undefined) out.push([KIND.task, indexValue(r.task_id)]);
  const agents = new Set<string>();
  if (r.sub !== undefined) agents.add(r.sub);
  for (const h of r.chain ?? []) agents.add(h.sub);
  for (const a of agents) out.push([KIND.agent, indexValue(a)]);
  return out;
}

/** Every index (kind, value) any record contributes: a lifecycle entry its kind, time, task and subjects. */
export function entryKeys(r: LedgerRecord): IndexKey[] {
  if (!isLifecycleKind(r.kind)) return recordIndexKeys(r as DecisionRecord);
  const o = r as { task_id?: string; sub?: string; parent_sub?: string };
  const out: IndexKey[] = [
    [KIND.entry, r.kind],
    [KIND.time, timeBucket(r.ts)],
  ];
  if (o.task_id !== undefined) out.push([KIND.task, indexValue(o.task_id)]);
  for (const a of new Set([o.sub, o.parent_sub])) if (a !== undefined) out.push([KIND.agent, indexValue(a)]);
  return out;
}

/** The Bloom value of an index key (task and agent keys only). */
const bloomValue = (kind: string, value: string | number): string => `${kind}\u0000${value}`;

/** The archive-index summary of one tile's entries (lib/tile-summary.ts; opaque entries count as none). */
export function summarizeTile(entries: readonly Uint8Array[]): Buffer {
  return encodeTileSummary(
    entries.map((e): TileFacts | undefined => {
      let r: LedgerRecord;
      try {
        r = decodeEntry(e);
      } catch {
        return undefined;
      }
      const keys = entryKeys(r)
        .filter(([k]) => k === KIND.task || k === KIND.agent)
        .map(([k, v]) => bloomValue(k, v));
      return { kind: kindOf(r), decision: (r as { decision?: string }).decision, ts: r.ts, keys };
    }),
  );
}

/** The index keys of a stored entry, re-derived at open; undefined for an opaque (non-record) entry. */
export function entryIndexKeys(entry: Uint8Array): IndexKey[] | undefined {
  try {
    return entryKeys(decodeEntry(entry));
  } catch {
    return undefined;
  }
}

/** What a query reads: the durable size, records by index and the posting index. */
export interface DecisionSource {
  size: number;
  /** @throws for an entry that is not a record. */
  record(index: number): LedgerRecord;
  postings: PostingIndex;
  /** Entries below this index are archived: their postings are pruned (docs/ledger.md §10 "Queries"). */
  pruned: number;
  /** The newest time (epoch ms) of an archived entry, when known. */
  prunedTime: number | undefined;
  /** The newest time (epoch ms) of an entry of archived tile `n` (entries n·256 …), when known. */
  tileTime(n: number): number | undefined;
  /** The archive-index summary of archived tile `n` (lib/tile-summary.ts), when stored. */
  tileSummary(n: number): Uint8Array | undefined;
}

/** The kind a query names a record by: its `kind`, or `decision` when it has none. */
const kindOf = (r: LedgerRecord): string => r.kind ?? 'decision';

/** 0 … n-1, or n-1 … 0 (entries are dense, so no cursor is needed either way). */
function* indicesUpTo(n: number, desc: boolean): Generator<number> {
  if (desc) for (let i = n - 1; i >= 0; i--) yield i;
  else for (let i = 0; i < n; i++) yield i;
}

/**
 * Index scan `local` with the archived range [0, pruned) in front (or behind, `desc`): archived entries
 * have no postings, so that range is scanned entry by entry from the archive's bundles (each bundle is
 * checked against the kept hashes; no archive mounted = `LEDGER_ARCHIVED` from `record`). Skipped when the
 * query's `since` is after the newest archived entry; a tile whose newest entry is older than `since` is
 * skipped without reading its bundle. Local postings left below `pruned` by a log pruned
 * before postings were pruned are dropped here (the scan lists those entries).
 */
function withArchived(
  src: DecisionSource,
  local: Iterable<number>,
  filter: TileFilter,
  desc: boolean,
): Iterable<number> {
  const pruned = src.pruned;
  if (pruned === 0) return local;
  const since = filter.since;
  const skip = since !== undefined && src.prunedTime !== undefined && since > src.prunedTime;
  const tiles = pruned / 256;
  const archived = function* (): Generator<number> {
    for (let k = 0; k < tiles; k++) {
      const n = desc ? tiles - 1 - k : k;
      // The archive index rules tiles out without reading their bundles (docs/ledger.md §10).
      const summary = src.tileSummary(n);
      if (summary && !tileMayMatch(summary, filter)) continue;
      // Every entry of a tile whose newest time is before `since` fails the filter: its bundle is not read.
      const newest = since === undefined ? undefined : src.tileTime(n);
      if (newest !== undefined && newest < (since as number)) continue;
      if (desc) for (let i = n * 256 + 255; i >= n * 256; i--) yield i;
      else for (let i = n * 256; i < n * 256 + 256; i++) yield i;
    }
  };
  return (function* () {
    if (desc) for (const i of local) if (i >= pruned) yield i;
    if (!skip) yield* archived();
    if (!desc) for (const i of local) if (i >= pruned) yield i;
  })();
}

/** {@link MerkleLog.query}: decision records only (lifecycle entries are skipped). */
export function queryDecisions(src: DecisionSource, q: AuditQuery): AuditHit[] {
  return queryEntries(src, q, false) as AuditHit[];
}

/**
 * {@link MerkleLog.queryEntries}: scans the most selective index given and filters the rest on the record.
 * `lifecycle` false = decision records only.
 * @throws LedgerError `LEDGER_BAD_ARGUMENT` (bad filter), `LEDGER_CORRUPT` (damaged posting).
 */
export function queryEntries(src: DecisionSource, q: EntryQuery, lifecycle = true): EntryHit[] {
  const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
  const desc = q.order === 'desc';
  const since = q.since ?? 0;
  const until = q.until ?? Number.MAX_SAFE_INTEGER;
  const epochMs = (v: number | undefined) => v === undefined || (Number.isSafeInteger(v) && v >= 0);
  if (!epochMs(q.since)) throw new LedgerError('LEDGER_BAD_ARGUMENT', 'since must be epoch ms');
  if (!epochMs(q.until)) throw new LedgerError('LEDGER_BAD_ARGUMENT', 'until must be epoch ms');
  if (q.decision !== undefined && q.decision !== 'allow' && q.decision !== 'deny') {
    throw new LedgerError('LEDGER_BAD_ARGUMENT', 'decision must be allow or deny');
  }
  const kind = q.kind;
  if (kind !== undefined && !DECISION_KINDS.has(kind) && !isLifecycleKind(kind)) {
    throw new LedgerError('LEDGER_BAD_ARGUMENT', `unknown entry kind ${JSON.stringify(kind)}`);
  }
  const size = src.size;
  let indices: Iterable<number> | undefined;
  if (q.task !== undefined) indices = src.postings.scan(KIND.task, indexValue(q.task), desc);
  else if (q.agent !== undefined) indices = src.postings.scan(KIND.agent, indexValue(q.agent), desc);
  else if (isLifecycleKind(kind)) indices = src.postings.scan(KIND.entry, kind, desc);
  else if (q.decision !== undefined) indices = src.postings.scan(KIND.decision, q.decision, desc);
  else if (q.since !== undefined || q.until !== undefined) {
    // Time postings are per second; the exact bounds are checked on each record below.
    indices = src.postings.scanRange(KIND.time, timeBucket(since), timeBucket(until) + 1, desc);
  } else indices = undefined;
  // A full scan lists archived entries itself; an index scan has no postings below `pruned`.
  const keys: string[] = [];
  if (q.task !== undefined) keys.push(bloomValue(KIND.task, indexValue(q.task)));
  if (q.agent !== undefined) keys.push(bloomValue(KIND.agent, indexValue(q.agent)));
  const filter: TileFilter = { kind, decision: q.decision, since: q.since, until: q.until, keys };
  indices = indices ? withArchived(src, indices, filter, desc) : indicesUpTo(size, desc);
  const out: EntryHit[] = [];
  for (const index of indices) {
    if (index >= size) continue;
    let record: LedgerRecord;
    try {
      record = src.record(index);
    } catch (e) {
      // Not a record (opaque entry): skipped. Anything else — an archived body that cannot be read
      // (LEDGER_ARCHIVED), a damaged one — fails the query rather than silently dropping records.
      if (e instanceof LedgerError && e.code === 'LEDGER_RECORD_INVALID') continue;
      throw e;
    }
    if (!lifecycle && isLifecycleKind(record.kind)) continue;
    if (kind !== undefined && kindOf(record) !== kind) continue;
    const r = record as Partial<DecisionRecord> & { parent_sub?: string };
    if (q.task !== undefined && r.task_id !== q.task) continue;
    const agent = q.agent;
    if (
      agent !== undefined &&
      r.sub !== agent &&
      r.parent_sub !== agent &&
      !r.chain?.some((h) => h.sub === agent)
    )
      continue;
    if (q.decision !== undefined && r.decision !== q.decision) continue;
    if (record.ts < since || record.ts > until) continue;
    out.push({ index, record });
    if (out.length >= limit) break;
  }
  return out;
}
