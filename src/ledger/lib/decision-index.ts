/**
 * The decision layer's indexes (docs/ledger.md §Secondary indexes): which (kind, value) keys a decision
 * record contributes to the log's generic posting index, and compliance queries by decision fields.
 */
import { sha256 } from '../../lib/bytes.js';
import { decodeRecord } from '../decode-record.js';
import { LedgerError } from '../errors.js';
import type { AuditHit, AuditQuery, DecisionRecord } from '../record.js';
import type { IndexKey, PostingIndex } from './posting-index.js';

/** Index kinds: task, agent (every sub of the chain and the leaf sub), decision, time. */
const KIND = { task: 'k', agent: 'a', decision: 'd', time: 't' } as const;

/** The value as it appears in index keys: over 256 characters, its SHA-256 (LMDB key size limit). */
const indexValue = (v: string): string => (v.length <= 256 ? v : `sha256:${sha256(v, 'hex')}`);

/** The time-index value of epoch-ms `ts`: records are grouped by second. */
const timeBucket = (ts: number): number => Math.floor(ts / 1000);

/** Every index (kind, value) a record contributes. */
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

/** The index keys of a stored entry, re-derived at open; undefined for an opaque (non-record) entry. */
export function entryIndexKeys(entry: Uint8Array): IndexKey[] | undefined {
  try {
    return recordIndexKeys(decodeRecord(entry));
  } catch {
    return undefined;
  }
}

/** What a query reads: the durable size, records by index and the posting index. */
export interface DecisionSource {
  size: number;
  /** @throws for an entry that is not a decision record. */
  decision(index: number): DecisionRecord;
  postings: PostingIndex;
}

/** 0 … n-1, or n-1 … 0 (entries are dense, so no cursor is needed either way). */
function* indicesUpTo(n: number, desc: boolean): Generator<number> {
  if (desc) for (let i = n - 1; i >= 0; i--) yield i;
  else for (let i = 0; i < n; i++) yield i;
}

/**
 * {@link MerkleLog.query}: scans the most selective index given and filters the rest on the record.
 * @throws LedgerError `LEDGER_BAD_ARGUMENT` (bad filter), `LEDGER_CORRUPT` (damaged posting).
 */
export function queryDecisions(src: DecisionSource, q: AuditQuery): AuditHit[] {
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
  const size = src.size;
  let indices: Iterable<number>;
  if (q.task !== undefined) indices = src.postings.scan(KIND.task, indexValue(q.task), desc);
  else if (q.agent !== undefined) indices = src.postings.scan(KIND.agent, indexValue(q.agent), desc);
  else if (q.decision !== undefined) indices = src.postings.scan(KIND.decision, q.decision, desc);
  else if (q.since !== undefined || q.until !== undefined) {
    // Time postings are per second; the exact bounds are checked on each record below.
    indices = src.postings.scanRange(KIND.time, timeBucket(since), timeBucket(until) + 1, desc);
  } else indices = indicesUpTo(size, desc);
  const out: AuditHit[] = [];
  for (const index of indices) {
    if (index >= size) continue;
    let record: DecisionRecord;
    try {
      record = src.decision(index);
    } catch (e) {
      // Not a decision record (opaque entry): skipped. Anything else — an archived body that cannot be
      // read (LEDGER_ARCHIVED), a damaged one — fails the query rather than silently dropping records.
      if (e instanceof LedgerError && e.code === 'LEDGER_RECORD_INVALID') continue;
      throw e;
    }
    if (q.task !== undefined && record.task_id !== q.task) continue;
    const agent = q.agent;
    if (agent !== undefined && record.sub !== agent && !record.chain?.some((h) => h.sub === agent)) continue;
    if (q.decision !== undefined && record.decision !== q.decision) continue;
    if (record.ts < since || record.ts > until) continue;
    out.push({ index, record });
    if (out.length >= limit) break;
  }
  return out;
}
